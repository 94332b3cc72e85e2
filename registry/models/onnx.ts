/**
 * @module registry/models/onnx
 * Reads what the registry needs from an ONNX ModelProto without onnxruntime: IR version, opsets,
 * producer, and the graph's inputs and outputs (name, element type, shape with symbolic dims).
 * Field numbers follow onnx/onnx.proto3. Graph inputs that are also initializers are weights,
 * not inputs (IR < 4 lists them in both), so they are left out of the signature. Bytes that are
 * not a usable model are refused with LARDER_E_MODEL_INVALID naming what was wrong.
 */
import { larderError } from '../../errors.ts';
import { bytesOf, intOf, ProtobufError, readFields, stringOf, type Field } from './protobuf.ts';

/** ONNX TensorProto.DataType by number, named as Larder names dtypes. */
export const ONNX_ELEM_TYPES = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128',
  16: 'bfloat16',
} as const;

export type OnnxElemType = (typeof ONNX_ELEM_TYPES)[keyof typeof ONNX_ELEM_TYPES];

/** A dimension: a fixed size, a symbolic name (`'N'`), or `null` when the model leaves it open. */
export type OnnxDim = number | string | null;

/** One graph input or output. */
export interface OnnxValueInfo {
  readonly name: string;
  /**
   * The element type for tensors; for other values a description such as
   * `seq(map(int64,float32))` (what skl2onnx's ZipMap outputs).
   */
  readonly type: string;
  /** Tensor shape; `null` when the model declares none or the value is not a tensor. */
  readonly shape: readonly OnnxDim[] | null;
}

export interface OnnxOpset {
  /** `''` is the default ONNX domain (`ai.onnx`). */
  readonly domain: string;
  readonly version: number;
}

