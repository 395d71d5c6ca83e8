import winston from 'winston';
import { maskCardNumbers } from '../domain/card-number';

/** Secrets that must never reach a log line, whatever field they hide in. */
const SECRETS: readonly [RegExp, string][] = [
  [/\blk_(?:test|live)_[0-9A-Za-z]{8,}/g, 'lk_[redacted]'],
  [/\b(?:sk|rk)_(?:test|live)_[0-9A-Za-z]{8,}/g, 'sk_[redacted]'],
  [/\bwhsec_[0-9A-Za-z]{8,}/g, 'whsec_[redacted]'],
  [/(Bearer\s+)[A-Za-z0-9_\-.~+/=]+/gi, '$1[redacted]'],
  [/(postgres(?:ql)?:\/\/[^:/@\s"]+:)[^@\s"]+@/g, '$1[redacted]@'],
];

export function redact(text: string): string {
  let out = maskCardNumbers(text);
  for (const [pattern, replacement] of SECRETS) out = out.replace(pattern, replacement);
  return out;
}

const redactFormat = winston.format((info) => {
  const { level, ...rest } = info;
  const cleaned = JSON.parse(redact(JSON.stringify(rest))) as Record<string, unknown>;
  return Object.assign(info, cleaned, { level });
});

export type Logger = winston.Logger;

export function createLogger(level: string, part: string): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { part },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), redactFormat(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}
