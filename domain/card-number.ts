/**
 * Card numbers never enter the ledger: the API takes payment method tokens only. A run of 13 to 19
 * digits, optionally grouped by single spaces or dashes, that passes the Luhn check is treated as a
 * card number wherever it appears.
 */
const DIGIT_RUN = /\d(?:[ -]?\d){12,18}/g;

export function looksLikeCardNumber(text: string): boolean {
  for (const match of text.matchAll(DIGIT_RUN)) {
    if (isCardLikeRun(match[0], text, match.index)) return true;
  }
  return false;
}

/** True when any string, number or key anywhere inside `value` looks like a card number. */
export function containsCardNumber(value: unknown): boolean {
  if (typeof value === 'string') return looksLikeCardNumber(value);
  if (typeof value === 'number' || typeof value === 'bigint') return looksLikeCardNumber(String(value));
  if (Array.isArray(value)) return value.some(containsCardNumber);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, inner]) => looksLikeCardNumber(key) || containsCardNumber(inner));
  }
  return false;
}

/** Replaces every card-like digit run with a mask, for log lines and error messages. */
export function maskCardNumbers(text: string): string {
  return text.replace(DIGIT_RUN, (run, offset: number) => (isCardLikeRun(run, text, offset) ? '[card number redacted]' : run));
}

/** A run is card-like when it stands alone (no digit right before or after it) and passes Luhn. */
function isCardLikeRun(run: string, text: string, offset: number): boolean {
  const before = text.charAt(offset - 1);
  const after = text.charAt(offset + run.length);
  if (/\d/.test(before) || /\d/.test(after)) return false;
  return passesLuhn(run.replace(/[ -]/g, ''));
}

function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}
