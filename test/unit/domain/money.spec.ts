import { amountProblem, isSupportedCurrency, MAX_AMOUNT, minorUnitExponent, SUPPORTED_CURRENCIES } from '../../../domain';

const REQUIRED = ['usd', 'eur', 'gbp', 'jpy', 'krw', 'chf', 'cad', 'aud', 'sek', 'nok', 'dkk', 'pln', 'czk', 'huf', 'nzd', 'sgd', 'hkd', 'mxn', 'brl', 'inr'];
const ZERO_DECIMAL = ['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf'];
const THREE_DECIMAL = ['bhd', 'jod', 'kwd', 'omr', 'tnd'];

describe('supported currencies', () => {
  it('lists every currency the ledger promises, in lowercase, once', () => {
    for (const c of [...REQUIRED, ...ZERO_DECIMAL, ...THREE_DECIMAL]) expect(SUPPORTED_CURRENCIES).toContain(c);
    for (const c of SUPPORTED_CURRENCIES) expect(c).toMatch(/^[a-z]{3}$/);
    expect(new Set(SUPPORTED_CURRENCIES).size).toBe(SUPPORTED_CURRENCIES.length);
  });

  it('recognises a code whatever its case, and nothing that is not a listed code', () => {
    expect(isSupportedCurrency('usd')).toBe(true);
    expect(isSupportedCurrency('USD')).toBe(true);
    expect(isSupportedCurrency('xxx')).toBe(false);
    expect(isSupportedCurrency('')).toBe(false);
    expect(isSupportedCurrency('usd ')).toBe(false);
  });

  it.each(ZERO_DECIMAL)('counts %s in whole units', (c) => expect(minorUnitExponent(c)).toBe(0));
  it.each(THREE_DECIMAL)('counts %s in thousandths', (c) => expect(minorUnitExponent(c)).toBe(3));
  it.each(['usd', 'eur', 'gbp', 'inr', 'huf'])('counts %s in hundredths', (c) => expect(minorUnitExponent(c)).toBe(2));

  it('refuses to guess the exponent of an unsupported currency', () => {
    expect(() => minorUnitExponent('xxx')).toThrow(/not supported/);
  });
});

describe('an amount to charge', () => {
  it('accepts one minor unit and the maximum, and refuses zero and one over the maximum', () => {
    expect(amountProblem(1, 'usd')).toBeNull();
    expect(amountProblem(MAX_AMOUNT, 'usd')).toBeNull();
    expect(amountProblem(0, 'usd')).toBe('amount_out_of_range');
    expect(amountProblem(MAX_AMOUNT + 1, 'usd')).toBe('amount_out_of_range');
    expect(amountProblem(-1, 'usd')).toBe('amount_out_of_range');
  });

  it('holds MAX_AMOUNT at 99,999,999 minor units', () => {
    expect(MAX_AMOUNT).toBe(99_999_999);
  });

  it('refuses fractions, NaN and infinities as not integers', () => {
    for (const amount of [10.5, 0.1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(amountProblem(amount, 'usd')).toBe('amount_not_integer');
    }
  });

  it('refuses an unsupported currency before looking at the amount', () => {
    expect(amountProblem(100, 'xxx')).toBe('currency_not_supported');
    expect(amountProblem(0.5, 'xxx')).toBe('currency_not_supported');
  });

  it('takes zero-decimal amounts as whole units, any integer in range', () => {
    expect(amountProblem(1, 'jpy')).toBeNull();
    expect(amountProblem(MAX_AMOUNT, 'krw')).toBeNull();
  });

  it('takes three-decimal amounts only in multiples of 10, as Stripe requires', () => {
    expect(amountProblem(10, 'kwd')).toBeNull();
    expect(amountProblem(11, 'kwd')).toBe('amount_not_representable');
    expect(amountProblem(9, 'bhd')).toBe('amount_not_representable');
    expect(amountProblem(99_999_990, 'jod')).toBeNull();
    expect(amountProblem(MAX_AMOUNT, 'jod')).toBe('amount_not_representable');
  });
});