export interface OnnxModelInfo {
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly opsets: readonly OnnxOpset[];
  /** The default-domain opset, or `null` when the model only imports other domains. */
  readonly opset: number | null;
  readonly graphName: string;
  readonly nodeCount: number;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

function elemTypeName(code: number): string {
  return (ONNX_ELEM_TYPES as Record<number, string>)[code] ?? `elem${code}`;
}

function readShape(bytes: Uint8Array): OnnxDim[] {
  return readFields(bytes).filter((f) => f.field === 1).map((dimField) => {
    let dim: OnnxDim = null;
    for (const f of readFields(bytesOf(dimField))) {
      if (f.field === 1) dim = intOf(f);
      else if (f.field === 2) dim = stringOf(f);
    }
    return dim;
  });
}

/** TypeProto → [type description, tensor shape]. */
function readType(bytes: Uint8Array): [string, OnnxDim[] | null] {
  for (const f of readFields(bytes)) {
    if (f.field === 1 || f.field === 8) {
      // tensor_type / sparse_tensor_type: { elem_type = 1, shape = 2 }
      let elem = 0;
      let shape: OnnxDim[] | null = null;
      for (const g of readFields(bytesOf(f))) {
        if (g.field === 1) elem = intOf(g);
        else if (g.field === 2) shape = readShape(bytesOf(g));
      }
      const name = elemTypeName(elem);
      return f.field === 1 ? [name, shape] : [`sparse(${name})`, shape];
    }
    if (f.field === 4 || f.field === 9) {
      // sequence_type / optional_type: { elem_type = 1 (TypeProto) }
      const inner = readFields(bytesOf(f)).find((g) => g.field === 1);
      const [desc] = inner ? readType(bytesOf(inner)) : ['unknown'];
      return [`${f.field === 4 ? 'seq' : 'optional'}(${desc})`, null];
    }
    if (f.field === 5) {
      // map_type: { key_type = 1 (elem type), value_type = 2 (TypeProto) }
      let key = 0;
      let value = 'unknown';
      for (const g of readFields(bytesOf(f))) {
        if (g.field === 1) key = intOf(g);
        else if (g.field === 2) [value] = readType(bytesOf(g));
      }
      return [`map(${elemTypeName(key)},${value})`, null];
    }
  }
  return ['unknown', null];
}

function readValueInfo(bytes: Uint8Array): OnnxValueInfo {
  let name = '';
  let type = 'unknown';
  let shape: OnnxDim[] | null = null;
  for (const f of readFields(bytes)) {
    if (f.field === 1) name = stringOf(f);
    else if (f.field === 2) [type, shape] = readType(bytesOf(f));
  }
  return { name, type, shape };
}

interface GraphParts {
  name: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: Set<string>;
  produced: Set<string>;
  nodeCount: number;
}

function readGraph(bytes: Uint8Array): GraphParts {
  const graph: GraphParts = { name: '', inputs: [], outputs: [], initializers: new Set(), produced: new Set(), nodeCount: 0 };
  for (const f of readFields(bytes)) {
    if (f.field === 1) {
      graph.nodeCount += 1;
      for (const g of readFields(bytesOf(f))) if (g.field === 2) graph.produced.add(stringOf(g));
    } else if (f.field === 2) graph.name = stringOf(f);
    else if (f.field === 5) {
      const nameField = readFields(bytesOf(f)).find((g) => g.field === 8);
      if (nameField) graph.initializers.add(stringOf(nameField));
    } else if (f.field === 11) graph.inputs.push(readValueInfo(bytesOf(f)));
    else if (f.field === 12) graph.outputs.push(readValueInfo(bytesOf(f)));
  }
  return graph;
}

function parseModel(bytes: Uint8Array): OnnxModelInfo | string {
  let irVersion = 0;
  let producerName = '';
  let producerVersion = '';
  const opsets: OnnxOpset[] = [];
  let graphField: Field | undefined;
  for (const f of readFields(bytes)) {
    if (f.field === 1) irVersion = intOf(f);
    else if (f.field === 2) producerName = stringOf(f);
    else if (f.field === 3) producerVersion = stringOf(f);
    else if (f.field === 7) graphField = f;
    else if (f.field === 8) {
      let domain = '';
      let version = 0;
      for (const g of readFields(bytesOf(f))) {
        if (g.field === 1) domain = stringOf(g);
        else if (g.field === 2) version = intOf(g);
      }
      opsets.push({ domain, version });
    }
  }
  if (irVersion <= 0) return 'no ir_version (field 1)';
  if (graphField === undefined) return 'no graph (field 7)';
  if (opsets.length === 0) return 'no opset_import (field 8)';
  const graph = readGraph(bytesOf(graphField));
  const inputs = graph.inputs.filter((i) => !graph.initializers.has(i.name));
  if (inputs.length === 0) return 'the graph has no inputs';
  if (graph.outputs.length === 0) return 'the graph has no outputs';
  const unnamed = [...inputs, ...graph.outputs].some((v) => v.name === '');
  if (unnamed) return 'a graph input or output has no name';
  const available = new Set([...graph.produced, ...graph.inputs.map((i) => i.name), ...graph.initializers]);
  const dangling = graph.outputs.find((o) => !available.has(o.name));
  if (dangling) return `output ${dangling.name} is produced by no node`;
  const defaultOpset = opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  return {
    irVersion, producerName, producerVersion, opsets, opset: defaultOpset?.version ?? null,
    graphName: graph.name, nodeCount: graph.nodeCount, inputs, outputs: graph.outputs,
  };
}

/**
 * Reads an ONNX model's header and signature.
 * @param what names the artifact in the error message (a path, or `"<name> artifact"`)
 * @throws LARDER_E_MODEL_INVALID when the bytes are not a well-formed ModelProto with a graph
 * @example readOnnxModel(await readFile('model.onnx'), 'model.onnx').inputs[0]
 *   // { name: 'X', type: 'float32', shape: ['N', 3] }
 */
export function readOnnxModel(bytes: Uint8Array, what = 'artifact'): OnnxModelInfo {
  if (bytes.length === 0) throw larderError('LARDER_E_MODEL_INVALID', { what, reason: 'it is empty' });
  let parsed: OnnxModelInfo | string;
  try {
    parsed = parseModel(bytes);
  } catch (error) {
    if (!(error instanceof ProtobufError)) throw error;
    throw larderError('LARDER_E_MODEL_INVALID', { what, reason: `not a protobuf ModelProto (${error.message})` }, { cause: error });
  }
  if (typeof parsed === 'string') throw larderError('LARDER_E_MODEL_INVALID', { what, reason: parsed });
  return parsed;
}
