/**
 * @module validation/binning
 * The bin rules, written once for JS values and once as SQL, side by side so they stay the
 * same: the live accumulator and the DuckDB profile must put every value in the same bin.
 */
import { quoteIdent, sqlLiteral } from '../featurestore/offline/sql.ts';
import { DECILES, type BinSpec, type CategoryBinSpec, type NumericBinSpec } from './profile-types.ts';

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

/** SQL for the bin of the DOUBLE expression `value`: NULL when missing (null or NaN). */
export function numericBinSql(spec: NumericBinSpec, value: string): string {
  if (spec.edges.length === 0) return `CASE WHEN ${value} IS NULL OR isnan(${value}) THEN NULL ELSE 0 END`;
  const terms = spec.edges.map((e) => `(${value} >= ${doubleLiteral(e)})::INTEGER`).join(' + ');
  return `CASE WHEN ${value} IS NULL OR isnan(${value}) THEN NULL ELSE ${terms} END`;
}

/** SQL for the bin of the VARCHAR expression `value`: NULL when null, `categories.length` for other. */
export function categoryBinSql(spec: CategoryBinSpec, value: string): string {
  if (spec.categories.length === 0) return `CASE WHEN ${value} IS NULL THEN NULL ELSE 0 END`;
  const whens = spec.categories.map((c, i) => `WHEN ${sqlLiteral(c)} THEN ${i}`).join(' ');
  return `CASE ${value} ${whens} ELSE CASE WHEN ${value} IS NULL THEN NULL ELSE ${spec.categories.length} END END`;
}

export function binCount(spec: BinSpec): number {
  return spec.kind === 'numeric' ? spec.edges.length + 1 : spec.categories.length + 1;
}

/** Decile edges as bin edges: finite, sorted, duplicates (ties) removed. */
export function edgesFromQuantiles(quantiles: readonly (number | null)[]): number[] {
  const finite = quantiles.filter((q): q is number => typeof q === 'number' && Number.isFinite(q));
  return [...new Set(finite)].sort((a, b) => a - b);
}

/** `quantile_cont(value, [0.1, …, 0.9])` over finite values. */
export function decilesSql(value: string): string {
  return `quantile_cont(${value}, [${DECILES.join(', ')}]) FILTER (WHERE isfinite(${value}))`;
}

export { quoteIdent };
