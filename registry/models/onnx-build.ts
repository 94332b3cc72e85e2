/**
 * @module registry/models/onnx-build
 * Writes small ONNX models (ModelProto, IR 8, default opset 13) from plain descriptions: graph
 * inputs and outputs, nodes, and initializers stored as little-endian `raw_data`. It covers what
 * Larder's trainers export (linear layers, element-wise ops, tree ensembles via `ai.onnx.ml`
 * attributes) and what tests need; it does not type-check the graph — onnxruntime does that when
 * it loads the model.
 */
import { larderError } from '../../errors.ts';
import { ONNX_ELEM_TYPES, type OnnxDim, type OnnxElemType } from './onnx.ts';
import { MessageWriter } from './protobuf.ts';

export interface TensorValueSpec {
  readonly name: string;
  readonly type: OnnxElemType;
  /** Dims: a size, a symbolic name such as `'N'`, or `null` for an unnamed open dim. */
  readonly shape: readonly OnnxDim[];
}

/** A node attribute: an integral number is `i`, any other `f`; `{ float }` and `{ floats }` force floats. */
export type AttributeValue =
  | number
  | string
  | readonly number[]
  | readonly string[]
  | { readonly floats: readonly number[] }
  | { readonly float: number };

export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  /** `''` (default ONNX ops) or e.g. `'ai.onnx.ml'`. */
  readonly domain?: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface InitializerSpec {
  readonly name: string;
  readonly type: 'float32' | 'float64' | 'int64' | 'int32';
  readonly dims: readonly number[];
  readonly values: readonly number[];
}

export interface OnnxGraphSpec {
  readonly name?: string;
  readonly inputs: readonly TensorValueSpec[];
  readonly outputs: readonly TensorValueSpec[];
  readonly nodes: readonly NodeSpec[];
  readonly initializers?: readonly InitializerSpec[];
}

export interface OnnxModelOptions {
  /** Default-domain opset; 13 unless given. */
  readonly opset?: number;
  /** Further opset imports, e.g. `{ 'ai.onnx.ml': 3 }` for tree ensembles. */
  readonly domains?: Readonly<Record<string, number>>;
  readonly irVersion?: number;
  readonly producerName?: string;
  readonly producerVersion?: string;
}

const ELEM_CODES = new Map<string, number>(Object.entries(ONNX_ELEM_TYPES).map(([code, name]) => [name, Number(code)]));

function elemCode(type: string): number {
  const code = ELEM_CODES.get(type);
  if (code === undefined) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `unknown ONNX element type ${type}` });
  return code;
}

function writeValueInfo(m: MessageWriter, v: TensorValueSpec): void {
  m.string(1, v.name).message(2, (type) => type.message(1, (tensor) => {
    tensor.int(1, elemCode(v.type)).message(2, (shape) => {
      for (const dim of v.shape) {
        shape.message(1, (d) => {
          if (typeof dim === 'number') d.int(1, dim);
          else if (typeof dim === 'string') d.string(2, dim);
        });
      }
    });
  }));
}

function rawData(init: InitializerSpec): Uint8Array {
  const expected = init.dims.reduce((n, d) => n * d, 1);
  if (init.values.length !== expected) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `initializer ${init.name} has ${init.values.length} values for dims [${init.dims.join(', ')}]` });
  }
  const size = init.type === 'float32' || init.type === 'int32' ? 4 : 8;
  const buffer = new Uint8Array(init.values.length * size);
  const view = new DataView(buffer.buffer);
  init.values.forEach((value, i) => {
    if (init.type === 'float32') view.setFloat32(i * 4, value, true);
    else if (init.type === 'float64') view.setFloat64(i * 8, value, true);
    else if (init.type === 'int32') view.setInt32(i * 4, value, true);
    else view.setBigInt64(i * 8, BigInt(value), true);
  });
  return buffer;
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;
const ATTR_STRINGS = 8;

function writeAttribute(m: MessageWriter, name: string, value: AttributeValue): void {
  m.string(1, name);
  if (typeof value === 'number') {
    if (Number.isInteger(value)) m.int(3, value).int(20, ATTR_INT);
    else m.float32(2, value).int(20, ATTR_FLOAT);
  } else if (typeof value === 'string') {
    m.string(4, value).int(20, ATTR_STRING);
  } else if ('float' in value) {
    m.float32(2, value.float).int(20, ATTR_FLOAT);
  } else if ('floats' in value) {
    for (const f of value.floats) m.float32(7, f);
    m.int(20, ATTR_FLOATS);
  } else if (value.every((v): v is string => typeof v === 'string')) {
    for (const s of value) m.string(9, s);
    m.int(20, ATTR_STRINGS);
  } else {
    const ints = value as readonly number[];
    if (ints.every((v) => Number.isInteger(v))) {
      m.packedInts(8, ints).int(20, ATTR_INTS);
    } else {
      for (const f of ints) m.float32(7, f);
      m.int(20, ATTR_FLOATS);
    }
  }
}

