/**
 * @module pipelines/trainers/histogram
 * Histogram binning for gradient boosting. Each feature's non-missing values fall into at most
 * 255 bins cut at training quantiles; missing values (NaN) get bin 255 of their own. A bin's
 * upper bound is a float32 value seen in training, so the split "bin ≤ b" is exactly the float32
 * comparison `x ≤ upper[b]` that the exported tree ensemble makes, on any data.
 */
import { larderError } from '../../errors.ts';

/** The bin of a missing value; histograms have 256 slots per feature. */
export const MISSING_BIN = 255;
export const HISTOGRAM_SLOTS = 256;
/** Largest float32: the threshold of the split "every present value left, missing right". */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Bins of one feature: `uppers[b]` is bin b's upper bound; the last bin is open above. */
export interface FeatureBins {
  readonly uppers: Float32Array;
}

/** At most this many values are sorted to find quantiles (an evenly strided sample). */
const QUANTILE_SAMPLE = 200_000;

/** Learns up to `maxBins` bins from a column's present values. */
export function learnBins(column: Float32Array, maxBins: number): FeatureBins {
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > 255) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `bins must be an integer from 2 to 255, got ${maxBins}` });
  }
  const stride = Math.max(1, Math.floor(column.length / QUANTILE_SAMPLE));
  const sample: number[] = [];
  for (let i = 0; i < column.length; i += stride) { const x = column[i]!; if (x === x) sample.push(x); }
  const sorted = Float32Array.from(sample).sort();
  const distinct: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]!);
  if (distinct.length === 0) return { uppers: Float32Array.of(FLOAT32_MAX) };
  if (distinct.length <= maxBins) return { uppers: Float32Array.from(distinct) };
  const uppers: number[] = [];
  for (let k = 1; k < maxBins; k++) {
    const cut = sorted[Math.floor((k * sorted.length) / maxBins) - 1]!;
    if (uppers.length === 0 || cut > uppers[uppers.length - 1]!) uppers.push(cut);
  }
  // The last bin holds everything above the last cut.
  if (uppers[uppers.length - 1]! < distinct[distinct.length - 1]!) uppers.push(distinct[distinct.length - 1]!);
  return { uppers: Float32Array.from(uppers) };
}

/** The bin of every value: the first bin whose upper bound is ≥ x, the last bin above all. */
export function binColumn(column: Float32Array, bins: FeatureBins): Uint8Array {
  const { uppers } = bins;
  const last = uppers.length - 1;
  const out = new Uint8Array(column.length);
  for (let i = 0; i < column.length; i++) {
    const x = column[i]!;
    if (x !== x) { out[i] = MISSING_BIN; continue; }
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x <= uppers[mid]!) hi = mid;
      else lo = mid + 1;
    }
    out[i] = lo;
  }
  return out;
}

/** The float32 threshold of the split "bin ≤ b". */
export function thresholdOf(bins: FeatureBins, bin: number): number {
  return bin >= bins.uppers.length - 1 ? FLOAT32_MAX : bins.uppers[bin]!;
}

/**
 * Sums gradients, hessians and counts per (feature, bin) over `rows[start, end)`, into `hist`
 * laid out as `[(feature·256 + bin)·3 + {0: grad, 1: hess, 2: count}]`. Gradients are gathered
 * in row order first so the inner loop per feature reads them sequentially.
 */
export function buildHistogram(
  hist: Float64Array, bins: readonly Uint8Array[], rows: Uint32Array, start: number, end: number,
  grad: Float64Array, hess: Float64Array, scratchG: Float64Array, scratchH: Float64Array,
): void {
  hist.fill(0);
  const m = end - start;
  for (let k = 0; k < m; k++) { const i = rows[start + k]!; scratchG[k] = grad[i]!; scratchH[k] = hess[i]!; }
  for (let f = 0; f < bins.length; f++) {
    const column = bins[f]!;
    const base = f * HISTOGRAM_SLOTS * 3;
    for (let k = 0; k < m; k++) {
      const slot = base + column[rows[start + k]!]! * 3;
      hist[slot]! += scratchG[k]!;
      hist[slot + 1]! += scratchH[k]!;
      hist[slot + 2]! += 1;
    }
  }
}
