import { Writable } from 'node:stream';
import winston from 'winston';
import { logFormat, redact } from '../../../infra/logger';

function logOnce(message: string, meta: Record<string, unknown>): Record<string, any> {
  const lines: string[] = [];
  const logger = winston.createLogger({
    level: 'info',
    format: logFormat(),
    transports: [new winston.transports.Stream({ stream: new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }) })],
  });
  logger.info(message, meta);
  return JSON.parse(lines[0]!);
}

describe('redact', () => {
  it.each([
    ['a card number', 'paid with 4242424242424242 today', 'paid with [card number redacted] today'],
    ['a spaced card number', 'card 4000 0566 5566 5556.', 'card [card number redacted].'],
    ['a dashed card number', 'pan=5555-5555-5555-4444', 'pan=[card number redacted]'],
    ['an Amex number', '378282246310005', '[card number redacted]'],
    ['a test API key', 'key lk_test_abcdefghijklmnopqrstuvwxyz012345', 'key lk_[redacted]'],
    ['a live API key glued to a word', 'x_lk_live_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345', 'x_lk_[redacted]'],
    ['a bearer token', 'Authorization: Bearer lk_test_abcdefghijklmnopqrstuvwxyz012345', 'Authorization: Bearer [redacted]'],
    ['any bearer token', 'authorization: bearer some.jwt-token_value', 'authorization: bearer [redacted]'],
    ['basic credentials', 'Basic dXNlcjpwYXNz', 'Basic [redacted]'],
    ['a webhook secret in base64', 'whsec_ab+cd/ef==', 'whsec_[redacted]'],
    ['a webhook secret in base64url', 'whsec_abcd-efgh_ijkl', 'whsec_[redacted]'],
    ['two webhook secrets', 'whsec_aaaaaaaaaa,whsec_bbbbbbbbbb', 'whsec_[redacted],whsec_[redacted]'],
    ['a Stripe secret key', 'sk_test_51Habc_defGHIJKL', 'sk_[redacted]'],
    ['a restricted Stripe key', 'rk_live_51Habcdefghijkl', 'sk_[redacted]'],
    ['a database password', 'postgres://ledger:hunter2@db:5432/ledger', 'postgres://ledger:[redacted]@db:5432/ledger'],
  ])('masks %s', (_name, text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it.each([
    ['a payment id', 'payment 3f9b1c2e-1234-5678-9abc-def012345678'],
    ['an amount and a position', 'amount 100000000 at 123456:789012'],
    ['a digit run that fails Luhn', '4242424242424241'],
    ['a 20-digit run', '42424242424242424242'],
    ['a 12-digit run', '424242424242'],
    ['a key id', 'key_0123456789abcdef'],
    ['a Unix timestamp in ms', '1767225600000'],
  ])('leaves %s alone', (_name, text) => {
    expect(redact(text)).toBe(text);
  });
});

describe('the log format', () => {
  it('redacts every field, nested or not, and keeps the line JSON', () => {
    const line = logOnce('charge 4242424242424242 failed', {
      request: { headers: { authorization: 'Token opaque-value', 'stripe-signature': 't=1,v1=abc', cookie: 'session=s3cr3t' }, body: { pan: '4111 1111 1111 1111' } },
      config: { STRIPE_WEBHOOK_SECRET: 'whsec_first_secret,whsec_second_secret', key: 'lk_test_abcdefghijklmnopqrstuvwxyz012345' },
    });
    expect(line.message).toBe('charge [card number redacted] failed');
    expect(line.request.headers).toEqual({ authorization: '[redacted]', 'stripe-signature': '[redacted]', cookie: '[redacted]' });
    expect(line.request.body.pan).toBe('[card number redacted]');
    expect(line.config).toEqual({ STRIPE_WEBHOOK_SECRET: 'whsec_[redacted],whsec_[redacted]', key: 'lk_[redacted]' });
    expect(line.level).toBe('info');
  });

  it('logs an error with its message and stack, redacted', () => {
    const error = Object.assign(new Error('auth failed for Bearer lk_live_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 card 4242424242424242'), { code: 'E_AUTH' });
    const line = logOnce('unhandled error', { error });
    expect(line.error.name).toBe('Error');
    expect(line.error.code).toBe('E_AUTH');
    expect(line.error.message).toBe('auth failed for Bearer [redacted] card [card number redacted]');
    expect(line.error.stack).toMatch(/^Error: auth failed for Bearer \[redacted\] card \[card number redacted\]\n\s+at /);
  });
});
