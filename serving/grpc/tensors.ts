/**
 * @module serving/grpc/tensors
 * KServe V2 gRPC tensors ↔ Larder's `V2Tensor`: typed `InferTensorContents` fields, or
 * `raw_input_contents` / `raw_output_contents` (little-endian, row-major; each BYTES element
 * prefixed by its 4-byte little-endian length, as Triton and KServe write them). Every problem
 * of a request is reported at once as 400 `LARDER_E_INVALID_REQUEST`, which the server maps to
 * INVALID_ARGUMENT.
 */
import { larderError } from '../../errors.ts';
import type { InferRequest, InferResponse, V2Datatype, V2Tensor } from '../types.ts';

/** `InferTensorContents` as proto-loader represents it. */
export interface TensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: number[];
  uint_contents?: number[];
  uint64_contents?: number[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

/** A tensor of a `ModelInferRequest` / `ModelInferResponse` as proto-loader represents it. */
export interface WireTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents?: TensorContents | null;
}

/** A decoded `ModelInferRequest` (defaults filled in). */
export interface WireInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: WireTensor[];
  outputs: { name: string }[];
  raw_input_contents: Uint8Array[];
}

/** A `ModelInferResponse` to encode. */
export interface WireInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: WireTensor[];
  raw_output_contents: Buffer[];
}

type ContentsField = keyof TensorContents;

const FIELD: Readonly<Record<V2Datatype, ContentsField>> = {
  BOOL: 'bool_contents', INT32: 'int_contents', INT64: 'int64_contents', FP32: 'fp32_contents', FP64: 'fp64_contents', BYTES: 'bytes_contents',
};
const WIDTH: Readonly<Record<Exclude<V2Datatype, 'BYTES'>, number>> = { BOOL: 1, INT32: 4, INT64: 8, FP32: 4, FP64: 8 };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isDatatype(value: string): value is V2Datatype {
  return Object.hasOwn(FIELD, value);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function decodeRaw(datatype: V2Datatype, bytes: Uint8Array, count: number, problems: string[], what: string): V2Tensor['data'] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (datatype === 'BYTES') {
    const out: string[] = [];
    let at = 0;
    while (at < bytes.byteLength) {
      if (at + 4 > bytes.byteLength) { problems.push(`${what}: truncated BYTES length prefix`); return []; }
      const length = view.getUint32(at, true);
      at += 4;
      if (at + length > bytes.byteLength) { problems.push(`${what}: BYTES element overruns the buffer`); return []; }
      try { out.push(utf8.decode(bytes.subarray(at, at + length))); } catch { problems.push(`${what}: BYTES element ${out.length} is not valid UTF-8`); return []; }
      at += length;
    }
    if (out.length !== count) problems.push(`${what}: raw contents hold ${out.length} BYTES elements, the shape needs ${count}`);
    return out;
  }
  const width = WIDTH[datatype];
  if (bytes.byteLength !== count * width) {
    problems.push(`${what}: raw contents are ${bytes.byteLength} bytes, the shape needs ${count} × ${width}`);
    return [];
  }
  const out = new Array<number | boolean>(count);
  for (let i = 0; i < count; i++) {
    const at = i * width;
    switch (datatype) {
      case 'BOOL': out[i] = view.getUint8(at) !== 0; break;
      case 'INT32': out[i] = view.getInt32(at, true); break;
      case 'INT64': out[i] = Number(view.getBigInt64(at, true)); break;
      case 'FP32': out[i] = view.getFloat32(at, true); break;
      case 'FP64': out[i] = view.getFloat64(at, true); break;
    }
  }
  return out;
}

function decodeContents(datatype: V2Datatype, contents: TensorContents | null | undefined, count: number, problems: string[], what: string): V2Tensor['data'] {
  const field = FIELD[datatype];
  const values = contents?.[field] ?? [];
  if (values.length !== count) {
    const elsewhere = (Object.keys(FIELD) as V2Datatype[]).map((d) => FIELD[d]).filter((f) => f !== field && (contents?.[f]?.length ?? 0) > 0);
    problems.push(elsewhere.length > 0 && values.length === 0
      ? `${what}: ${datatype} data goes in contents.${field}, not ${elsewhere.join(', ')}`
      : `${what}: contents.${field} has ${values.length} elements, the shape needs ${count}`);
    return [];
  }
  if (datatype !== 'BYTES') return values as number[] | boolean[];
  const out: string[] = [];
  for (const [i, b] of (values as Uint8Array[]).entries()) {
    try { out.push(utf8.decode(b)); } catch { problems.push(`${what}: BYTES element ${i} is not valid UTF-8`); }
  }
  return out;
}

