/**
 * @module serving/predictor/session
 * Raw onnxruntime sessions for serving: plain tensors (`{ type, data, dims }`, typed arrays that
 * can cross a `worker_threads` boundary) in, plain tensors out, for any graph input and output.
 * The predict path feeds it what `tensorsFor` builds from a serving spec; the Open Inference
 * Protocol feeds it tensors decoded from V2 JSON. The session itself comes from
 * `registry/models/runtime.ts` (`createSession`), so models load with the same options as batch
 * scoring. In `serving/`, this is the only module that imports onnxruntime-node; the worker pool
 * runs it inside its threads.
 */
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { larderError, reasonOf } from '../../errors.ts';
import { createSession } from '../../registry/models/runtime.ts';

/** Element types a raw tensor may have (the V2 datatypes' onnxruntime counterparts). */
export type RawTensorType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'string';

/** The flat data of a raw tensor. */
export type RawTensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | string[];

/** A tensor as plain data: `data` flat and row-major; `bool` as 0/1 bytes. */
export interface RawTensor {
  readonly type: RawTensorType;
  readonly data: RawTensorData;
  readonly dims: readonly number[];
}

/** A run's outputs by name, and its CPU seconds as the session measured them. */
export interface RawRunResult {
  readonly outputs: Record<string, RawTensor>;
  readonly cpuSeconds?: number;
}

/** One onnxruntime session, run with plain tensors. */
export interface RawSession {
  /** Runs the graph; returns the `outputs` asked for, by name. */
  run(feeds: Readonly<Record<string, RawTensor>>, outputs: readonly string[]): Promise<RawRunResult>;
  release(): Promise<void>;
}

const RAW_TYPES: ReadonlySet<string> = new Set<RawTensorType>(['float32', 'float64', 'int64', 'int32', 'bool', 'string']);

function toOrt(name: string, tensor: RawTensor): ort.Tensor {
  const dims = [...tensor.dims];
  switch (tensor.type) {
    case 'string': return new ort.Tensor('string', tensor.data as string[], dims);
    case 'bool': return new ort.Tensor('bool', tensor.data as Uint8Array, dims);
    case 'float32': return new ort.Tensor('float32', tensor.data as Float32Array, dims);
    case 'float64': return new ort.Tensor('float64', tensor.data as Float64Array, dims);
    case 'int64': return new ort.Tensor('int64', tensor.data as BigInt64Array, dims);
    case 'int32': return new ort.Tensor('int32', tensor.data as Int32Array, dims);
    default: throw larderError('LARDER_E_INVALID_REQUEST', { reason: `input '${name}' has an unsupported tensor type` });
  }
}

function fromOrt(name: string, tensor: ort.Tensor): RawTensor {
  if (!RAW_TYPES.has(tensor.type)) {
    throw larderError('LARDER_E_MODEL_INVALID', { what: `output ${name}`, reason: `tensors of type ${tensor.type} cannot be returned` });
  }
  const type = tensor.type as RawTensorType;
  const data = tensor.data as RawTensorData;
  // Copied so the buffer is the tensor's own: it may be transferred to another thread.
  const own = Array.isArray(data) ? [...data] : data.slice();
  return { type, data: type === 'bool' ? new Uint8Array(own as ArrayLike<number>) : own, dims: tensor.dims.map(Number) };
}

/**
 * Wraps an onnxruntime session so it runs plain tensors, and measures each run's CPU time.
 *
 * onnxruntime-node runs the graph synchronously in a `setImmediate` it queues when `run` is
 * called; an immediate queued just before it marks the start, so the measurement covers the run
 * (and its output conversion), not whatever else the event loop did meanwhile.
 * `process.cpuUsage()` counts every thread of the process, so with one intra-op thread the run's
 * own wall time, which bounds its CPU time from above, is taken when smaller.
 */
export function rawSession(session: ort.InferenceSession, threads = 1): RawSession {
  return {
    async run(feeds, outputs) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrt(name, tensor);
      let result: ort.InferenceSession.ReturnType;
      let cpuAt = process.cpuUsage();
      let wallAt = performance.now();
      setImmediate(() => {
        cpuAt = process.cpuUsage();
        wallAt = performance.now();
      });
      try {
        result = await session.run(ortFeeds, [...outputs]);
      } catch (error) {
        // onnxruntime refuses feeds whose shapes or types the graph does not accept.
        throw larderError('LARDER_E_INVALID_REQUEST', { reason: `the model refused the inputs (${reasonOf(error)})` }, { cause: error });
      }
      const out: Record<string, RawTensor> = {};
      for (const name of outputs) {
        const tensor = result[name];
        if (tensor === undefined) throw larderError('LARDER_E_MODEL_INVALID', { what: 'output', reason: `the session returned no '${name}'` });
        out[name] = fromOrt(name, tensor);
      }
      const used = process.cpuUsage(cpuAt);
      const cpuSeconds = (used.user + used.system) / 1e6;
      const wallSeconds = (performance.now() - wallAt) / 1000;
      return { outputs: out, cpuSeconds: threads === 1 ? Math.min(cpuSeconds, wallSeconds) : cpuSeconds };
    },
    release: () => session.release(),
  };
}

/**
 * Loads ONNX bytes (already verified against their sha256) into a raw session.
 * @throws LARDER_E_MODEL_INVALID when onnxruntime cannot load them
 */
export async function openRawSession(bytes: Uint8Array, what: string, options: { threads?: number } = {}): Promise<RawSession> {
  return rawSession(await createSession(bytes, what, options.threads === undefined ? {} : { threads: options.threads }), options.threads ?? 1);
}
