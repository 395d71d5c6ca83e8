import { Writable } from 'node:stream';
import winston from 'winston';
import { looksLikeCardNumber } from '../../domain/card-number';
import { logFormat } from '../../infra/logger';

/**
 * The winston output of the apps a test builds, through the production format (redaction
 * included), kept in memory so that the test can scan every line it wrote.
 */
export interface LogCapture {
  readonly logger: winston.Logger;
  /** For `logError` dependencies. */
  readonly logError: (message: string, error: unknown) => void;
  /** For `(level, message, meta)` dependencies. */
  readonly log: (level: string, message: string, meta?: Record<string, unknown>) => void;
  lines(): readonly string[];
  /** Lines that hold a card-like digit run, an API key, a Stripe secret, a bearer token or any of `secrets`. */
  leaks(secrets?: readonly string[]): string[];
}

const LEAK_PATTERNS: readonly RegExp[] = [
  /lk_(?:test|live)_[0-9A-Za-z]{4,}/,
  /(?:sk|rk)_(?:test|live)_[0-9A-Za-z]{4,}/,
  /whsec_[0-9A-Za-z_+/=-]{4,}/,
  /Bearer\s+(?!\[redacted\])[^\s"\\]/i,
];

export function captureLogs(part = 'test'): LogCapture {
  const captured: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      captured.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = winston.createLogger({
    level: 'silly',
    defaultMeta: { part },
    format: logFormat(),
    transports: [new winston.transports.Stream({ stream: sink })],
  });
  return {
    logger,
    logError: (message, error) => logger.error(message, { error }),
    log: (level, message, meta) => logger.log(level, message, meta),
    lines: () => captured,
    leaks: (secrets = []) => captured.filter((line) => leaks(line, secrets)),
  };
}

/** True when `text` holds something no log line or error body may hold. */
export function leaks(text: string, secrets: readonly string[] = []): boolean {
  return looksLikeCardNumber(text) || LEAK_PATTERNS.some((pattern) => pattern.test(text)) || secrets.some((secret) => text.includes(secret));
}
