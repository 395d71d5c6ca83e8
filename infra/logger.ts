import winston from 'winston';
import { maskCardNumbers } from '../domain/card-number';

/** Secrets that must never reach a log line, whatever field they hide in. */
const SECRETS: readonly [RegExp, string][] = [
  // Credentials after an auth scheme first, so that `Bearer lk_...` reads `Bearer [redacted]`.
  [/(Bearer\s+)[A-Za-z0-9_\-.~+/=]+/gi, '$1[redacted]'],
  [/(Basic\s+)[A-Za-z0-9+/=]+/gi, '$1[redacted]'],
  [/lk_(?:test|live)_[0-9A-Za-z]{8,}/g, 'lk_[redacted]'],
  [/(?:sk|rk)_(?:test|live)_[0-9A-Za-z_]{8,}/g, 'sk_[redacted]'],
  // Webhook secrets as the configuration takes them: base64 and base64url characters included.
  [/whsec_[0-9A-Za-z_+/=-]{8,}/g, 'whsec_[redacted]'],
  [/(postgres(?:ql)?:\/\/[^:/@\s"]+:)[^@\s"]+@/g, '$1[redacted]@'],
];

export function redact(text: string): string {
  let out = maskCardNumbers(text);
  for (const [pattern, replacement] of SECRETS) out = out.replace(pattern, replacement);
  return out;
}

/** Fields whose value is a credential whatever it looks like (a logged request's headers, say). */
const CREDENTIAL_FIELDS = /^(?:authorization|proxy-authorization|cookie|set-cookie|stripe-signature|x-api-key)$/i;

/** An Error's own fields are not enumerable: without this it would log as `{}`, and unredacted if it were. */
function errorsAsObjects(key: string, value: unknown): unknown {
  if (CREDENTIAL_FIELDS.test(key) && value !== undefined && value !== null) return '[redacted]';
  if (!(value instanceof Error)) return value;
  const { name, message, stack } = value;
  const code = (value as { code?: unknown }).code;
  return { name, message, ...(code === undefined ? {} : { code }), ...(stack === undefined ? {} : { stack }) };
}

const redactFormat = winston.format((info) => {
  const { level, ...rest } = info;
  const cleaned = JSON.parse(redact(JSON.stringify(rest, errorsAsObjects))) as Record<string, unknown>;
  return Object.assign(info, cleaned, { level });
});

/** The format of every log line: JSON, timestamped, redacted last of all before it is written. */
export function logFormat(): winston.Logform.Format {
  return winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), redactFormat(), winston.format.json());
}

export type Logger = winston.Logger;

export function createLogger(level: string, part: string): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { part },
    format: logFormat(),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}
