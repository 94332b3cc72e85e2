import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLarderError } from '../../errors.ts';
import { openStore, type FeatureStore } from '../../featurestore/store.ts';
import { createChurnProject } from '../../pipelines/retrain/testing/churn-project.ts';
import { buildOnnxModel } from '../../registry/models/onnx-build.ts';
import type { InferRequest, V2Tensor } from '../types.ts';
import { createPredictor, type LarderPredictor } from './predictor.ts';

/** Every V2 datatype in and out: Y = X·[1, 10] (FP32), and the other inputs passed through or negated. */
function tinyModel(): Uint8Array {
  return buildOnnxModel({
    inputs: [
      { name: 'X', type: 'float32', shape: ['N', 2] },
      { name: 'K', type: 'int64', shape: ['N'] },
      { name: 'D', type: 'float64', shape: ['N'] },
      { name: 'I', type: 'int32', shape: ['N'] },
      { name: 'B', type: 'bool', shape: ['N'] },
      { name: 'S', type: 'string', shape: ['N'] },
    ],
    outputs: [
      { name: 'Y', type: 'float32', shape: ['N', 1] },
      { name: 'K_out', type: 'int64', shape: ['N'] },
      { name: 'D_out', type: 'float64', shape: ['N'] },
      { name: 'I_out', type: 'int32', shape: ['N'] },
      { name: 'B_out', type: 'bool', shape: ['N'] },
      { name: 'S_out', type: 'string', shape: ['N'] },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['X', 'W'], outputs: ['Y'] },
      { op: 'Identity', inputs: ['K'], outputs: ['K_out'] },
      { op: 'Neg', inputs: ['D'], outputs: ['D_out'] },
      { op: 'Identity', inputs: ['I'], outputs: ['I_out'] },
      { op: 'Not', inputs: ['B'], outputs: ['B_out'] },
      { op: 'Identity', inputs: ['S'], outputs: ['S_out'] },
    ],
    initializers: [{ name: 'W', type: 'float32', dims: [2, 1], values: [1, 10] }],
  });
}

const INPUTS: V2Tensor[] = [
  { name: 'X', shape: [3, 2], datatype: 'FP32', data: [1, 2, 3, 4, 0.5, -1] },
  { name: 'K', shape: [3], datatype: 'INT64', data: [1, -2, 9007199254740991] },
  { name: 'D', shape: [3], datatype: 'FP64', data: [0.1, -2.5, 1e300] },
  { name: 'I', shape: [3], datatype: 'INT32', data: [7, -8, 2147483647] },
  { name: 'B', shape: [3], datatype: 'BOOL', data: [true, false, true] },
  { name: 'S', shape: [3], datatype: 'BYTES', data: ['a', '', 'héllo'] },
];

function replace(name: string, tensor: Partial<V2Tensor>): V2Tensor[] {
  return INPUTS.map((t) => (t.name === name ? { ...t, ...tensor } as V2Tensor : t));
}

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!isLarderError(error)) throw new Error(`expected a LarderError, got ${String(error)}`);
  expect(error.status).toBe(400);
  return error.message;
}

