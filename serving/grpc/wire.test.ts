import { status as GrpcStatus } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { larderError } from '../../errors.ts';
import { hashApiKey, type ApiKey } from '../config.ts';
import { authorizeCall } from './auth.ts';
import { loadLarderServices } from './proto.ts';
import { grpcCodeFor, grpcFailure } from './status.ts';
import { fromProtoStruct, toProtoStruct } from './struct.ts';
import { inferRequestFromWire, inferResponseToWire, type WireInferRequest } from './tensors.ts';

/** Through the real protobuf encoding and back, as the server receives it. */
function throughWire<T>(method: 'ModelInfer' | 'Predict', kind: 'request' | 'response', message: object): T {
  const s = loadLarderServices();
  const def = method === 'Predict' ? s.larderService['Predict'] : s.inferenceService['ModelInfer'];
  if (def === undefined) throw new Error('no such method');
  return kind === 'request'
    ? def.requestDeserialize(def.requestSerialize(message)) as T
    : def.responseDeserialize(def.responseSerialize(message)) as T;
}

const wireRequest = (over: Partial<WireInferRequest>): WireInferRequest => throughWire('ModelInfer', 'request', { model_name: 'm', inputs: [], ...over });

describe('Struct mapping', () => {
  it('round-trips feature values through protobuf like the HTTP JSON would', () => {
    const values = { s: 'x', n: 1.5, i: 42, b: false, nul: null, d: new Date('2026-06-01T12:00:00.000Z'), nan: Number.NaN, big: 7n, list: [1, 'a', null], nested: { a: 1 } };
    const back = fromProtoStruct(throughWire<{ predictions: { features: never }[] }>('Predict', 'response', { predictions: [{ id: 'p', features: toProtoStruct(values) }] }).predictions[0]?.features);
    expect(back).toEqual(JSON.parse(JSON.stringify({ ...values, big: 7 })));
  });
});

describe('ModelInfer tensors', () => {
  it('decodes typed contents of every datatype', () => {
    const req = wireRequest({
      model_version: '2', id: 'r1', outputs: [{ name: 'y' }],
      inputs: [
        { name: 'f', datatype: 'FP32', shape: [2, 2], contents: { fp32_contents: [1.5, -2, 0.25, 8] } },
        { name: 'd', datatype: 'FP64', shape: [2], contents: { fp64_contents: [0.1, Number.NaN] } },
        { name: 'i', datatype: 'INT64', shape: [2], contents: { int64_contents: [-3, 9_007_199_254_740_991] } },
        { name: 'j', datatype: 'INT32', shape: [1], contents: { int_contents: [7] } },
        { name: 'b', datatype: 'BOOL', shape: [2], contents: { bool_contents: [true, false] } },
        { name: 's', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('ünï'), Buffer.from('')] } },
      ],
    });
    const decoded = inferRequestFromWire(req);
    expect(decoded).toMatchObject({ model: 'm', version: '2', id: 'r1', outputs: ['y'] });
    expect(decoded.inputs.map((t) => [t.name, t.datatype, t.shape, t.data])).toEqual([
      ['f', 'FP32', [2, 2], [1.5, -2, 0.25, 8]],
      ['d', 'FP64', [2], [0.1, Number.NaN]],
      ['i', 'INT64', [2], [-3, 9_007_199_254_740_991]],
      ['j', 'INT32', [1], [7]],
      ['b', 'BOOL', [2], [true, false]],
      ['s', 'BYTES', [2], ['ünï', '']],
    ]);
  });

  it('decodes raw_input_contents and answers raw when asked raw', () => {
    const f = Buffer.alloc(12);
    [1.5, -2, 3].forEach((v, i) => f.writeFloatLE(v, i * 4));
    const s = Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('ab'), Buffer.from([0, 0, 0, 0])]);
    const req = wireRequest({ inputs: [{ name: 'f', datatype: 'FP32', shape: [3, 1] }, { name: 's', datatype: 'BYTES', shape: [2] }], raw_input_contents: [f, s] });
    const decoded = inferRequestFromWire(req);
    expect(decoded.inputs.map((t) => t.data)).toEqual([[1.5, -2, 3], ['ab', '']]);

    const out = { model_name: 'm', model_version: '1', outputs: [{ name: 'y', shape: [3, 1], datatype: 'FP64' as const, data: [0.5, 1, -1] }, { name: 'l', shape: [2], datatype: 'BYTES' as const, data: ['ab', ''] }] };
    const raw = throughWire<{ raw_output_contents: Buffer[]; outputs: { contents: unknown }[] }>('ModelInfer', 'response', inferResponseToWire(out, true));
    expect(raw.outputs[0]?.contents).toBeNull();
    expect(raw.raw_output_contents[0]?.equals(Buffer.from(new Float64Array([0.5, 1, -1]).buffer))).toBe(true);
    expect(raw.raw_output_contents[1]?.equals(s)).toBe(true);
    const typed = throughWire<{ raw_output_contents: Buffer[]; outputs: { contents: { fp64_contents: number[] } }[] }>('ModelInfer', 'response', inferResponseToWire(out, false));
    expect(typed.raw_output_contents).toEqual([]);
    expect(typed.outputs[0]?.contents.fp64_contents).toEqual([0.5, 1, -1]);
  });

  it('reports every problem of a bad request at once as LARDER_E_INVALID_REQUEST', () => {
    const req = wireRequest({
      model_name: '',
      inputs: [
        { name: 'a', datatype: 'FP16', shape: [1], contents: {} },
        { name: 'b', datatype: 'FP32', shape: [2, 2], contents: { fp32_contents: [1, 2, 3] } },
        { name: 'c', datatype: 'FP32', shape: [1], contents: { fp64_contents: [1] } },
        { name: 'd', datatype: 'FP64', shape: [-1], contents: {} },
        { name: 'e', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from([0xff, 0xfe])] } },
      ],
    });
    let caught: unknown;
    try { inferRequestFromWire(req); } catch (error) { caught = error; }
    expect(caught).toMatchObject({ code: 'LARDER_E_INVALID_REQUEST', status: 400 });
    const problems = (caught as { details: string[] }).details;
    expect(problems).toHaveLength(6);
    expect(problems.join('\n')).toMatch(/model_name is required/);
    expect(problems.join('\n')).toMatch(/FP16/);
    expect(problems.join('\n')).toMatch(/fp32_contents has 3 elements, the shape needs 4/);
    expect(problems.join('\n')).toMatch(/FP32 data goes in contents.fp32_contents, not fp64_contents/);
    expect(problems.join('\n')).toMatch(/shape \[-1\]/);
    expect(problems.join('\n')).toMatch(/not valid UTF-8/);
  });

  it('refuses raw contents whose size does not match the shape', () => {
    expect(() => inferRequestFromWire(wireRequest({ inputs: [{ name: 'f', datatype: 'FP64', shape: [2] }], raw_input_contents: [Buffer.alloc(12)] }))).toThrow(/12 bytes, the shape needs 2 × 8/);
    expect(() => inferRequestFromWire(wireRequest({ inputs: [{ name: 's', datatype: 'BYTES', shape: [1] }], raw_input_contents: [Buffer.from([9, 0, 0, 0, 1])] }))).toThrow(/overruns/);
    expect(() => inferRequestFromWire(wireRequest({ inputs: [{ name: 'f', datatype: 'FP64', shape: [0] }, { name: 'g', datatype: 'FP64', shape: [0] }], raw_input_contents: [Buffer.alloc(0)] }))).toThrow(/1 entries for 2 inputs/);
  });
});

