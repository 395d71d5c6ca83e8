import { z } from 'zod';
import { MAX_AMOUNT } from '../domain/money';

/**
 * Field schemas shared by the command schemas. Every string that reaches the event store must be
 * storable in jsonb: no NUL character and no unpaired UTF-16 surrogate.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function text(max: number) {
  return z
    .string()
    .max(max)
    .refine((value) => !UNSTORABLE.test(value), 'must not contain NUL or unpaired surrogate characters');
}

export const identifier = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be 1..255 printable ASCII characters without spaces');

export const amount = z.number().int('must be an integer number of minor units').min(1).max(MAX_AMOUNT);

export const metadata = z
  .record(z.string().regex(/^[A-Za-z0-9_.\-:]{1,40}$/, 'keys are 1..40 of A-Z a-z 0-9 _ . - :'), text(500))
  .refine((value) => Object.keys(value).length <= 50, 'at most 50 keys');

/** Idempotency-Key header: 1..255 printable ASCII characters (spaces allowed inside). */
export const idempotencyKey = z.string().regex(/^[\x20-\x7e]{1,255}$/, 'must be 1..255 printable ASCII characters');