/**
 * Serializes a graph as an ONNX ModelProto.
 * @example
 * buildOnnxModel({
 *   inputs: [{ name: 'X', type: 'float32', shape: ['N', 2] }],
 *   outputs: [{ name: 'Y', type: 'float32', shape: ['N', 2] }],
 *   nodes: [{ op: 'Identity', inputs: ['X'], outputs: ['Y'] }],
 * });
 */
export function buildOnnxModel(graph: OnnxGraphSpec, options: OnnxModelOptions = {}): Uint8Array {
  const model = new MessageWriter()
    .int(1, options.irVersion ?? 8)
    .string(2, options.producerName ?? 'larder')
    .string(3, options.producerVersion ?? '0.1.0');
  model.message(7, (g) => {
    graph.nodes.forEach((node, i) => {
      g.message(1, (n) => {
        for (const input of node.inputs) n.string(1, input);
        for (const output of node.outputs) n.string(2, output);
        n.string(3, node.name ?? `${node.op}_${i}`).string(4, node.op);
        for (const [name, value] of Object.entries(node.attributes ?? {})) n.message(5, (a) => writeAttribute(a, name, value));
        if (node.domain) n.string(7, node.domain);
      });
    });
    g.string(2, graph.name ?? 'larder');
    for (const init of graph.initializers ?? []) {
      g.message(5, (t) => t.packedInts(1, init.dims).int(2, elemCode(init.type)).string(8, init.name).bytes(9, rawData(init)));
    }
    for (const input of graph.inputs) g.message(11, (v) => writeValueInfo(v, input));
    for (const output of graph.outputs) g.message(12, (v) => writeValueInfo(v, output));
  });
  model.message(8, (o) => o.string(1, '').int(2, options.opset ?? 13));
  for (const [domain, version] of Object.entries(options.domains ?? {})) model.message(8, (o) => o.string(1, domain).int(2, version));
  return model.finish();
}

export interface LinearModelSpec {
  /** `weights[i][j]`: weight of input column i for output j (features × outputs). */
  readonly weights: readonly (readonly number[])[];
  /** One bias per output. */
  readonly bias: readonly number[];
  readonly inputName?: string;
  readonly outputName?: string;
  /** `'sigmoid'` turns the linear score into a probability (logistic regression). */
  readonly activation?: 'sigmoid';
}

/**
 * `Y = X·W + b` (optionally `sigmoid(...)`) on a float32 input `[N, features]`.
 * @example linearModel({ weights: [[0.5], [-1]], bias: [0.1], activation: 'sigmoid' })
 */
export function linearModel(spec: LinearModelSpec, options: OnnxModelOptions = {}): Uint8Array {
  const features = spec.weights.length;
  const outputs = spec.bias.length;
  if (features === 0 || spec.weights.some((row) => row.length !== outputs)) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `weights must be ${features || 'n'} × ${outputs} (one column per bias)` });
  }
  const x = spec.inputName ?? 'X';
  const y = spec.outputName ?? 'Y';
  const score = spec.activation === 'sigmoid' ? 'score' : y;
  return buildOnnxModel({
    name: 'linear',
    inputs: [{ name: x, type: 'float32', shape: ['N', features] }],
    outputs: [{ name: y, type: 'float32', shape: ['N', outputs] }],
    initializers: [
      { name: 'W', type: 'float32', dims: [features, outputs], values: spec.weights.flat() },
      { name: 'B', type: 'float32', dims: [outputs], values: spec.bias },
    ],
    nodes: [
      { op: 'MatMul', inputs: [x, 'W'], outputs: ['XW'] },
      { op: 'Add', inputs: ['XW', 'B'], outputs: [score] },
      ...(spec.activation === 'sigmoid' ? [{ op: 'Sigmoid', inputs: [score], outputs: [y] }] : []),
    ],
  }, options);
}

/** A model that returns its input unchanged: the smallest valid model of a given signature. */
export function identityModel(input: TensorValueSpec, outputName = 'Y', options: OnnxModelOptions = {}): Uint8Array {
  return buildOnnxModel({
    name: 'identity',
    inputs: [input],
    outputs: [{ ...input, name: outputName }],
    nodes: [{ op: 'Identity', inputs: [input.name], outputs: [outputName] }],
  }, options);
}
