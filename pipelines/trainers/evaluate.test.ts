import { describe, expect, it } from 'vitest';
import { compareWithChampion, evaluateBinary, evaluateRegression, gateCandidate, rocAuc } from './evaluate.ts';
import { mulberry32 } from '../../random.ts';

/** P(score of a random positive > a random negative) + ½·P(tie), over all pairs. */
function bruteForceAuc(labels: number[], scores: number[]): number {
  let wins = 0, pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) wins++;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

describe('rocAuc', () => {
  it('matches the O(n²) pair count on random data full of ties', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = mulberry32(seed);
      const n = 50 + Math.floor(random() * 300);
      const labels = Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0));
      // Coarse scores: many ties, within and across classes; some correlated with the label.
      const scores = labels.map((y) => Math.round((random() + 0.3 * y) * (seed % 2 ? 5 : 50)) / 10);
      expect(rocAuc(labels, scores)).toBeCloseTo(bruteForceAuc(labels, scores), 12);
    }
  });

  it('is 0.5 when every score ties and NaN with a single class', () => {
    expect(rocAuc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3])).toBe(0.5);
    expect(rocAuc([1, 1], [0.2, 0.9])).toBeNaN();
  });
});

describe('evaluateBinary', () => {
  it('computes logloss, accuracy, base rate and reliability bins', () => {
    const labels = [0, 0, 1, 1, 1];
    const probabilities = [0.1, 0.6, 0.55, 0.95, 0.95];
    const m = evaluateBinary(labels, probabilities, { bins: 4 });
    expect(m.rows).toBe(5);
    expect(m.baseRate).toBeCloseTo(0.6);
    expect(m.accuracy).toBeCloseTo(4 / 5);
    const expected = -(Math.log(0.9) + Math.log(0.4) + Math.log(0.55) + 2 * Math.log(0.95)) / 5;
    expect(m.logloss).toBeCloseTo(expected, 12);
    expect(m.auc).toBeCloseTo(bruteForceAuc(labels, probabilities), 12);
    expect(m.calibration.map((b) => b.count)).toEqual([1, 0, 2, 2]);
    expect(m.calibration[1]).toEqual({ lo: 0.25, hi: 0.5, count: 0, meanPredicted: null, observedRate: null });
    expect(m.calibration[2]!.meanPredicted).toBeCloseTo(0.575);
    expect(m.calibration[2]!.observedRate).toBeCloseTo(0.5);
    expect(m.calibration[3]).toMatchObject({ lo: 0.75, hi: 1, count: 2, observedRate: 1 });
  });

  it('clips certain wrong predictions instead of returning Infinity', () => {
    const m = evaluateBinary([1, 0], [0, 1]);
    expect(m.logloss).toBeCloseTo(-Math.log(1e-15), 2);
    expect(m.calibration.reduce((s, b) => s + b.count, 0)).toBe(2);
  });

  it('refuses mismatched lengths, empty holdouts and non-binary labels', () => {
    expect(() => evaluateBinary([1], [0.1, 0.2])).toThrow(expect.objectContaining({ code: 'LARDER_E_INVALID_REQUEST' }));
    expect(() => evaluateBinary([], [])).toThrow(expect.objectContaining({ code: 'LARDER_E_INVALID_REQUEST' }));
    expect(() => evaluateBinary([2], [0.5])).toThrow(/0 or 1/);
  });
});

describe('evaluateRegression', () => {
  it('computes RMSE, MAE and R²', () => {
    const m = evaluateRegression([1, 2, 3, 4], [1.5, 2, 2, 4]);
    expect(m.rmse).toBeCloseTo(Math.sqrt((0.25 + 1) / 4), 12);
    expect(m.mae).toBeCloseTo(1.5 / 4, 12);
    expect(m.r2).toBeCloseTo(1 - 1.25 / 5, 12);
    expect(evaluateRegression([2, 2], [2, 3]).r2).toBeNaN();
  });
});

describe('gateCandidate', () => {
  it('passes without a champion and within the allowed AUC drop', () => {
    expect(gateCandidate({ auc: 0.7 }, undefined)).toMatchObject({ pass: true, delta: null });
    const within = gateCandidate({ auc: 0.801 }, { auc: 0.805 });
    expect(within.pass).toBe(true);
    expect(within.delta).toBeCloseTo(-0.004);
    const beyond = gateCandidate({ auc: 0.799 }, { auc: 0.805 });
    expect(beyond.pass).toBe(false);
    expect(beyond.reason).toMatch(/auc 0.799 is not ≥ 0.805 − 0.005/);
  });

  it('treats lower as better for logloss and RMSE', () => {
    expect(gateCandidate({ logloss: 0.50 }, { logloss: 0.48 }, { metric: 'logloss', maxDrop: 0.01 }).pass).toBe(false);
    expect(gateCandidate({ logloss: 0.485 }, { logloss: 0.48 }, { metric: 'logloss', maxDrop: 0.01 }).pass).toBe(true);
    expect(gateCandidate({ rmse: 1.0 }, { rmse: 1.2 }, { metric: 'rmse', maxDrop: 0 }).pass).toBe(true);
  });

  it('fails a candidate whose metric is undefined', () => {
    expect(gateCandidate({ auc: Number.NaN }, { auc: 0.6 }).pass).toBe(false);
    expect(gateCandidate({ rmse: 1 }, { rmse: 1 }).pass).toBe(false);
  });
});

describe('compareWithChampion', () => {
  it('scores both on the same holdout and gates on AUC by default', () => {
    const labels = [0, 0, 1, 1];
    const result = compareWithChampion({ task: 'classification', labels, candidate: [0.1, 0.4, 0.35, 0.8], champion: [0.1, 0.2, 0.3, 0.4] });
    expect(result.champion).toMatchObject({ auc: 1 });
    expect(result.candidate).toMatchObject({ auc: 0.75 });
    expect(result.gate).toMatchObject({ pass: false, delta: -0.25 });
    const regression = compareWithChampion({ task: 'regression', labels: [1, 2, 3], candidate: [1, 2, 3] });
    expect(regression.gate.pass).toBe(true);
  });
});