describe('Open Inference Protocol inference (real onnxruntime, inline and in the worker pool)', () => {
  let root: string;
  let store: FeatureStore;
  let inline: LarderPredictor;
  let pooled: LarderPredictor;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'larder-infer-'));
    const project = await createChurnProject(join(root, 'p'), { customers: 5, days: 2 });
    store = await openStore({ dir: project });
    await store.models().register({ name: 'tiny', artifact: tinyModel() });
    inline = createPredictor(store, { log: false });
    pooled = createPredictor(store, { log: false, models: { tiny: { inference: 'pool' } } });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([inline?.close(), pooled?.close()]);
    await store?.close();
    await rm(root, { recursive: true, force: true });
  });

  it.each(['inline', 'pool'] as const)('runs every datatype through the graph and back (%s)', async (where) => {
    const predictor = where === 'inline' ? inline : pooled;
    const response = await predictor.infer({ model: 'tiny', version: '1.0.0', id: 'r1', inputs: INPUTS });
    expect(response).toMatchObject({ model_name: 'tiny', model_version: '1.0.0', id: 'r1' });
    const out = Object.fromEntries(response.outputs.map((t) => [t.name, t]));
    expect(Object.keys(out)).toEqual(['Y', 'K_out', 'D_out', 'I_out', 'B_out', 'S_out']);
    expect(out['Y']).toEqual({ name: 'Y', shape: [3, 1], datatype: 'FP32', data: [21, 43, -9.5] });
    expect(out['K_out']).toMatchObject({ datatype: 'INT64', data: [1, -2, 9007199254740991] });
    expect(out['D_out']).toMatchObject({ datatype: 'FP64', data: [-0.1, 2.5, -1e300] });
    expect(out['I_out']).toMatchObject({ datatype: 'INT32', data: [7, -8, 2147483647] });
    expect(out['B_out']).toMatchObject({ datatype: 'BOOL', data: [false, true, false] });
    expect(out['S_out']).toMatchObject({ datatype: 'BYTES', shape: [3], data: ['a', '', 'héllo'] });

    const some = await predictor.infer({ model: 'tiny', version: '1.0.0', inputs: INPUTS, outputs: ['S_out'] });
    expect(some.outputs.map((t) => t.name)).toEqual(['S_out']);
    expect(some).not.toHaveProperty('id');
  });

  it('refuses tensors that do not fit the signature with a 400 naming each problem', async () => {
    const infer = (inputs: readonly V2Tensor[], extra: Partial<InferRequest> = {}) => inline.infer({ model: 'tiny', version: '1.0.0', inputs, ...extra });
    expect(await reason(infer(replace('X', { datatype: 'FP64' })))).toMatch(/input 'X': datatype FP64, the model needs FP32/);
    expect(await reason(infer(INPUTS.filter((t) => t.name !== 'K')))).toMatch(/input 'K' is missing/);
    expect(await reason(infer([...INPUTS, { name: 'Z', shape: [1], datatype: 'FP32', data: [1] }]))).toMatch(/input 'Z' is not an input of the model/);
    expect(await reason(infer([...INPUTS, INPUTS[0]!]))).toMatch(/input 'X' is given twice/);
    expect(await reason(infer(replace('X', { shape: [2, 3] })))).toMatch(/input 'X': dim 1 is 3, the model needs 2/);
    expect(await reason(infer(replace('X', { shape: [6] })))).toMatch(/shape \[6\] has 1 dims, the model declares 2/);
    expect(await reason(infer(replace('X', { shape: [2, 2] })))).toMatch(/data has 6 values, shape \[2, 2\] needs 4/);
    expect(await reason(infer(replace('K', { data: [1, 2.5, 3] })))).toMatch(/input 'K': element 1 is 2.5, not an integer/);
    expect(await reason(infer(replace('I', { data: [1, 2, 2 ** 31] })))).toMatch(/input 'I': element 2 is 2147483648/);
    expect(await reason(infer(replace('S', { data: ['a', 1, 'c'] })))).toMatch(/input 'S': element 1 is 1, not a string/);
    expect(await reason(infer(replace('B', { data: [true, 'yes', false] })))).toMatch(/not a boolean/);
    expect(await reason(infer(replace('D', { data: [1, 'x', 3] })))).toMatch(/not a number/);
    expect(await reason(infer(replace('X', { datatype: 'FP16' as never })))).toMatch(/datatype FP16/);
    expect(await reason(infer(INPUTS, { outputs: ['nope'] }))).toMatch(/unknown output\(s\) nope/);
    expect(await reason(infer({} as never))).toMatch(/inputs must be a list/);
    // Several problems, one answer.
    const all = await reason(infer([...replace('X', { datatype: 'INT64' }).filter((t) => t.name !== 'S')]));
    expect(all).toMatch(/X.*S|S.*X/);
  });

  it('describes models, says which are ready, and refuses to predict with a graph it cannot feed', async () => {
    const meta = await inline.metadata('tiny');
    expect(meta).toMatchObject({ name: 'tiny', versions: ['1.0.0'], platform: 'onnxruntime_onnx' });
    expect(meta.inputs[0]).toEqual({ name: 'X', datatype: 'FP32', shape: [-1, 2] });
    expect(meta.outputs.find((o) => o.name === 'S_out')).toEqual({ name: 'S_out', datatype: 'BYTES', shape: [-1] });
    expect(await inline.modelReady('tiny', '1.0.0')).toBe(true);
    expect(await inline.modelReady('tiny')).toBe(false); // no champion deployed
    await expect(inline.infer({ model: 'tiny', inputs: INPUTS })).rejects.toMatchObject({ code: 'LARDER_E_MODEL_NOT_FOUND', status: 404 });
    await expect(inline.predict({ model: 'tiny', version: '1.0.0', entities: [{ customer_id: 'c1' }] })).rejects.toMatchObject({ code: 'LARDER_E_MODEL_INVALID', status: 400 });
  });
});
