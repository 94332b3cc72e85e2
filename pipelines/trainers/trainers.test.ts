import { describe, expect, it } from 'vitest';
import { evaluateBinary, evaluateRegression, frameFromColumns, trainModel, type RoundMetrics, type TrainingFrame, type TrainOptions } from './index.ts';
import { syntheticData } from './testing/synthetic.ts';

const frame = (rows: number, seed: number, task: 'classification' | 'regression' = 'classification'): TrainingFrame => {
  const data = syntheticData({ rows, seed, task, noise: 2 });
  return frameFromColumns(data.columns, data.features, data.label);
};

const coded = (code: string, message?: RegExp) => expect.objectContaining({ code, ...(message ? { message: expect.stringMatching(message) } : {}) });

describe('trainers on a dataset with a nonlinear signal', () => {
  const train = frame(4000, 1);
  const valid = frame(1000, 2);
  const holdout = frame(3000, 3);

  it('GBDT beats logistic regression, and both beat the base rate', () => {
    const gbdt = trainModel(train, { trainer: 'gbdt', valid, params: { rounds: 150, learningRate: 0.1 } });
    const logreg = trainModel(train, { trainer: 'logreg' });
    const g = evaluateBinary(holdout.label, gbdt.predict(holdout));
    const l = evaluateBinary(holdout.label, logreg.predict(holdout));
    const p = g.baseRate;
    const baseLogloss = -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    expect(g.auc).toBeGreaterThan(l.auc + 0.1);
    expect(l.auc).toBeGreaterThan(0.55);
    expect(g.logloss).toBeLessThan(l.logloss);
    expect(l.logloss).toBeLessThan(baseLogloss);
    expect(gbdt.info).toMatchObject({ rows: 4000, validRows: 1000, loss: 'logloss' });
  });

  it('stops early when the validation loss stops improving, keeping the best round', () => {
    const progress: RoundMetrics[] = [];
    const model = trainModel(train, {
      trainer: 'gbdt', valid, params: { rounds: 400, learningRate: 0.5, earlyStoppingRounds: 5 },
      onProgress: (round, metrics) => { expect(round).toBe(progress.length + 1); progress.push(metrics); },
    });
    const { info } = model;
    expect(info.stoppedEarly).toBe(true);
    expect(info.rounds).toBeLessThan(400);
    expect(info.rounds).toBe(progress.length);
    expect(info.bestRound).toBe(info.rounds - 5);
    const losses = progress.map((m) => m.valid!);
    expect(info.validLoss).toBe(Math.min(...losses));
    expect(losses.indexOf(Math.min(...losses))).toBe(info.bestRound! - 1);
    // The kept model is the best round's: its validation loss is that round's (to float32 rounding).
    const kept = evaluateBinary(valid.label, model.predict(valid)).logloss;
    expect(kept).toBeCloseTo(info.validLoss!, 5);
  });

  it('regresses the nonlinear signal with squared error', () => {
    const model = trainModel(frame(4000, 1, 'regression'), { trainer: 'gbdt', task: 'regression', params: { rounds: 150 } });
    const test = frame(2000, 3, 'regression');
    const m = evaluateRegression(test.label, model.predict(test));
    expect(m.r2).toBeGreaterThan(0.8);
    expect(model.info).toMatchObject({ loss: 'rmse', rounds: 150, bestRound: 150, stoppedEarly: false });
  });
});

describe('determinism', () => {
  const train = frame(1500, 5);
  const gbdt = (seed: number): TrainOptions => ({ trainer: 'gbdt', seed, params: { rounds: 20, subsample: 0.8 } });

  it('gives byte-identical ONNX for the same seed and a different model for another seed', () => {
    const first = trainModel(train, gbdt(7)).toOnnx().bytes;
    expect(trainModel(train, gbdt(7)).toOnnx().bytes).toEqual(first);
    expect(trainModel(train, gbdt(8)).toOnnx().bytes).not.toEqual(first);
    expect(trainModel(train, { trainer: 'logreg' }).toOnnx().bytes).toEqual(trainModel(train, { trainer: 'logreg' }).toOnnx().bytes);
  });

  it('records the resolved parameters as plain JSON', () => {
    const model = trainModel(train, gbdt(7));
    expect(JSON.parse(JSON.stringify(model.params))).toEqual(model.params);
    expect(model.params).toMatchObject({ seed: 7, subsample: 0.8, rounds: 20, maxDepth: 6, learningRate: 0.1 });
    expect(trainModel(train, { trainer: 'logreg', params: { l2: 3 } }).params).toMatchObject({ l2: 3 });
  });
});

