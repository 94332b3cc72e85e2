/**
 * @module validation/profile-types
 * The JSON shape of a profile. One shape is produced by the DuckDB computation
 * (`profile.ts`) and by the live accumulator (`live.ts`), so either can be merged with,
 * compared with, or drift-tested against the other.
 */

/** How a column is profiled: numbers and timestamps get deciles, text and booleans top-K. */
export type ColumnKind = 'numeric' | 'timestamp' | 'string' | 'bool' | 'bytes' | 'other';

/**
 * Numeric bins: `edges` sorted and unique; bin `i` holds `edges[i-1] <= x < edges[i]`, so
 * bin 0 is everything below the first edge (−Inf included) and the last bin everything at or
 * above the last edge (+Inf included). A value exactly on an edge belongs to the bin it opens.
 */
export interface NumericBinSpec {
  readonly kind: 'numeric';
  readonly edges: readonly number[];
}

/** Categorical bins: one per category, then `other`. Values are compared as DuckDB's VARCHAR cast. */
export interface CategoryBinSpec {
  readonly kind: 'categorical';
  readonly categories: readonly string[];
}

export type BinSpec = NumericBinSpec | CategoryBinSpec;

/** Counts per bin (`counts.length` = edges + 1, or categories + 1), plus the missing bin (null and NaN). */
export interface BinCounts {
  readonly spec: BinSpec;
  readonly counts: number[];
  missing: number;
}

/** Rows whose text shows a sign of broken encoding (each row counted once per signal). */
export interface EncodingCounts {
  /** U+FFFD: a decoder replaced bytes it could not read (also where JS lone surrogates crossed into UTF-8). */
  replacement: number;
  /** UTF-8 read as Windows-1252/Latin-1: `Ã©`, `â€™`, `ðŸ˜€`, `ã‚`… (a lead byte's letter followed by a continuation byte's). */
  mojibake: number;
  /** Text that `nfc_normalize` changes. */
  nonNfc: number;
  /** Surrogates written out as text escapes, e.g. `\ud83d\ude00` left in a label. */
  surrogateEscapes: number;
  /** Lone surrogates: in JS strings (live), or CESU-8/WTF-8 surrogate bytes in BLOB columns. */
  loneSurrogates: number;
  /** BLOB values that are not valid UTF-8 (VARCHAR columns are valid UTF-8 by DuckDB's contract). */
  invalidUtf8: number;
}

export interface LengthStats {
  min: number | null;
  max: number | null;
  sum: number;
}

export interface StringStats {
  /** UTF-8 bytes. */
  bytes: LengthStats;
  /** Unicode code points (DuckDB `length`, JS `[...s].length`). */
  chars: LengthStats;
  encoding: EncodingCounts;
}

/** Moments over the finite values (NaN and ±Inf are counted apart, not averaged). */
export interface FiniteStats {
  n: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Sum of squared deviations from the mean; `stddev = sqrt(m2 / (n - 1))`. */
  m2: number;
}

export interface TopValue {
  readonly value: string;
  readonly count: number;
}

export interface ColumnProfile {
  readonly name: string;
  /** DuckDB type, e.g. `BIGINT`, `VARCHAR`. */
  readonly type: string;
  readonly kind: ColumnKind;
  count: number;
  nulls: number;
  nan: number;
  posInf: number;
  negInf: number;
  empty: number;
  /** Numbers and timestamps (epoch milliseconds). */
  finite: FiniteStats | null;
  /** Reference decile edges (10%…90%) of the finite values; absent when bins were given. */
  deciles: number[] | null;
  bins: BinCounts | null;
  /** Most frequent values with exact counts (text and booleans). */
  topK: TopValue[];
  /** Approximate distinct count (HyperLogLog); merged as the larger of the two (a lower bound). */
  distinct: number;
  strings: StringStats | null;
}

export interface DatasetProfile {
  readonly version: 1;
  rows: number;
  columns: ColumnProfile[];
}

/** Bins frozen from a reference profile, by column name. */
export type FrozenBins = Readonly<Record<string, BinSpec>>;

export const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;
export const DEFAULT_TOP_K = 20;

export function emptyEncoding(): EncodingCounts {
  return { replacement: 0, mojibake: 0, nonNfc: 0, surrogateEscapes: 0, loneSurrogates: 0, invalidUtf8: 0 };
}

/** The bins of every column of a reference profile, to profile other data against. */
export function frozenBinsOf(profile: DatasetProfile): FrozenBins {
  const out: Record<string, BinSpec> = {};
  for (const c of profile.columns) if (c.bins) out[c.name] = c.bins.spec;
  return out;
}

/** Null rate (nulls / rows; 0 for an empty column). */
export function nullRate(c: ColumnProfile): number {
  return c.count === 0 ? 0 : c.nulls / c.count;
}
