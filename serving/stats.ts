/**
 * @module serving/stats
 * In-process latency quantiles for `GET /v1/stats` (people without Prometheus). A log-bucket
 * histogram in the spirit of HdrHistogram: bucket `i` holds values in
 * `[LOWEST·G^(i-1), LOWEST·G^i)` with `G = 1 + precision`, so a quantile is known to within one
 * bucket, i.e. to a relative error of at most `precision` (1% by default), in constant memory
 * (≈2,100 counters for 1 µs … 1,000 s) and O(1) per value. Quantiles use the nearest-rank
 * definition (the smallest value with at least ⌈q·n⌉ values ≤ it), which is what a sorted array
 * gives, and are clamped to the exact minimum and maximum seen.
 */

/** Values below this (in the histogram's unit) share bucket 0. 0.001 ms = 1 µs. */
const LOWEST = 0.001;
/** Values above this are counted in the last bucket (their quantile is clamped to the max). */
const HIGHEST = 1_000_000;

/** A quantile sketch over non-negative values (here milliseconds). */
export interface LogHistogram {
  record(value: number): void;
  /** Nearest-rank quantile, `q` in [0, 1]; NaN when nothing was recorded. */
  quantile(q: number): number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  /** The `[lower, upper)` range of the bucket that `value` falls in (for tests and docs). */
  bucketOf(value: number): readonly [number, number];
}

/**
 * A log-bucket histogram with relative precision `precision` (default 0.01).
 * @example
 * const h = createLogHistogram(); h.record(0.42); h.record(3.1); h.quantile(0.99) // ≈ 3.1 (±1%)
 */
export function createLogHistogram(precision = 0.01): LogHistogram {
  if (!(precision > 0 && precision < 1)) throw new RangeError(`precision must be in (0, 1), got ${precision}`);
  const logG = Math.log1p(precision);
  const size = Math.ceil(Math.log(HIGHEST / LOWEST) / logG) + 2;
  const counts = new Float64Array(size);
  let count = 0;
  let min = Infinity;
  let max = -Infinity;

  const indexOf = (v: number): number => {
    if (!(v >= LOWEST)) return 0;
    const i = Math.floor(Math.log(v / LOWEST) / logG) + 1;
    return i >= size ? size - 1 : i;
  };
  const lowerOf = (i: number): number => (i === 0 ? 0 : LOWEST * Math.exp((i - 1) * logG));
  const upperOf = (i: number): number => (i >= size - 1 ? Infinity : LOWEST * Math.exp(i * logG));

  return {
    record(value: number): void {
      if (!Number.isFinite(value)) return;
      const v = value < 0 ? 0 : value;
      // Floating-point log can put a value just across an edge; nudge so lower ≤ v < upper holds.
      let i = indexOf(v);
      if (i > 0 && v < lowerOf(i)) i--;
      else if (v >= upperOf(i)) i++;
      counts[i] = (counts[i] ?? 0) + 1;
      count++;
      if (v < min) min = v;
      if (v > max) max = v;
    },
    quantile(q: number): number {
      if (count === 0) return NaN;
      const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * count));
      if (rank === 1) return min;
      if (rank === count) return max;
      let seen = 0;
      for (let i = 0; i < size; i++) {
        seen += counts[i] ?? 0;
        if (seen >= rank) {
          const lower = Math.max(lowerOf(i), min);
          const upper = Math.min(upperOf(i), max);
          return lower + (upper - lower) / 2;
        }
      }
      return max;
    },
    get count() { return count; },
    get min() { return min; },
    get max() { return max; },
    bucketOf(value: number): readonly [number, number] {
      const v = value < 0 ? 0 : value;
      let i = indexOf(v);
      if (i > 0 && v < lowerOf(i)) i--;
      else if (v >= upperOf(i)) i++;
      return [lowerOf(i), upperOf(i)];
    },
  };
}
