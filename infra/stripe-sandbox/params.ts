import qs from 'qs';
import { invalidRequest } from './errors';

/** Parameters as qs parses Stripe's bracket notation: strings, nested objects and arrays. */
export type Params = Record<string, unknown>;

export function parseForm(text: string): Params {
  return qs.parse(text, { depth: 10, arrayLimit: 100, parameterLimit: 2000 }) as Params;
}

/** Stripe refuses parameters it does not know, which catches typos in the caller early. */
export function rejectUnknown(params: Params, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) throw invalidRequest(`Received unknown parameter: ${key}`, { code: 'parameter_unknown', param: key });
  }
}

export function optionalString(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidRequest(`Invalid string: ${name}`, { code: 'parameter_invalid_string', param: name });
  return value;
}

export function requiredString(params: Params, name: string): string {
  const value = optionalString(params, name);
  if (value === undefined || value === '') throw missing(name);
  return value;
}

export function optionalInteger(params: Params, name: string, min = 0, max = 99_999_999): number | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) {
    throw invalidRequest(`Invalid integer: ${String(value)}`, { code: 'parameter_invalid_integer', param: name });
  }
  const n = Number(value);
  if (n < min) throw invalidRequest(`This value must be greater than or equal to ${min}.`, { code: 'parameter_invalid_integer', param: name });
  if (n > max) throw invalidRequest(`This value must be less than or equal to ${max}.`, { code: 'parameter_invalid_integer', param: name });
  return n;
}

export function requiredInteger(params: Params, name: string, min = 0, max = 99_999_999): number {
  const value = optionalInteger(params, name, min, max);
  if (value === undefined) throw missing(name);
  return value;
}

export function optionalBoolean(params: Params, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalidRequest(`Invalid boolean: ${String(value)}`, { code: 'parameter_invalid_boolean', param: name });
}

export function optionalEnum<T extends string>(params: Params, name: string, values: readonly T[]): T | undefined {
  const value = optionalString(params, name);
  if (value === undefined) return undefined;
  if (!(values as readonly string[]).includes(value)) {
    throw invalidRequest(`Invalid ${name}: must be one of ${values.join(', ')}`, { code: 'parameter_invalid_string', param: name });
  }
  return value as T;
}

export function optionalObject(params: Params, name: string): Params | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidRequest(`Invalid object`, { code: 'parameter_invalid_object', param: name });
  }
  return value as Params;
}

/** Metadata: up to 50 string keys of at most 40 characters, values of at most 500 characters. */
export function optionalMetadata(params: Params): Record<string, string> | undefined {
  const value = optionalObject(params, 'metadata');
  if (value === undefined) return undefined;
  const entries = Object.entries(value);
  if (entries.length > 50) throw invalidRequest('Invalid metadata: at most 50 keys', { param: 'metadata' });
  const out: Record<string, string> = {};
  for (const [key, v] of entries) {
    if (typeof v !== 'string' || key.length > 40 || v.length > 500) {
      throw invalidRequest(`Invalid value for metadata[${key}]`, { param: `metadata[${key}]` });
    }
    if (v !== '') out[key] = v;
  }
  return out;
}

/** `expand[]=a&expand[]=b` and the SDK's `expand[0]=a` both arrive as arrays. */
export function expandPaths(params: Params): string[] {
  const value = params.expand;
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? Object.values(value) : [value];
  if (!list.every((v): v is string => typeof v === 'string')) throw invalidRequest('Invalid array', { param: 'expand' });
  return list;
}

function missing(name: string) {
  return invalidRequest(`Missing required param: ${name}.`, { code: 'parameter_missing', param: name });
}
