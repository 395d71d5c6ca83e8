import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JCS) canonical JSON: keys sorted by UTF-16 code units, ECMAScript number printing, no
 * whitespace. jsonb reorders keys, so hashes and request fingerprints are taken over this form.
 * Values JSON cannot carry (NaN, Infinity, bigint, a bare undefined) are programming errors here.
 */
export function canonicalJson(value: unknown): string {
  assertRepresentable(value);
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

function assertRepresentable(value: unknown): void {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`${value} has no JSON form`);
  if (typeof value === 'bigint') throw new TypeError('bigint has no JSON form');
  if (Array.isArray(value)) value.forEach(assertRepresentable);
  else if (value !== null && typeof value === 'object' && !(value instanceof Date)) Object.values(value).forEach(assertRepresentable);
}
