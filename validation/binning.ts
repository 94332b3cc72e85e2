/**
 * @module validation/binning
 * The bin rules for JS values, and the SQL pieces the DuckDB profile uses for the same rules
 * (`profile.ts` counts values at or above each edge): the live accumulator and the DuckDB
 * profile must put every value in the same bin.
 */
import { sqlLiteral } from '../featurestore/offline/sql.ts';
import { DECILES, type BinSpec } from './profile-types.ts';

/** A double as an exact DuckDB literal (JS `String` round-trips, and the cast parses it as a double). */
export function doubleLiteral(x: number): string {
  if (Number.isNaN(x)) return `'nan'::DOUBLE`;
  if (x === Infinity) return `'inf'::DOUBLE`;
  if (x === -Infinity) return `'-inf'::DOUBLE`;
  return `${sqlLiteral(String(x))}::DOUBLE`;
}

/** Bin of a number (not null, not NaN): the count of edges at or below it. */
export function numericBin(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((edges[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bin of a category value: its index, or `categories.length` (other). */
export function categoryBin(index: ReadonlyMap<string, number>, size: number, value: string): number {
  return index.get(value) ?? size;
}

export function binCount(spec: BinSpec): number {
  return spec.kind === 'numeric' ? spec.edges.length + 1 : spec.categories.length + 1;
}

/** Decile edges as bin edges: finite, sorted, duplicates (ties) removed. */
export function edgesFromQuantiles(quantiles: readonly (number | null)[]): number[] {
  const finite = quantiles.filter((q): q is number => typeof q === 'number' && Number.isFinite(q));
  return [...new Set(finite)].sort((a, b) => a - b);
}

/** `quantile_cont(finite, [0.1, …, 0.9])` (or its t-digest `approx_quantile`); `finite` is NULL unless finite. */
export function decilesSql(finite: string, method: 'exact' | 'approx' = 'exact'): string {
  return `${method === 'exact' ? 'quantile_cont' : 'approx_quantile'}(${finite}, [${DECILES.join(', ')}])`;
}

