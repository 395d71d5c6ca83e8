import fc from 'fast-check';
import { canonicalJson } from '../../../infra/event-store/canonical-json';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts object keys by UTF-16 code units, as in the RFC 8785 sorting example', () => {
    const value = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };

    const keys = Object.keys(JSON.parse(canonicalJson(value)) as object);
    const textOrder = [...canonicalJson(value).matchAll(/"([^"]+)":/g)].map((m) => m[1]);

    expect(keys).toHaveLength(7);
    expect(textOrder).toEqual(['\\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it('prints numbers the way ECMAScript does and drops whitespace', () => {
    expect(canonicalJson({ b: [1e21, 1e-7, -0, 0.1 + 0.2, 333333333.3333333, 1.5e300], a: 'x' })).toBe(
      '{"a":"x","b":[1e+21,1e-7,0,0.30000000000000004,333333333.3333333,1.5e+300]}',
    );
  });

  it('drops undefined members, writes undefined array items as null and dates through toJSON', () => {
    expect(canonicalJson({ z: undefined, y: [undefined, 2], at: new Date('2024-01-02T03:04:05.006Z') })).toBe(
      '{"at":"2024-01-02T03:04:05.006Z","y":[null,2]}',
    );
  });

  it.each([
    ['NaN', { n: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['a bigint', { n: 1n }],
    ['undefined at the top', undefined],
  ])('rejects %s', (_what, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  it('gives the same text whatever the key order, and parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'grapheme' }), (value) => {
        const reordered = reverseKeys(value);
        expect(canonicalJson(reordered)).toBe(canonicalJson(value));
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
}
