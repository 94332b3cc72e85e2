import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failure } from '../testing/failure.ts';
import { tempDir, type TempDir } from '../testing/specs.ts';
import { buildOnnxModel, linearModel } from './onnx-build.ts';
import { loadModel } from './runtime.ts';
import type { ModelFeature, ModelServingSpec } from './serving-spec.ts';
import { openModelRegistry } from './store.ts';

const features: ModelFeature[] = [{ name: 'distance', dtype: 'float64' }, { name: 'late', dtype: 'bool' }];
const weights = [[0.002], [-1.5]];
const bias = 0.25;
const spec: ModelServingSpec = {
  task: 'classification', features, inputs: [{ input: 'X', features: ['distance', 'late'], type: 'float32' }], output: { name: 'Y' },
};
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** One float input per feature, concatenated: the layout Larder's trainers export. */
function perFeatureModel(): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'distance', type: 'float32', shape: ['N', 1] }, { name: 'late', type: 'float32', shape: ['N', 1] }],
    outputs: [{ name: 'probability', type: 'float32', shape: ['N', 1] }],
    initializers: [{ name: 'W', type: 'float32', dims: [2, 1], values: weights.flat() }, { name: 'B', type: 'float32', dims: [1], values: [bias] }],
    nodes: [
      { op: 'Concat', inputs: ['distance', 'late'], outputs: ['X'], attributes: { axis: 1 } },
      { op: 'MatMul', inputs: ['X', 'W'], outputs: ['XW'] },
      { op: 'Add', inputs: ['XW', 'B'], outputs: ['S'] },
      { op: 'Sigmoid', inputs: ['S'], outputs: ['probability'] },
    ],
  });
}