/** A decoded `ModelInferRequest` as the predictor's `InferRequest`; throws 400 listing every problem. */
export function inferRequestFromWire(wire: WireInferRequest, signal?: AbortSignal): InferRequest {
  const problems: string[] = [];
  if (wire.model_name === '') problems.push('model_name is required');
  if (wire.inputs.length === 0) problems.push('at least one input tensor is required');
  const raw = wire.raw_input_contents;
  if (raw.length > 0 && raw.length !== wire.inputs.length) problems.push(`raw_input_contents has ${raw.length} entries for ${wire.inputs.length} inputs`);
  const inputs: V2Tensor[] = [];
  for (const [i, t] of wire.inputs.entries()) {
    const what = `input ${JSON.stringify(t.name || String(i))}`;
    if (t.name === '') problems.push(`input ${i} has no name`);
    if (!isDatatype(t.datatype)) { problems.push(`${what}: datatype ${JSON.stringify(t.datatype)} is not one of ${Object.keys(FIELD).join(', ')}`); continue; }
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) { problems.push(`${what}: shape [${t.shape.join(', ')}] must be non-negative integers`); continue; }
    const count = elementCount(t.shape);
    const rawBytes = raw.length > 0 ? raw[i] : undefined;
    const data = rawBytes !== undefined
      ? decodeRaw(t.datatype, rawBytes, count, problems, what)
      : decodeContents(t.datatype, t.contents, count, problems, what);
    inputs.push({ name: t.name, shape: t.shape, datatype: t.datatype, data });
  }
  if (problems.length > 0) throw larderError('LARDER_E_INVALID_REQUEST', { reason: problems.join('; ') }, { details: problems });
  return {
    model: wire.model_name,
    ...(wire.model_version === '' ? {} : { version: wire.model_version }),
    ...(wire.id === '' ? {} : { id: wire.id }),
    inputs,
    ...(wire.outputs.length === 0 ? {} : { outputs: wire.outputs.map((o) => o.name) }),
    ...(signal === undefined ? {} : { signal }),
  };
}

function encodeRaw(t: V2Tensor): Buffer {
  if (t.datatype === 'BYTES') {
    const parts = t.data.map((v) => Buffer.from(String(v), 'utf8'));
    const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.length, 0));
    let at = 0;
    for (const p of parts) { out.writeUInt32LE(p.length, at); p.copy(out, at + 4); at += 4 + p.length; }
    return out;
  }
  const width = WIDTH[t.datatype];
  const out = Buffer.alloc(t.data.length * width);
  for (const [i, v] of t.data.entries()) {
    const at = i * width;
    switch (t.datatype) {
      case 'BOOL': out.writeUInt8(v === true || v === 1 ? 1 : 0, at); break;
      case 'INT32': out.writeInt32LE(Number(v), at); break;
      case 'INT64': out.writeBigInt64LE(BigInt(Math.trunc(Number(v))), at); break;
      case 'FP32': out.writeFloatLE(Number(v), at); break;
      case 'FP64': out.writeDoubleLE(Number(v), at); break;
    }
  }
  return out;
}

function encodeContents(t: V2Tensor): TensorContents {
  switch (t.datatype) {
    case 'BOOL': return { bool_contents: t.data.map((v) => v === true || v === 1) };
    case 'BYTES': return { bytes_contents: t.data.map((v) => Buffer.from(String(v), 'utf8')) };
    default: return { [FIELD[t.datatype]]: t.data.map(Number) };
  }
}

/** The predictor's `InferResponse` as a `ModelInferResponse`; raw outputs when `raw` (the request was raw). */
export function inferResponseToWire(response: InferResponse, raw: boolean): WireInferResponse {
  return {
    model_name: response.model_name,
    model_version: response.model_version,
    id: response.id ?? '',
    outputs: response.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape], ...(raw ? {} : { contents: encodeContents(t) }) })),
    raw_output_contents: raw ? response.outputs.map(encodeRaw) : [],
  };
}
