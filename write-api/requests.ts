import type { Request, Response } from 'express';
import { idempotencyKey } from '../commands/schema-parts';
import { sendProblem } from '../infra/http/problem';

/** The Idempotency-Key every POST but the webhook must carry, or undefined after answering 400. */
export function idempotencyKeyOf(request: Request, response: Response): string | undefined {
  const key = request.header('idempotency-key');
  if (key === undefined) {
    sendProblem(response, 'idempotency_key_missing');
    return undefined;
  }
  if (!idempotencyKey.safeParse(key).success) {
    sendProblem(response, 'validation_failed', {
      errors: [{ field: 'Idempotency-Key', message: 'must be 1..255 printable ASCII characters' }],
    });
    return undefined;
  }
  return key;
}
