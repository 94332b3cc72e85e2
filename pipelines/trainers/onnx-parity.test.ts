import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { tensorsFor, type FeatureColumns } from '../../registry/models/feeds.ts';
import { readOnnxModel } from '../../registry/models/onnx.ts';
import { frameFromColumns, trainModel, type TrainedModel, type TrainOptions } from './index.ts';
import { syntheticData, type SyntheticData } from './testing/synthetic.ts';

/** What onnxruntime predicts for the rows, fed exactly as serving feeds them. */
async function onnxPredict(model: TrainedModel, columns: FeatureColumns, n: number): Promise<Float32Array> {
  const { bytes, serving } = model.toOnnx();
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(tensorsFor(serving, columns, n))) {
      feeds[name] = t.type === 'string' ? new ort.Tensor('string', t.data as string[], t.dims) : new ort.Tensor('float32', t.data as Float32Array, t.dims);
    }
    const out = await session.run(feeds);
    const result = out[serving.output.name]!;
    expect(result.dims).toEqual([n, 1]);
    return result.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Training rows (every split threshold is a training value), fresh rows, and nasty rows. */
function testColumns(train: SyntheticData, fresh: SyntheticData): { columns: Record<string, unknown[]>; n: number } {
  const nasty: Record<string, unknown[]> = {
    a: [null, 0, -1, 1, 0.5, null, 0.3], b: [null, 0, 1, -1, -0.5, 0.25, -0.2],
    c: [null, null, 0, 3, -3, 1e6, Infinity], city: [null, '', 'Nowhere', 'sfo', 'SFO ', 'JFK', 'LAX'],
    count: [null, 0, 6, 5, 100, -1, 3], flag: [null, false, true, null, true, false, true],
    when: [null, new Date(0), new Date(Date.UTC(2026, 5, 1)), new Date(Date.UTC(2030, 0, 1)), null, new Date(Date.UTC(2026, 0, 1)), new Date(Date.UTC(2026, 3, 1))],
    noise0: [null, 0, 1, -1, 40, null, -Infinity],
  };
  const columns: Record<string, unknown[]> = {};
  for (const f of train.features) columns[f.name] = [...train.columns[f.name]!, ...fresh.columns[f.name]!, ...nasty[f.name]!];
  return { columns, n: columns['a']!.length };
}

async function expectParity(model: TrainedModel, columns: Record<string, unknown[]>, n: number): Promise<void> {
  const ts = model.predict(frameFromColumns(columns, model.features));
  const onnx = await onnxPredict(model, columns, n);
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(ts[i]! - onnx[i]!));
  expect(ts.every(Number.isFinite)).toBe(true);
  expect(worst).toBeLessThanOrEqual(1e-5);
}

const cases: { name: string; task: 'classification' | 'regression'; options: TrainOptions }[] = [
  { name: 'logistic regression', task: 'classification', options: { trainer: 'logreg' } },
  { name: 'GBDT, binary logloss', task: 'classification', options: { trainer: 'gbdt', params: { rounds: 60, maxLeaves: 15 } } },
  { name: 'GBDT, squared error', task: 'regression', options: { trainer: 'gbdt', task: 'regression', params: { rounds: 60, maxLeaves: 15 } } },
  { name: 'GBDT with few bins and subsampling', task: 'classification', options: { trainer: 'gbdt', seed: 3, params: { rounds: 30, bins: 8, subsample: 0.7, maxDepth: 3 } } },
];

describe('ONNX export parity with onnxruntime', () => {
  for (const { name, task, options } of cases) {
    it(`${name}: outputs equal within 1e-5, with nulls, unseen categories and threshold values`, async () => {
      const train = syntheticData({ rows: 2000, seed: 11, task, noise: 1 });
      const fresh = syntheticData({ rows: 500, seed: 12, task, noise: 1 });
      const model = trainModel(frameFromColumns(train.columns, train.features, 'label'), options);
      const { columns, n } = testColumns(train, fresh);
      await expectParity(model, columns, n);

      const { bytes, serving } = model.toOnnx();
      expect(serving.features).toEqual(train.features);
      expect(serving.inputs.map((i) => [i.input, i.features, i.type])).toEqual(
        train.features.map((f) => [f.name, [f.name], f.dtype === 'string' ? 'string' : 'float32']),
      );
      const signature = readOnnxModel(bytes);
      expect(signature.inputs.map((i) => [i.name, i.type])).toEqual(serving.inputs.map((i) => [i.input, i.type]));
      expect(signature.outputs.map((o) => o.name)).toEqual([serving.output.name]);
      expect(serving.output.name).toBe(task === 'classification' ? 'probability' : 'prediction');
    });
  }

  it('exports degenerate models: all-null columns and trees that cannot split', async () => {
    const n = 200;
    const columns = {
      x: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : i % 7)),
      empty: Array.from({ length: n }, () => null),
      tag: Array.from({ length: n }, () => null),
      label: Array.from({ length: n }, (_, i) => i % 3 === 0 || i % 7 > 4),
    };
    const features = [{ name: 'x', dtype: 'int32' }, { name: 'empty', dtype: 'float64' }, { name: 'tag', dtype: 'string' }];
    const frame = frameFromColumns(columns, features, 'label');
    // x's missingness carries the label, so "present vs missing" splits (threshold +Infinity) occur.
    const probe = { x: [null, 0, 4, 5, 6, 9, Infinity, -Infinity], empty: [null, 1, 2, 3, 4, 5, 6, 7], tag: ['a', null, '', 'b', 'c', 'd', 'e', 'f'] };
    for (const options of [
      { trainer: 'gbdt', params: { rounds: 5, minDataInLeaf: 150 } },
      { trainer: 'gbdt', params: { rounds: 5, minDataInLeaf: 5 } },
      { trainer: 'logreg' },
    ] satisfies TrainOptions[]) {
      await expectParity(trainModel(frame, options), probe, 8);
    }
  });
});
