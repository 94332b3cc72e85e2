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
  if (distinctCount === 0) return { uppers: Float32Array.of(Number.POSITIVE_INFINITY) };
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

/**
 * Binned features, row-major: row i's bin of feature f is `data[i·stride + f]`. The stride may
 * exceed the feature count (padding to whole 32-bit words lets a row move as a few words).
 */
export interface BinnedMatrix {
  readonly rows: number;
  readonly features: number;
  readonly stride: number;
  readonly data: Uint8Array;
}

/** Bins every column: a value goes to the first bin whose upper bound is ≥ it, the last bin above all. */
export function binColumns(columns: readonly Float32Array[], bins: readonly FeatureBins[], rows: number, stride = columns.length): BinnedMatrix {
  const features = columns.length;
  const binned = columns.map((column, f) => {
    const { uppers } = bins[f]!;
    const last = uppers.length - 1;
    // Bounds padded to 256 with +Infinity: a fixed eight-step search whose steps are
    // arithmetic, not branches (about 3× faster on unsorted data). It counts the bounds < x.
    const u = new Float32Array(HISTOGRAM_SLOTS).fill(Number.POSITIVE_INFINITY);
    u.set(uppers);
    const out = new Uint8Array(rows);
    for (let i = 0; i < rows; i++) {
      const x = column[i]!;
      if (x !== x) { out[i] = MISSING_BIN; continue; }
      let lo = +(x > u[127]!) * 128;
      lo += +(x > u[lo + 63]!) * 64;
      lo += +(x > u[lo + 31]!) * 32;
      lo += +(x > u[lo + 15]!) * 16;
      lo += +(x > u[lo + 7]!) * 8;
      lo += +(x > u[lo + 3]!) * 4;
      lo += +(x > u[lo + 1]!) * 2;
      lo += +(x > u[lo]!);
      out[i] = lo > last ? last : lo;
    }
    return out;
  });
  const data = new Uint8Array(rows * stride);
  binned.forEach((column, f) => { for (let i = 0, at = f; i < rows; i++, at += stride) data[at] = column[i]!; });
  return { rows, features, stride, data };
}

/**
 * The float32 threshold of the split "bin ≤ b". The last bin's is +Infinity: that split sends
 * every present value (infinities included, as in binning) left and only missing values right.
 */
export function thresholdOf(bins: FeatureBins, bin: number): number {
  return bin >= bins.uppers.length - 1 ? Number.POSITIVE_INFINITY : bins.uppers[bin]!;
}

/**
 * Sums gradients, hessians and counts per (feature, bin) over rows `[start, end)` of a binned
 * matrix, into `hist` laid out as `[(feature·256 + bin)·3 + {0: grad, 1: hess, 2: count}]`.
 * `stats` holds `(gradient, hessian, weight)` per row; weight 0 leaves a row out of the sample.
 * The rows of a node are contiguous (the trainer keeps them so), so this reads memory in order.
 */
export function buildHistogram(hist: Float64Array, binned: BinnedMatrix, stats: Float64Array, start: number, end: number): void {
  hist.fill(0);
  const { data, features, stride: rowBytes } = binned;
  const stride = HISTOGRAM_SLOTS * 3;
  for (let i = start; i < end; i++) {
    const g = stats[3 * i]!;
    const h = stats[3 * i + 1]!;
    const w = stats[3 * i + 2]!;
    let at = i * rowBytes;
    const stop = at + features;
    let base = 0;
    // Four features per step: fewer loop branches in the hottest loop of training.
    for (; at + 3 < stop; at += 4, base += 4 * stride) {
      let s = base + data[at]! * 3;
      hist[s]! += g; hist[s + 1]! += h; hist[s + 2]! += w;
      s = base + stride + data[at + 1]! * 3;
      hist[s]! += g; hist[s + 1]! += h; hist[s + 2]! += w;
      s = base + 2 * stride + data[at + 2]! * 3;
      hist[s]! += g; hist[s + 1]! += h; hist[s + 2]! += w;
      s = base + 3 * stride + data[at + 3]! * 3;
      hist[s]! += g; hist[s + 1]! += h; hist[s + 2]! += w;
    }
    for (; at < stop; at++, base += stride) {
      const s = base + data[at]! * 3;
      hist[s]! += g; hist[s + 1]! += h; hist[s + 2]! += w;
    }
  }
}
