/**
 * @module registry/models/runtime
 * A registered version, loaded for inference: its artifact verified against its sha256, one
 * onnxruntime session created for it, and its serving spec applied to feature columns. Batch
 * scoring (`larder predict`) and serving both go through `LoadedModel.predict`, so they apply
 * exactly the same preprocessing. This is the only module that imports onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';
import { larderError, reasonOf } from '../../errors.ts';
import { predictionsFrom, tensorsFor, type FeatureColumns, type PlainTensor } from './feeds.ts';
import type { ModelServingSpec } from './serving-spec.ts';
import type { ModelRegistry } from './store.ts';
import type { ModelVersionView } from './types.ts';

export interface LoadOptions {
  /** onnxruntime intra-op threads; 1 (default) keeps serving latency predictable on small boxes. */
  readonly threads?: number;
}

/** A version ready to score rows. Close it to free the session. */
export interface LoadedModel {
  readonly name: string;
  readonly version: ModelVersionView;
  readonly spec: ModelServingSpec;
  /** One prediction per row (the positive class's probability for classifiers). */
  predict(columns: FeatureColumns, n: number): Promise<Float64Array>;
  close(): Promise<void>;
}

function toTensor(plain: PlainTensor): ort.Tensor {
  return plain.type === 'string'
    ? new ort.Tensor('string', plain.data as string[], plain.dims)
    : new ort.Tensor(plain.type, plain.data as Float32Array | Float64Array | BigInt64Array, plain.dims);
}

/** Creates an onnxruntime session from bytes; a graph it cannot load is LARDER_E_MODEL_INVALID. */
export async function createSession(bytes: Uint8Array, what: string, options: LoadOptions = {}): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, { intraOpNumThreads: options.threads ?? 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  } catch (error) {
    throw larderError('LARDER_E_MODEL_INVALID', { what, reason: `onnxruntime cannot load it (${reasonOf(error)})` }, { cause: error });
  }
}

/** Scores rows with a session and a spec (exported for models not in a registry, e.g. trainer tests). */
export async function runSession(session: ort.InferenceSession, spec: ModelServingSpec, columns: FeatureColumns, n: number): Promise<Float64Array> {
  if (n === 0) return new Float64Array(0);
  const plain = tensorsFor(spec, columns, n);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, tensor] of Object.entries(plain)) feeds[name] = toTensor(tensor);
  const result = await session.run(feeds, [spec.output.name]);
  const output = result[spec.output.name];
  if (output === undefined) throw larderError('LARDER_E_MODEL_INVALID', { what: 'output', reason: `the session returned no '${spec.output.name}'` });
  return predictionsFrom(output.data as ArrayLike<number | bigint>, output.dims, n, spec.output.column ?? 0);
}

/**
 * Loads `name@ref` (a version, an alias or `latest`) from the registry.
 * @throws LARDER_E_MODEL_NOT_FOUND, LARDER_E_MODEL_CORRUPT, LARDER_E_MODEL_INVALID (no serving spec, or unloadable)
 * @example const model = await loadModel(models, 'delay', 'champion'); await model.predict({ distance: [300] }, 1);
 */
export async function loadModel(registry: ModelRegistry, name: string, ref: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const version = await registry.show(name, ref);
  const spec = version.serving;
  const what = `${name}@${version.version}`;
  if (spec === undefined) {
    throw larderError('LARDER_E_MODEL_INVALID', { what, reason: 'it was registered without a feature service or serving spec, so Larder cannot feed it' });
  }
  const bytes = await registry.loadArtifact(name, version.version);
  const session = await createSession(bytes, what, options);
  return {
    name, version, spec,
    predict: (columns, n) => runSession(session, spec, columns, n),
    close: () => session.release(),
  };
}