describe('errors and API keys', () => {
  it('maps Larder errors to gRPC statuses with the code in metadata', () => {
    expect([400, 401, 403, 404, 413, 429, 503, 500, 418].map(grpcCodeFor)).toEqual([
      GrpcStatus.INVALID_ARGUMENT, GrpcStatus.UNAUTHENTICATED, GrpcStatus.PERMISSION_DENIED, GrpcStatus.NOT_FOUND,
      GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.UNAVAILABLE, GrpcStatus.INTERNAL, GrpcStatus.INVALID_ARGUMENT,
    ]);
    const failure = grpcFailure(larderError('LARDER_E_MODEL_NOT_FOUND', { ref: 'nope@champion' }));
    expect(failure.error.code).toBe(GrpcStatus.NOT_FOUND);
    expect(failure.error.metadata?.get('larder-code')).toEqual(['LARDER_E_MODEL_NOT_FOUND']);
    expect(JSON.parse(String(failure.error.metadata?.get('larder-error-bin')[0]))).toEqual({ error: { code: 'LARDER_E_MODEL_NOT_FOUND', message: 'No model nope@champion' } });
    const internal = grpcFailure(new TypeError('secret detail'));
    expect(internal).toMatchObject({ larderCode: 'LARDER_E_INTERNAL', httpStatus: 500, error: { code: GrpcStatus.INTERNAL } });
    expect(internal.error.details).not.toContain('secret');
  });

  it('checks bearer keys against hashes and scopes', () => {
    const keys: ApiKey[] = [
      { name: 'app', hash: Buffer.from(hashApiKey('k-app'), 'hex'), scopes: ['predict'] },
      { name: 'ops', hash: Buffer.from(hashApiKey('k-ops'), 'hex'), scopes: ['admin'] },
    ];
    expect(authorizeCall([], undefined, 'predict')).toBeNull();
    expect(authorizeCall(keys, 'Bearer k-app', 'predict')).toBe('app');
    expect(authorizeCall(keys, 'bearer k-ops', 'features')).toBe('ops');
    expect(() => authorizeCall(keys, 'Bearer k-app', 'features')).toThrow(expect.objectContaining({ code: 'LARDER_E_FORBIDDEN' }));
    expect(() => authorizeCall(keys, undefined, 'predict')).toThrow(expect.objectContaining({ code: 'LARDER_E_UNAUTHORIZED' }));
    expect(() => authorizeCall(keys, 'Bearer nope', 'predict')).toThrow(expect.objectContaining({ code: 'LARDER_E_UNAUTHORIZED' }));
    expect(() => authorizeCall(keys, 'Basic k-app', 'predict')).toThrow(expect.objectContaining({ code: 'LARDER_E_UNAUTHORIZED' }));
  });
});
