import { describe, expect, it } from 'vitest';
import { binColumns, learnBins, MISSING_BIN, thresholdOf } from './histogram.ts';
import { mulberry32 } from '../../random.ts';

/** Random float32 columns with NaNs, heavy ties and outliers. */
function nastyColumn(seed: number, n: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: n }, () => {
    const u = random();
    if (u < 0.1) return Number.NaN;
    if (u < 0.4) return Math.floor(random() * 7);
    if (u < 0.42) return (random() - 0.5) * 1e30;
    return random() * 100 - 50;
  });
}

describe('histogram binning', () => {
  it('puts every value in the first bin whose upper bound is ≥ it, NaN in the missing bin', () => {
    for (const [seed, maxBins] of [[1, 255], [2, 16], [3, 2], [4, 255]] as const) {
      const column = nastyColumn(seed, 3000);
      const bins = learnBins(column, maxBins);
      expect(bins.uppers.length).toBeLessThanOrEqual(maxBins);
      const { data } = binColumns([column, column], [bins, bins], column.length, 4);
      const last = bins.uppers.length - 1;
      for (let i = 0; i < column.length; i++) {
        const x = column[i]!;
        let expected = MISSING_BIN;
        if (!Number.isNaN(x)) {
          expected = last;
          for (let b = 0; b < last; b++) if (bins.uppers[b]! >= x) { expected = b; break; }
        }
        expect(data[4 * i]).toBe(expected);
        expect(data[4 * i + 1]).toBe(expected);
      }
    }
  });

  it('makes "bin ≤ b" the same test as the float32 comparison x ≤ threshold(b), on any value', () => {
    const train = nastyColumn(5, 2000);
    const bins = learnBins(train, 32);
    const probe = Float32Array.from([...nastyColumn(6, 2000), ...bins.uppers, Infinity, -Infinity, 3.4028234663852886e38]);
    const binned = binColumns([probe], [bins], probe.length).data;
    for (let i = 0; i < probe.length; i++) {
      const x = probe[i]!;
      if (Number.isNaN(x)) continue;
      for (let b = 0; b < bins.uppers.length; b++) expect(binned![i]! <= b).toBe(x <= thresholdOf(bins, b));
    }
  });

  it('handles columns with no values and refuses bad bin counts', () => {
    const empty = learnBins(Float32Array.of(Number.NaN, Number.NaN), 255);
    expect(Array.from(binColumns([Float32Array.of(Number.NaN, 3)], [empty], 2).data)).toEqual([MISSING_BIN, 0]);
    expect(() => learnBins(Float32Array.of(1), 1)).toThrow(expect.objectContaining({ code: 'LARDER_E_INVALID_REQUEST' }));
    expect(() => learnBins(Float32Array.of(1), 256)).toThrow(/2 to 255/);
  });
});
