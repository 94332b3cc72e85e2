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
  const sample = new Float32Array(Math.ceil(column.length / stride));
  let m = 0;
  for (let i = 0; i < column.length; i += stride) { const x = column[i]!; if (x === x) sample[m++] = x; }
  const sorted = sample.subarray(0, m).sort();
  let distinctCount = 0;
  for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinctCount++;
  const distinct = (): Float32Array => {
    const out = new Float32Array(distinctCount);
    for (let i = 0, k = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) out[k++] = sorted[i]!;
    return out;
  };
  if (distinctCount === 0) return { uppers: Float32Array.of(FLOAT32_MAX) };
  if (distinctCount <= maxBins) return { uppers: distinct() };
  const uppers: number[] = [];
  for (let k = 1; k < maxBins; k++) {
    const cut = sorted[Math.floor((k * m) / maxBins) - 1]!;
    if (uppers.length === 0 || cut > uppers[uppers.length - 1]!) uppers.push(cut);
  }
  // The last bin holds everything above the last cut.
  if (uppers[uppers.length - 1]! < sorted[m - 1]!) uppers.push(sorted[m - 1]!);
  return { uppers: Float32Array.from(uppers) };
}

/** Binned features, row-major: `data[i·features + f]` is row i's bin of feature f. */
export interface BinnedMatrix {
  readonly rows: number;
  readonly features: number;
  readonly data: Uint8Array;
}

/** Bins every column: a value goes to the first bin whose upper bound is ≥ it, the last bin above all. */
export function binColumns(columns: readonly Float32Array[], bins: readonly FeatureBins[], rows: number): BinnedMatrix {
  const features = columns.length;
  const data = new Uint8Array(rows * features);
  columns.forEach((column, f) => {
    const { uppers } = bins[f]!;
    const last = uppers.length - 1;
    for (let i = 0, at = f; i < rows; i++, at += features) {
      const x = column[i]!;
      if (x !== x) { data[at] = MISSING_BIN; continue; }
      let lo = 0;
      let hi = last;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (x <= uppers[mid]!) hi = mid;
        else lo = mid + 1;
      }
      data[at] = lo;
    }
  });
  return { rows, features, data };
}

/** The float32 threshold of the split "bin ≤ b". */
export function thresholdOf(bins: FeatureBins, bin: number): number {
  return bin >= bins.uppers.length - 1 ? FLOAT32_MAX : bins.uppers[bin]!;
}

/**
 * Sums gradients, hessians and counts per (feature, bin) over `rows[start, end)`, into `hist`
 * laid out as `[(feature·256 + bin)·3 + {0: grad, 1: hess, 2: count}]`. Row by row, so each
 * row's bins are read from one cache line however scattered the node's rows are.
 */
export function buildHistogram(hist: Float64Array, binned: BinnedMatrix, rows: Uint32Array, start: number, end: number, gradHess: Float64Array): void {
  hist.fill(0);
  const { data, features } = binned;
  for (let k = start; k < end; k++) {
    const i = rows[k]!;
    const g = gradHess[2 * i]!;
    const h = gradHess[2 * i + 1]!;
    const at = i * features;
    for (let f = 0, base = 0; f < features; f++, base += HISTOGRAM_SLOTS * 3) {
      const slot = base + data[at + f]! * 3;
      hist[slot]! += g;
      hist[slot + 1]! += h;
      hist[slot + 2]! += 1;
    }
  }
}
