/**
 * Money is an integer count of the currency's minor unit (cents for usd, yen for jpy, fils for
 * kwd). Nothing here, or anywhere in the ledger, holds an amount as a fraction.
 */

/** Stripe's limit for a single charge: eight digits of the minor unit. */
export const MAX_AMOUNT = 99_999_999;

/** Currencies whose minor unit is the major unit (Stripe's zero-decimal list). */
const ZERO_DECIMAL = ['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf'] as const;

/**
 * Currencies with three decimals. Stripe takes their amounts in thousandths but requires the last
 * digit to be 0, so an amount that is not a multiple of 10 cannot be charged.
 */
const THREE_DECIMAL = ['bhd', 'jod', 'kwd', 'omr', 'tnd'] as const;

/**
 * Two-decimal presentment currencies Stripe supports. ISK is left out on purpose: Stripe treats it
 * as zero-decimal but takes its amounts in hundredths for backwards compatibility, a special case
 * that this ledger does not model.
 */
const TWO_DECIMAL = [
  'usd', 'eur', 'gbp', 'chf', 'cad', 'aud', 'nzd', 'sek', 'nok', 'dkk', 'pln', 'czk', 'huf', 'ron', 'bgn',
  'sgd', 'hkd', 'twd', 'cny', 'inr', 'idr', 'myr', 'php', 'thb', 'pkr', 'lkr', 'bdt', 'npr',
  'mxn', 'brl', 'ars', 'cop', 'pen', 'uyu', 'bob', 'crc', 'dop', 'gtq', 'hnl', 'nio', 'pab', 'jmd', 'ttd', 'bsd', 'bbd', 'bzd', 'bmd', 'kyd', 'xcd', 'awg', 'ang', 'htg', 'srd', 'gyd',
  'aed', 'sar', 'qar', 'ils', 'egp', 'mad', 'try', 'zar', 'ngn', 'kes', 'ghs', 'tzs', 'etb', 'mur', 'scr', 'bwp', 'nad', 'szl', 'lsl', 'mzn', 'aoa', 'cve', 'gmd', 'mwk', 'sll', 'sos', 'zmw', 'dzd',
  'uah', 'gel', 'amd', 'azn', 'kzt', 'kgs', 'uzs', 'tjs', 'mdl', 'mkd', 'rsd', 'bam', 'all',
  'mnt', 'mop', 'mvr', 'khr', 'lak', 'mmk', 'fjd', 'pgk', 'sbd', 'top', 'wst',
] as const;

type ZeroDecimalCurrency = (typeof ZERO_DECIMAL)[number];
type ThreeDecimalCurrency = (typeof THREE_DECIMAL)[number];
type TwoDecimalCurrency = (typeof TWO_DECIMAL)[number];
export type SupportedCurrency = ZeroDecimalCurrency | TwoDecimalCurrency | ThreeDecimalCurrency;

/** Lowercase ISO 4217 codes, as Stripe spells them on the wire. */
export const SUPPORTED_CURRENCIES: readonly SupportedCurrency[] = [...TWO_DECIMAL, ...ZERO_DECIMAL, ...THREE_DECIMAL];

const EXPONENTS: ReadonlyMap<string, 0 | 2 | 3> = new Map<string, 0 | 2 | 3>([
  ...TWO_DECIMAL.map((c) => [c, 2] as const),
  ...ZERO_DECIMAL.map((c) => [c, 0] as const),
  ...THREE_DECIMAL.map((c) => [c, 3] as const),
]);

/**
 * Currency codes are compared in lowercase, the form stored in events and sent to Stripe, so
 * 'USD' and 'usd' name the same currency.
 */
export function normalizeCurrency(currency: string): string {
  return currency.toLowerCase();
}

export function isSupportedCurrency(currency: string): boolean {
  return EXPONENTS.has(normalizeCurrency(currency));
}

/** Digits after the decimal point. Throws for an unsupported currency: check it first. */
export function minorUnitExponent(currency: string): 0 | 2 | 3 {
  const exponent = EXPONENTS.get(normalizeCurrency(currency));
  if (exponent === undefined) throw new RangeError(`currency not supported: ${currency}`);
  return exponent;
}

export type AmountProblem = 'amount_not_integer' | 'amount_out_of_range' | 'currency_not_supported' | 'amount_not_representable';

/** Why `amount` (minor units) cannot be charged in `currency`, or null when it can. */
export function amountProblem(amount: number, currency: string): AmountProblem | null {
  if (!isSupportedCurrency(currency)) return 'currency_not_supported';
  if (!Number.isInteger(amount)) return 'amount_not_integer';
  if (amount < 1 || amount > MAX_AMOUNT) return 'amount_out_of_range';
  if (minorUnitExponent(currency) === 3 && amount % 10 !== 0) return 'amount_not_representable';
  return null;
}
