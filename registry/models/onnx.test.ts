import { describe, expect, it } from 'vitest';
import { isLarderError, type LarderError } from '../../errors.ts';
import { buildOnnxModel, identityModel, linearModel } from './onnx-build.ts';
import { readOnnxModel } from './onnx.ts';

function refusal(fn: () => unknown): LarderError {
  try {
    fn();
  } catch (error) {
    if (isLarderError(error)) return error;
    throw error;
  }
  throw new Error('expected a LarderError');
}

const hex = (...parts: string[]) => Uint8Array.from(Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex'));
const ascii = (text: string) => Buffer.from(text, 'ascii').toString('hex');

/**
 * `Y = Identity(X)`, X: int64 ['N', 2], encoded by hand from onnx.proto's field numbers, so the
 * reader and the writer are both checked against something neither of them produced.
 */
const valueInfo = (name: string) => hex(
  '0a01', ascii(name), //          ValueInfoProto.name = 1
  '120f', '0a0d', //               .type = 2 → TypeProto.tensor_type = 1
  '0807', //                       Tensor.elem_type = 1: INT64 (7)
  '1209', '0a03', '1201', ascii('N'), '0a02', '0802', // .shape = 2: dim { dim_param 'N' }, dim { dim_value 2 }
);
const handModel = hex(
  '0808', //                                ModelProto.ir_version = 1: 8
  '1206', ascii('larder'), //               .producer_name = 2
  '1a05', ascii('0.1.0'), //                .producer_version = 3
  '3a54', //                                .graph = 7, 84 bytes:
  '0a1c', '0a01', ascii('X'), '1201', ascii('Y'), '1a0a', ascii('Identity_0'), '2208', ascii('Identity'), // node = 1
  '1208', ascii('identity'), //             GraphProto.name = 2
  '5a14', Buffer.from(valueInfo('X')).toString('hex'), // input = 11
  '6214', Buffer.from(valueInfo('Y')).toString('hex'), // output = 12
  '4204', '0a00', '100d', //                .opset_import = 8: { domain '', version 13 }
);

describe('ONNX reader', () => {
  it('reads a hand-encoded model: signature, opset, producer', () => {
    const info = readOnnxModel(handModel);
    expect(info).toEqual({
      irVersion: 8, producerName: 'larder', producerVersion: '0.1.0', opsets: [{ domain: '', version: 13 }], opset: 13,
      graphName: 'identity', nodeCount: 1,
      inputs: [{ name: 'X', type: 'int64', shape: ['N', 2] }],
      outputs: [{ name: 'Y', type: 'int64', shape: ['N', 2] }],
    });
  });

  it('the writer produces exactly the hand-encoded bytes', () => {
    expect(Buffer.from(identityModel({ name: 'X', type: 'int64', shape: ['N', 2] }))).toEqual(Buffer.from(handModel));
  });

  it('reads Y = X·W + b with weights as initializers, not inputs', () => {
    const info = readOnnxModel(linearModel({ weights: [[1], [2], [3]], bias: [0.5], activation: 'sigmoid' }, { producerName: 'trainer', domains: { 'ai.onnx.ml': 3 } }));
    expect(info.inputs).toEqual([{ name: 'X', type: 'float32', shape: ['N', 3] }]);
    expect(info.outputs).toEqual([{ name: 'Y', type: 'float32', shape: ['N', 1] }]);
    expect(info.nodeCount).toBe(3);
    expect(info.producerName).toBe('trainer');
    expect(info.opsets).toEqual([{ domain: '', version: 13 }, { domain: 'ai.onnx.ml', version: 3 }]);
  });

  it('leaves initializers listed among the inputs (IR < 4 style) out of the signature', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'X', type: 'float64', shape: [null, 2] }, { name: 'W', type: 'float64', shape: [2, 1] }],
      outputs: [{ name: 'Y', type: 'float64', shape: [null, 1] }],
      initializers: [{ name: 'W', type: 'float64', dims: [2, 1], values: [1, 2] }],
      nodes: [{ op: 'MatMul', inputs: ['X', 'W'], outputs: ['Y'] }],
    }, { irVersion: 3, opset: 9 });
    const info = readOnnxModel(bytes);
    expect(info.inputs).toEqual([{ name: 'X', type: 'float64', shape: [null, 2] }]);
    expect(info.irVersion).toBe(3);
    expect(info.opset).toBe(9);
  });

  it('reads string inputs and several inputs in order', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'carrier', type: 'string', shape: ['N', 1] }, { name: 'distance', type: 'float32', shape: ['N', 1] }],
      outputs: [{ name: 'd', type: 'float32', shape: ['N', 1] }],
      nodes: [{ op: 'Identity', inputs: ['distance'], outputs: ['d'] }],
    });
    expect(readOnnxModel(bytes).inputs.map((i) => `${i.name}:${i.type}`)).toEqual(['carrier:string', 'distance:float32']);
  });

  it('refuses bytes that are not a model, naming the artifact', () => {
    for (const bytes of [new Uint8Array(), Buffer.from('{"not":"onnx"}'), Buffer.from('PK\u0003\u0004 a zip file'), hex('0801')]) {
      const error = refusal(() => readOnnxModel(bytes, 'upload.onnx'));
      expect(error.code).toBe('LARDER_E_MODEL_INVALID');
      expect(error.status).toBe(400);
      expect(error.message).toContain('upload.onnx');
    }
  });

  it('refuses every truncation of a valid model', () => {
    const bytes = linearModel({ weights: [[1, 2], [3, 4]], bias: [0, 1] });
    for (let end = 0; end < bytes.length; end += 1) {
      expect(refusal(() => readOnnxModel(bytes.subarray(0, end))).code, `prefix ${end}`).toBe('LARDER_E_MODEL_INVALID');
    }
  });

  it('refuses a graph whose output no node produces', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'X', type: 'float32', shape: [1] }],
      outputs: [{ name: 'Z', type: 'float32', shape: [1] }],
      nodes: [{ op: 'Identity', inputs: ['X'], outputs: ['Y'] }],
    });
    expect(refusal(() => readOnnxModel(bytes)).message).toContain('output Z is produced by no node');
  });
});
