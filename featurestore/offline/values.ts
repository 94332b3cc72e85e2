/**
 * @module offline/values
 * JS values in and out of DuckDB. Out: DuckDB values (public API) as the plain JS values Larder
 * hands out (`toRows`, on-demand `compute` rows): numbers (64-bit integers too, exact up to
 * 2^53), strings, booleans, `Date`s for dates and timestamps, arrays for lists, `null`.
 * In: what an on-demand `compute` returns, coerced to the declared dtype (on-demand-row.ts).
 */
import { JSDuckDBValueConverter, type DuckDBType, type DuckDBValue, type DuckDBValueConverter, type JS } from '@duckdb/node-api';

/** The library's JS converter, with 64-bit integers as numbers, recursively. */
const toJs: DuckDBValueConverter<JS> = (value, type) => {
  const out = JSDuckDBValueConverter(value, type, toJs);
  return typeof out === 'bigint' ? Number(out) : out;
};

/** One DuckDB value as a JS value. */
export function jsValue(value: DuckDBValue, type: DuckDBType): unknown {
  return value === null ? null : toJs(value, type, toJs);
}

// Pure (no DuckDB), shared with online reads; re-exported here where offline code has always found it.
export { coerceToDType } from '../on-demand-row.ts';
