/**
 * @module serving/predictor/v2
 * Open Inference Protocol (KServe V2) tensors ↔ raw tensors, checked against a version's
 * recorded ONNX signature: every graph input given once, by name, with the graph's datatype,
 * a shape that fits the declared one (fixed dims equal, symbolic dims free), and `data` holding
 * exactly the shape's element count of the right kind. Every problem is listed in one 400.
 */
import { larderError } from '../../errors.ts';
import type { OnnxValueInfo } from '../../registry/models/onnx.ts';
import type { V2Datatype, V2Tensor } from '../types.ts';
import type { RawTensor, RawTensorType } from './session.ts';

const TO_RAW: Readonly<Record<V2Datatype, RawTensorType>> = {
  FP32: 'float32', FP64: 'float64', INT64: 'int64', INT32: 'int32', BOOL: 'bool', BYTES: 'string',
};

const TO_V2: Readonly<Record<string, V2Datatype>> = {
  float32: 'FP32', float64: 'FP64', double: 'FP64', int64: 'INT64', int32: 'INT32', bool: 'BOOL', string: 'BYTES',
};

/** The V2 datatype of an ONNX element type (`float32` → `FP32`); the ONNX name when V2 has none. */
export function v2Datatype(onnxType: string): string {
  return TO_V2[onnxType] ?? onnxType.toUpperCase();
}

/** A declared ONNX shape as V2 metadata shows it: symbolic or open dims as -1. */
export function v2Shape(shape: OnnxValueInfo['shape']): number[] {
  return (shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

function problemsOfShape(tensor: V2Tensor, declared: OnnxValueInfo['shape']): string[] {
  const shape = tensor.shape as unknown;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) return [`input '${tensor.name}': shape must be a list of non-negative integers`];
  const problems: string[] = [];
  if (declared !== null) {
    if (declared.length !== shape.length) {
      problems.push(`input '${tensor.name}': shape [${shape.join(', ')}] has ${shape.length} dims, the model declares ${declared.length} ([${v2Shape(declared).join(', ')}])`);
    } else {
      declared.forEach((d, i) => {
        if (typeof d === 'number' && d >= 0 && d !== shape[i]) problems.push(`input '${tensor.name}': dim ${i} is ${String(shape[i])}, the model needs ${d}`);
      });
    }
  }
  const count = (shape as number[]).reduce((n, d) => n * d, 1);
  if (!Array.isArray(tensor.data)) problems.push(`input '${tensor.name}': data must be a flat list`);
  else if (tensor.data.length !== count) problems.push(`input '${tensor.name}': data has ${tensor.data.length} values, shape [${shape.join(', ')}] needs ${count}`);
  return problems;
}

/** The raw data of a V2 tensor, or why not (the first bad element). */
function rawData(type: RawTensorType, data: readonly unknown[]): RawTensor['data'] | string {
  const bad = (i: number, want: string): string => `element ${i} is ${JSON.stringify(data[i]) ?? String(data[i])}, not ${want}`;
  switch (type) {
    case 'string': {
      const out = new Array<string>(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (typeof v !== 'string') return bad(i, 'a string');
        out[i] = v;
      }
      return out;
    }
    case 'bool': {
      const out = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (typeof v === 'boolean') out[i] = v ? 1 : 0;
        else if (v === 0 || v === 1) out[i] = v;
        else return bad(i, 'a boolean');
      }
      return out;
    }
    case 'int64':
    case 'int32': {
      const out = type === 'int64' ? new BigInt64Array(data.length) : new Int32Array(data.length);
      // JSON numbers beyond 2^53 have lost digits already: refuse them rather than guess.
      const fits = type === 'int32' ? (v: number) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 : Number.isSafeInteger;
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (typeof v !== 'number' || !fits(v)) return bad(i, `an integer (${type})`);
        if (out instanceof BigInt64Array) out[i] = BigInt(v); else out[i] = v;
      }
      return out;
    }
    case 'float32':
    case 'float64': {
      const out = type === 'float32' ? new Float32Array(data.length) : new Float64Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        // JSON has no NaN: null stands for a missing value.
        if (typeof v === 'number') out[i] = v;
        else if (v === null) out[i] = Number.NaN;
        else return bad(i, 'a number');
      }
      return out;
    }
  }
}