describe('loaded models', () => {
  let dir: TempDir;
  const open = () => openModelRegistry({ dir: dir.path });
  beforeEach(async () => { dir = await tempDir('runtime'); });
  afterEach(async () => { await dir.cleanup(); });

  it('scores feature columns through onnxruntime exactly as the spec says (bools 0/1, nulls NaN)', async () => {
    const models = open();
    await models.register({ name: 'm', artifact: linearModel({ weights, bias: [bias], activation: 'sigmoid' }), serving: spec, serviceFeatures: features });
    const model = await loadModel(models, 'm', 'latest');
    try {
      const out = await model.predict({ distance: [300, 1200, 0], late: [true, false, 1] }, 3);
      const expected = [sigmoid(0.6 - 1.5 + bias), sigmoid(2.4 + bias), sigmoid(-1.5 + bias)];
      expected.forEach((e, i) => expect(out[i]).toBeCloseTo(e, 6));
      const missing = await model.predict({ distance: [null], late: [false] }, 1);
      expect(Number.isNaN(missing[0])).toBe(true);
    } finally {
      await model.close();
    }
  });

  it('derives a spec for a bring-your-own model with one input per feature', async () => {
    const models = open();
    const { model: v } = await models.register({ name: 'byo', artifact: perFeatureModel(), serviceFeatures: features, featureService: 'svc', featureServiceVersion: 3 });
    expect(v.serving).toEqual({
      task: 'regression', features,
      inputs: [{ input: 'distance', features: ['distance'], type: 'float32' }, { input: 'late', features: ['late'], type: 'float32' }],
      output: { name: 'probability' },
    });
    expect(v.lineage).toMatchObject({ featureService: 'svc', featureServiceVersion: 3 });
    const model = await loadModel(models, 'byo', '1.0.0');
    expect(Array.from(await model.predict({ distance: [500], late: [false] }, 1))[0]).toBeCloseTo(sigmoid(1 + bias), 6);
    await model.close();
  });

  it('reads a scikit-learn-style classifier (one [N, F] input, int64 label, [N, 2] probabilities) at the positive class', async () => {
    const models = open();
    // What skl2onnx writes for a binary classifier with zipmap off: label first, probabilities second.
    const artifact = buildOnnxModel({
      inputs: [{ name: 'float_input', type: 'float32', shape: [null, 2] }],
      outputs: [{ name: 'output_label', type: 'int64', shape: [null] }, { name: 'output_probability', type: 'float32', shape: [null, 2] }],
      initializers: [
        { name: 'W', type: 'float32', dims: [2, 2], values: [0, weights[0]![0]!, 0, weights[1]![0]!] },
        { name: 'B', type: 'float32', dims: [2], values: [0, bias] },
      ],
      nodes: [
        { op: 'MatMul', inputs: ['float_input', 'W'], outputs: ['XW'] },
        { op: 'Add', inputs: ['XW', 'B'], outputs: ['S'] },
        { op: 'Softmax', inputs: ['S'], outputs: ['output_probability'], attributes: { axis: 1 } },
        { op: 'ArgMax', inputs: ['S'], outputs: ['output_label'], attributes: { axis: 1, keepdims: 0 } },
      ],
    });
    const { model: v } = await models.register({ name: 'sk', artifact, serviceFeatures: features });
    expect(v.serving).toMatchObject({ task: 'classification', inputs: [{ input: 'float_input', features: ['distance', 'late'] }], output: { name: 'output_probability', column: 1 } });
    const model = await loadModel(models, 'sk', 'latest');
    const [p] = Array.from(await model.predict({ distance: [300], late: [true] }, 1));
    expect(p).toBeCloseTo(sigmoid(0.6 - 1.5 + bias), 6);
    await model.close();
  });

  it('refuses a spec that does not fit the graph or the service, listing every problem', async () => {
    const models = open();
    const bad: ModelServingSpec = { ...spec, inputs: [{ input: 'X', features: ['distance'], type: 'float64' }], output: { name: 'nope' } };
    const error = await failure(models.register({ name: 'm', artifact: linearModel({ weights, bias: [bias] }), serving: bad, serviceFeatures: features }));
    expect(error.code).toBe('LARDER_E_MODEL_INVALID');
    const issues = (error.details as { issues: string[] }).issues;
    expect(issues.join('\n')).toMatch(/float32 in the graph but float64/);
    expect(issues.join('\n')).toMatch(/2 wide in the graph but fed 1/);
    expect(issues.join('\n')).toMatch(/'nope' is not an output/);
    const reordered = await failure(models.register({ name: 'm', artifact: linearModel({ weights, bias: [bias] }), serving: spec, serviceFeatures: [...features].reverse() }));
    expect(reordered.message).toMatch(/differ from the service/);
    const wide = await failure(models.register({ name: 'm', artifact: linearModel({ weights: [[1], [1], [1]], bias: [0] }), serviceFeatures: features }));
    expect(wide.message).toMatch(/3 wide in the graph but fed 2/);
    expect(await models.list()).toEqual([]);
  });

  it('a changed feature list is a major version; a corrupt artifact is refused at load', async () => {
    const models = open();
    await models.register({ name: 'm', artifact: linearModel({ weights, bias: [bias] }), serving: spec, serviceFeatures: features });
    const renamed = [{ name: 'miles', dtype: 'float64' }, features[1]!];
    const { model: v2 } = await models.register({
      name: 'm', artifact: linearModel({ weights, bias: [1] }), serviceFeatures: renamed,
      serving: { ...spec, features: renamed, inputs: [{ input: 'X', features: ['miles', 'late'], type: 'float32' }] },
    });
    expect(v2.version).toBe('2.0.0');
    const objects = join(dir.path, 'models', 'objects');
    const [file] = (await readdir(objects)).filter((f) => f.startsWith(v2.sha256));
    await writeFile(join(objects, file!), linearModel({ weights, bias: [9] }));
    expect((await failure(loadModel(models, 'm', '2.0.0'))).code).toBe('LARDER_E_MODEL_CORRUPT');
    expect((await failure(loadModel(models, 'm', 'champion'))).code).toBe('LARDER_E_MODEL_NOT_FOUND');
  });
});
