/**
 * @module offline/values
 * JS values in and out of DuckDB. Out: DuckDB values (public API) as the plain JS values Larder
 * hands out (`toRows`, on-demand `compute` rows): numbers (64-bit integers too, exact up to
 * 2^53), strings, booleans, `Date`s for dates and timestamps, arrays for lists, `null`.
 * In: what an on-demand `compute` returns, coerced to the declared dtype.
 */
import { JSDuckDBValueConverter, type DuckDBType, type DuckDBValue, type DuckDBValueConverter, type JS } from '@duckdb/node-api';
import { dtypeName, type DType } from '../define/dtypes.ts';

/** The library's JS converter, with 64-bit integers as numbers, recursively. */
const toJs: DuckDBValueConverter<JS> = (value, type) => {
  const out = JSDuckDBValueConverter(value, type, toJs);
  return typeof out === 'bigint' ? Number(out) : out;
};

/** One DuckDB value as a JS value. */
export function jsValue(value: DuckDBValue, type: DuckDBType): unknown {
  return value === null ? null : toJs(value, type, toJs);
}

/**
 * A value an on-demand `compute` returned, as the declared dtype holds it (the JS form the
 * appender takes). Throws an Error saying why when it cannot be: no silent nulls.
 * Integers round half away from zero, as DuckDB's casts do.
 */
export function coerceToDType(value: unknown, dtype: DType): unknown {
  if (value === null || value === undefined) return null;
  const fail = (): never => {
    const shown = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? Object.prototype.toString.call(value) : String(value);
    throw new Error(`${shown} is not a ${dtypeName(dtype)}`);
  };
  switch (dtype.kind) {
    case 'int64':
    case 'int32': {
      const n = toNumber(value) ?? fail();
      const rounded = Math.sign(n) * Math.round(Math.abs(n));
      if (!Number.isFinite(rounded) || (dtype.kind === 'int32' && (rounded < -2147483648 || rounded > 2147483647))) fail();
      return rounded;
    }
    case 'float64':
    case 'float32':
      return toNumber(value) ?? fail();
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
      return fail();
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'number' && (value === 0 || value === 1)) return value === 1;
      return fail();
    case 'timestamp': {
      const date = value instanceof Date ? value : typeof value === 'number' || typeof value === 'string' ? new Date(value) : undefined;
      return date && !Number.isNaN(date.getTime()) ? date : fail();
    }
    case 'array':
      if (!Array.isArray(value)) return fail();
      return value.map((v) => coerceToDType(v, dtype.element ?? fail()));
  }
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}