/**
 * The feeds for a graph from V2 input tensors.
 * @throws LARDER_E_INVALID_REQUEST listing every problem (unknown, missing or duplicate inputs; datatypes; shapes; data)
 */
export function feedsFromV2(inputs: readonly V2Tensor[], signature: readonly OnnxValueInfo[]): Record<string, RawTensor> {
  if (!Array.isArray(inputs)) throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'inputs must be a list of tensors' });
  const declared = new Map(signature.map((s) => [s.name, s]));
  const problems: string[] = [];
  const feeds: Record<string, RawTensor> = {};
  for (const tensor of inputs) {
    if (typeof tensor !== 'object' || tensor === null || typeof tensor.name !== 'string') {
      problems.push('every input needs a name, shape, datatype and data');
      continue;
    }
    const info = declared.get(tensor.name);
    if (info === undefined) {
      problems.push(`input '${tensor.name}' is not an input of the model (inputs: ${signature.map((s) => s.name).join(', ')})`);
      continue;
    }
    if (Object.hasOwn(feeds, tensor.name)) {
      problems.push(`input '${tensor.name}' is given twice`);
      continue;
    }
    const type = (TO_RAW as Readonly<Record<string, RawTensorType | undefined>>)[String(tensor.datatype)];
    const want = v2Datatype(info.type);
    if (type === undefined || tensor.datatype !== want) {
      problems.push(`input '${tensor.name}': datatype ${String(tensor.datatype)}, the model needs ${want}`);
      continue;
    }
    const shapeProblems = problemsOfShape(tensor, info.shape);
    if (shapeProblems.length > 0) {
      problems.push(...shapeProblems);
      continue;
    }
    const data = rawData(type, tensor.data);
    if (typeof data === 'string') {
      problems.push(`input '${tensor.name}': ${data}`);
      continue;
    }
    feeds[tensor.name] = { type, data, dims: [...tensor.shape] };
  }
  for (const s of signature) if (!Object.hasOwn(feeds, s.name) && !inputs.some((t) => t?.name === s.name)) problems.push(`input '${s.name}' is missing`);
  if (problems.length > 0) throw larderError('LARDER_E_INVALID_REQUEST', { reason: problems.join('; ') }, { details: problems });
  return feeds;
}

/** The output names to return: the requested ones (checked) or every output of the graph. */
export function outputNames(requested: readonly string[] | undefined, signature: readonly OnnxValueInfo[]): string[] {
  const all = signature.map((s) => s.name);
  if (requested === undefined || requested.length === 0) return all;
  if (!Array.isArray(requested) || !requested.every((r) => typeof r === 'string')) throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'outputs must be a list of output names' });
  const unknown = requested.filter((r) => !all.includes(r));
  if (unknown.length > 0) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `unknown output(s) ${unknown.join(', ')} (outputs: ${all.join(', ')})` });
  return [...new Set(requested)];
}

/** A raw output tensor as a V2 tensor (int64 as numbers, bool as booleans, NaN as null). */
export function v2FromRaw(name: string, tensor: RawTensor): V2Tensor {
  const datatype = TO_V2[tensor.type] as V2Datatype;
  let data: (number | string | boolean)[];
  if (tensor.type === 'bool') data = Array.from(tensor.data as Uint8Array, (v) => v !== 0);
  else if (tensor.type === 'string') data = [...(tensor.data as string[])];
  else if (tensor.type === 'int64') data = Array.from(tensor.data as BigInt64Array, (v) => Number(v));
  else data = Array.from(tensor.data as Float32Array | Float64Array | Int32Array, (v) => v);
  // JSON has no NaN or Infinity; null is the closest a client can parse.
  if (tensor.type === 'float32' || tensor.type === 'float64') data = data.map((v) => (Number.isFinite(v) ? v : null)) as (number | string | boolean)[];
  return { name, shape: [...tensor.dims], datatype, data };
}
