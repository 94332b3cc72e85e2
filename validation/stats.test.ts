import { describe, expect, it } from 'vitest';
import { chiSquareSurvival, chiSquareTest, gammaQ, kolmogorovSurvival, ksPValue, logGamma } from './stats.ts';

// Reference values from SciPy 1.17: scipy.special.kolmogorov and scipy.stats.chi2.sf.
describe('distributions', () => {
  it('Kolmogorov survival matches scipy.special.kolmogorov', () => {
    const known: [number, number][] = [[0.3, 0.9999906941986655], [0.5, 0.9639452436648751], [1.0, 0.26999967167735456],
      [1.36, 0.049485876755377876], [1.5, 0.022217962616525127], [2.0, 0.0006709252557796953]];
    for (const [lambda, q] of known) expect(kolmogorovSurvival(lambda), String(lambda)).toBeCloseTo(q, 12);
    expect(kolmogorovSurvival(0)).toBe(1);
  });

  it('chi-square survival matches scipy.stats.chi2.sf', () => {
    const known: [number, number, number][] = [[3.841458820694124, 1, 0.05], [1, 1, 0.31731050786291115], [10, 3, 0.01856613546304325],
      [18.307038053275146, 10, 0.05], [0.5, 7, 0.9994464813904249], [250, 200, 0.009379131668826098], [0.001, 2, 0.9995001249791693]];
    for (const [x, df, p] of known) expect(chiSquareSurvival(x, df) / p, `${x} ${df}`).toBeCloseTo(1, 10);
  });

  it('log-gamma and Q(a, x) agree with closed forms', () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    expect(gammaQ(1, 2)).toBeCloseTo(Math.exp(-2), 14);
  });

  it('KS p-value: small for a shifted sample, 1 for identical ones', () => {
    expect(ksPValue(0, 300, 200)).toBe(1);
    // SciPy ks_2samp(method='asymp') for D = 0.2333, n = 300, m = 200 gives 3.1e-6; Stephens' correction is close.
    const p = ksPValue(0.23333333333333334, 300, 200);
    expect(p).toBeGreaterThan(1e-6);
    expect(p).toBeLessThan(1e-5);
  });

  it('chi-square test of two count vectors', () => {
    expect(chiSquareTest([10, 20, 30], [10, 20, 30]).pValue).toBeCloseTo(1, 12);
    const r = chiSquareTest([50, 50, 0], [20, 80, 0]);
    expect(r.df).toBe(1);
    // 2×2 table [[50,50],[20,80]]: χ² = 19.78 without continuity correction (scipy chi2_contingency(correction=False)).
    expect(r.statistic).toBeCloseTo(19.780219780219781, 9);
  });
});
