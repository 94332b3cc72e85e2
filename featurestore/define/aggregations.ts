/**
 * @module aggregations
 * Windowed aggregation builders (`agg.*`) for feature views over event sources (DESIGN §3.2, §4).
 *
 * For an entity row (K, T), an aggregation with window `w` and lag `l` (default 0) reads the
 * source events with the same K and `T - l - w <= event_ts < T - l`: the current instant is
 * excluded, so a row never sees itself, and the lag models values that become known only later
 * (an arrival delay is known after landing). An empty window gives `count` → 0, others → null.
 * `last` without a window reads all history before `T - l`. Nulls in the aggregated value are
 * skipped (as SQL aggregates do): `count(x)` counts non-null values, `last` is the newest
 * non-null value (among events at the same instant, the greatest value).
 *
 * `x` is a source column or a DuckDB SQL expression over the source's columns. Output dtypes:
 * `count` and `countDistinct` are int64, `avg` and `stddev` (sample, null below two values) are
 * float64, and `sum`, `min`, `max`, `last` are float64 unless `{ type }` says otherwise (e.g.
 * `agg.last('carrier', { type: t.string() })`). `type` may carry `.default()` and the other modifiers.
 *
 * Aggregations use event time only: a source's `createdTimestamp` does not apply to them, so
 * model late knowledge with `lag`.
 */
import { t, type DType } from './dtypes.ts';

export type AggregationFn = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'stddev' | 'countDistinct' | 'last';

export const AGGREGATION_FNS: readonly AggregationFn[] = ['count', 'sum', 'avg', 'min', 'max', 'stddev', 'countDistinct', 'last'];

export interface AggregationDef<D extends DType = DType> {
  readonly kind: 'aggregation';
  readonly fn: AggregationFn;
  /** The aggregated column or SQL expression; absent for `count` (which counts events). */
  readonly expr?: string;
  /** Window length (`'7d'`); absent only for `last` over all history. */
  readonly window?: string;
  /** How far before T the window ends (`'1d'`); absent means 0. */
  readonly lag?: string;
  /** The output dtype. */
  readonly dtype: D;
}

export interface AggregationOptions<D extends DType> {
  /** Shifts the window back: `[T - lag - w, T - lag)`. */
  readonly lag?: string;
  /** Output dtype (and its default, description, expectations). */
  readonly type?: D;
}

function make<D extends DType>(fn: AggregationFn, expr: string | undefined, window: string | undefined, options: AggregationOptions<D> | undefined, dtype: DType): AggregationDef<D> {
  const def: { -readonly [K in keyof AggregationDef<D>]: AggregationDef<D>[K] } = { kind: 'aggregation', fn, dtype: (options?.type ?? dtype) as D };
  if (expr !== undefined) def.expr = expr;
  if (window !== undefined) def.window = window;
  if (options?.lag !== undefined) def.lag = options.lag;
  return Object.freeze(def);
}

type Num = DType<number>;

/** Windowed aggregation builders. */
export const agg = {
  /** Number of events in the window (0 when empty). */
  count: <D extends DType = Num>(window: string, options?: AggregationOptions<D>) => make<D>('count', undefined, window, options, t.int64()),
  /** Number of non-null values of `x` that differ (0 when empty). */
  countDistinct: <D extends DType = Num>(x: string, window: string, options?: AggregationOptions<D>) => make<D>('countDistinct', x, window, options, t.int64()),
  sum: <D extends DType = Num>(x: string, window: string, options?: AggregationOptions<D>) => make<D>('sum', x, window, options, t.float64()),
  avg: <D extends DType = Num>(x: string, window: string, options?: AggregationOptions<D>) => make<D>('avg', x, window, options, t.float64()),
  min: <D extends DType = Num>(x: string, window: string, options?: AggregationOptions<D>) => make<D>('min', x, window, options, t.float64()),
  max: <D extends DType = Num>(x: string, window: string, options?: AggregationOptions<D>) => make<D>('max', x, window, options, t.float64()),
  /** Sample standard deviation; null below two values. */
  stddev: <D extends DType = Num>(x: string, window: string, options?: AggregationOptions<D>) => make<D>('stddev', x, window, options, t.float64()),
  /** The newest non-null value of `x` in the window, or in all history before `T - lag` without one. */
  last: <D extends DType = Num>(x: string, window?: string | AggregationOptions<D>, options?: AggregationOptions<D>) =>
    typeof window === 'object' ? make<D>('last', x, undefined, window, t.float64()) : make<D>('last', x, window, options, t.float64()),
} as const;

export type Aggregations = Record<string, AggregationDef>;

/** The feature dtypes an aggregation view exposes. */
export type AggregationFeatures<A extends Aggregations> = { [K in keyof A]: A[K]['dtype'] };

export function isAggregation(value: unknown): value is AggregationDef {
  return typeof value === 'object' && value !== null && (value as AggregationDef).kind === 'aggregation';
}