describe('bad input', () => {
  const features = [{ name: 'x', dtype: 'float64' }];
  const tiny = (labels: unknown[]): TrainingFrame => frameFromColumns({ x: labels.map((_, i) => i), y: labels }, features, 'y');

  it('refuses empty frames, constant labels and unknown trainers with coded errors', () => {
    expect(() => trainModel(tiny([]), { trainer: 'gbdt' })).toThrow(coded('LARDER_E_INVALID_REQUEST', /no rows/));
    expect(() => trainModel(tiny([true, true, true]), { trainer: 'logreg' })).toThrow(coded('LARDER_E_INVALID_REQUEST', /constant/));
    expect(() => trainModel(tiny([0, 1]), { trainer: 'forest' as 'gbdt' })).toThrow(coded('LARDER_E_INVALID_REQUEST', /unknown trainer 'forest'/));
    expect(() => trainModel(tiny([0, 1]), { trainer: 'gbdt', task: 'ranking' as 'regression' })).toThrow(coded('LARDER_E_INVALID_REQUEST', /unknown task/));
    expect(() => trainModel(tiny([0, 1]), { trainer: 'logreg', task: 'regression' })).toThrow(coded('LARDER_E_INVALID_REQUEST', /classifiers only/));
  });

  it('refuses missing and non-binary labels, unusable dtypes and bad parameters', () => {
    expect(() => tiny([true, null])).toThrow(coded('LARDER_E_INVALID_REQUEST', /label 'y' is missing at row 1/));
    expect(() => trainModel(tiny([0, 2]), { trainer: 'gbdt' })).toThrow(coded('LARDER_E_INVALID_REQUEST', /0\/1/));
    expect(() => frameFromColumns({ v: [[1]] }, [{ name: 'v', dtype: 'array<float64>' }])).toThrow(coded('LARDER_E_INVALID_REQUEST', /cannot use/));
    expect(() => frameFromColumns({ x: [1] }, features, 'y')).toThrow(coded('LARDER_E_INVALID_REQUEST', /'y' is missing/));
    expect(() => trainModel(tiny([0, 1]), { trainer: 'gbdt', params: { maxLeaves: 1 } })).toThrow(coded('LARDER_E_INVALID_REQUEST', /maxLeaves/));
    expect(() => trainModel(tiny([0, 1]), { trainer: 'gbdt', params: { bins: 300 } })).toThrow(coded('LARDER_E_INVALID_REQUEST', /bins/));
    const typos = { max_depth: 3, rounds: '10', learningRate: 0.2 } as unknown as Record<string, number>;
    expect(() => trainModel(tiny([0, 1]), { trainer: 'gbdt', params: typos })).toThrow(coded('LARDER_E_INVALID_REQUEST', /gbdt: unknown parameter 'max_depth'; 'rounds' must be a number, got "10"/));
    expect(() => trainModel(tiny([0, 1]), { trainer: 'logreg', params: { rounds: 3 } as Record<string, number> })).toThrow(/logreg: unknown parameter 'rounds'/);
    expect(trainModel(tiny([0, 1, 0, 1]), { trainer: 'logreg', params: { seed: 3 } as Record<string, number> }).params).not.toHaveProperty('seed');
    const reserved = frameFromColumns({ probability: [1, 2], y: [0, 1] }, [{ name: 'probability', dtype: 'float64' }], 'y');
    expect(() => trainModel(reserved, { trainer: 'logreg' })).toThrow(coded('LARDER_E_INVALID_REQUEST', /reserved/));
    const twice = frameFromColumns({ x: [1, 2], y: [0, 1] }, [...features, ...features], 'y');
    expect(() => trainModel(twice, { trainer: 'gbdt' })).toThrow(coded('LARDER_E_INVALID_REQUEST', /appears twice/));
  });

  it('refuses to predict on a frame without the model features, and stops when aborted', () => {
    const model = trainModel(tiny([0, 1, 0, 1]), { trainer: 'logreg' });
    const other = frameFromColumns({ z: [1] }, [{ name: 'z', dtype: 'float64' }]);
    expect(() => model.predict(other)).toThrow(coded('LARDER_E_INVALID_REQUEST', /needs feature 'x'/));
    const controller = new AbortController();
    controller.abort();
    expect(() => trainModel(tiny([0, 1, 0, 1]), { trainer: 'gbdt', signal: controller.signal })).toThrow(coded('LARDER_E_ABORTED'));
  });
});
