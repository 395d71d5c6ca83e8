import { randomUUID } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { infer as zInfer, ZodType } from 'zod';
import type { ApiKeyAuthenticator, Principal, Scope } from '../../ports/api-keys';
import { containsCardNumber } from '../../domain/card-number';
import type { FieldError } from './problem';
import { sendProblem } from './problem';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    correlationId?: string;
  }
}

/** Takes the caller's X-Correlation-Id when it is sane, else makes one; echoes it back. */
export function correlationId(): RequestHandler {
  return (request, response, next) => {
    const given = request.header('x-correlation-id');
    request.correlationId = given && /^[\x21-\x7e]{1,128}$/.test(given) ? given : randomUUID();
    response.setHeader('X-Correlation-Id', request.correlationId);
    next();
  };
}

export function authenticate(keys: ApiKeyAuthenticator): RequestHandler {
  return async (request, response, next) => {
    const header = request.header('authorization') ?? '';
    const match = /^Bearer ([\x21-\x7e]{1,200})$/.exec(header);
    const principal = match ? await keys.authenticate(match[1]!) : null;
    if (!principal) {
      response.setHeader('WWW-Authenticate', 'Bearer');
      sendProblem(response, 'unauthorized');
      return;
    }
    request.principal = principal;
    next();
  };
}

export function requireScope(scope: Scope): RequestHandler {
  return (request, response, next) => {
    if (!request.principal?.scopes.has(scope)) {
      sendProblem(response, 'forbidden', { detail: `this call needs the ${scope} scope` });
      return;
    }
    next();
  };
}

/**
 * JSON bodies only, up to `limitBytes`. A request without a body is taken as `{}`; any body must
 * be application/json. The parser's own errors become problems in `httpErrorHandler`.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const parse = express.json({ limit: limitBytes, strict: false, type: () => true });
  return [
    (request, response, next) => {
      const hasBody = request.header('transfer-encoding') !== undefined || Number(request.header('content-length') ?? 0) > 0;
      if (hasBody && !request.is('application/json')) {
        sendProblem(response, 'unsupported_media_type');
        return;
      }
      if (!hasBody) {
        request.body = {};
        next();
        return;
      }
      parse(request, response, next);
    },
    (request, response, next) => {
      // Checked without recursion, before anything recursive walks the body.
      if (nestingDepth(request.body) > MAX_BODY_DEPTH) {
        sendProblem(response, 'validation_failed', { errors: [{ field: '(body)', message: `nests deeper than ${MAX_BODY_DEPTH} levels` }] });
        return;
      }
      if (containsCardNumber(request.body)) {
        sendProblem(response, 'card_data_not_accepted', {
          detail: 'a value in the body looks like a card number; send a payment method token such as pm_card_visa',
        });
        return;
      }
      next();
    },
  ];
}

/** No command body comes near this; a 64 KiB body could otherwise nest 30,000 levels deep. */
export const MAX_BODY_DEPTH = 32;

export function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_BODY_DEPTH) return deepest;
    for (const inner of Object.values(current)) stack.push([inner, depth + 1]);
  }
  return deepest;
}

export function notFound(): RequestHandler {
  return (_request, response) => sendProblem(response, 'route_not_found');
}

interface HttpError {
  type?: string;
  status?: number;
}

/** The last handler: known client errors become 4xx problems; anything else is our bug, a 500 without details. */
export function httpErrorHandler(log: (message: string, error: unknown) => void) {
  return (error: unknown, _request: Request, response: Response, next: NextFunction): void => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const known = error as HttpError;
    switch (known.type) {
      case 'entity.too.large':
        sendProblem(response, 'payload_too_large');
        return;
      case 'entity.parse.failed':
        sendProblem(response, 'malformed_json');
        return;
      case 'encoding.unsupported':
      case 'charset.unsupported':
        sendProblem(response, 'unsupported_media_type');
        return;
      case 'request.aborted':
      case 'request.size.invalid':
      case 'stream.encoding.set':
        sendProblem(response, 'malformed_json', { detail: 'the body could not be read' });
        return;
      default:
        if (typeof known.status === 'number' && known.status >= 400 && known.status < 500) {
          sendProblem(response, 'malformed_json', { detail: 'the request could not be read' });
          return;
        }
        log('unhandled error', error);
        sendProblem(response, 'internal_error');
    }
  };
}

export function zodFieldErrors(issues: readonly { path: readonly PropertyKey[]; message: string }[]): FieldError[] {
  return issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)',
    message: issue.message,
  }));
}

/**
 * `value` parsed by `schema`, or undefined after answering 400 validation_failed with the offending
 * fields. Every body and query of both APIs goes through here.
 */
export function validated<S extends ZodType>(schema: S, value: unknown, response: Response): zInfer<S> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  sendProblem(response, 'validation_failed', { errors: zodFieldErrors(result.error.issues) });
  return undefined;
}
