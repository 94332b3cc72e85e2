import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type FeatureStore } from '../../featurestore/store.ts';
import { createInlineRunner } from '../../pipelines/jobs/inline.ts';
import { retrainFlow } from '../../pipelines/retrain/flow.ts';
import { retrainStages } from '../../pipelines/retrain/stages.ts';
import { CHURN_BASE, createChurnProject } from '../../pipelines/retrain/testing/churn-project.ts';
import { tensorsFor } from '../../registry/models/feeds.ts';
import { loadModel } from '../../registry/models/runtime.ts';
import { hashApiKey } from '../config.ts';
import { createMetrics } from '../metrics.ts';
import { createPredictor, type LarderPredictor } from '../predictor/index.ts';
import { createGrpcClient, type GrpcCallError, type LarderGrpcClient } from './client.ts';
import { startGrpcServer, type GrpcServer } from './server.ts';
import { fromProtoStruct, toProtoStruct, type ProtoStruct } from './struct.ts';

const DAY = 86_400_000;
const DAYS = 8;
const NOW = CHURN_BASE + (DAYS - 1) * DAY + DAY / 2;

interface WirePrediction { id: string; output?: number; features: ProtoStruct; statuses: Record<string, string>; degraded: boolean }
interface WireTensor { name: string; datatype: string; shape: number[]; contents: Record<string, unknown[]> | null }

/** What the HTTP API's JSON makes of a value (Dates → ISO strings), to compare with Struct. */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

async function failure(promise: Promise<unknown>): Promise<GrpcCallError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (error === undefined) throw new Error('the call succeeded');
  return error as GrpcCallError;
}

describe('gRPC server over a real port, with the real predictor on a trained churn model', () => {
  let root: string;
  let store: FeatureStore;
  let predictor: LarderPredictor;
  let server: GrpcServer;
  let client: LarderGrpcClient;
  const metrics = createMetrics({ defaultMetrics: false });
  const runner = createInlineRunner(retrainStages(), { attempts: 1, backoffMs: 10 });
  const customers = Array.from({ length: 40 }, (_, i) => ({ customer_id: `c${i}` }));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'larder-grpc-'));
    const project = await createChurnProject(join(root, 'churn'), { customers: 150, days: DAYS });
    const setup = await openStore({ dir: project });
    await setup.apply();
    await setup.close();
    const trained = await runner.runFlow(retrainFlow({
      project, model: 'churn', service: 'churn', label: 'churned', trainer: 'gbdt', entities: 'data/entities.parquet', promote: true, trainerParams: { rounds: 15 },
    }));
    expect(trained.error).toBeUndefined();
    store = await openStore({ dir: project });
    await store.materialize({ end: new Date(NOW) });
    predictor = createPredictor(store, { now: () => NOW, log: false }, metrics.observer);
    server = await startGrpcServer({ predictor, port: 0, metrics });
    client = createGrpcClient(`127.0.0.1:${server.port}`);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await server?.close();
    await predictor?.close();
    await store?.close();
    await runner.close();
    await rm(root, { recursive: true, force: true });
  });

  it('Predict answers what the predictor answers for the same rows', async () => {
    const wire = await client.call<{ model: string; version: string; predictions: WirePrediction[] }>('larder', 'Predict', {
      model: 'churn', entities: customers.map(toProtoStruct), request_id: 'g1',
    });
    const direct = await predictor.predict({ model: 'churn', entities: customers, requestId: 'g1' });
    expect(wire.model).toBe('churn');
    expect(wire.version).toBe(direct.version);
    expect(wire.predictions).toHaveLength(customers.length);
    wire.predictions.forEach((p, i) => {
      const d = direct.predictions[i];
      expect(p.id).toBe(d?.id);
      expect(p.output).toBe(d?.output);
      expect(fromProtoStruct(p.features)).toEqual(asJson(d?.features));
      expect(p.statuses).toEqual(d?.statuses);
      expect(p.degraded).toBe(d?.degraded);
    });
    // Some spend values are null in the data: they travel as null_value, not as 0.
    expect(wire.predictions.some((p) => fromProtoStruct(p.features)['spend'] === null)).toBe(true);
  });

  it('GetFeatures answers what the predictor answers, statuses and event times included', async () => {
    const wire = await client.call<{ features: string[]; rows: { values: ProtoStruct; statuses: Record<string, string>; event_timestamps: ProtoStruct }[] }>('larder', 'GetFeatures', {
      service: 'churn', entities: [...customers, { customer_id: 'nobody' }].map(toProtoStruct),
    });
    const direct = await predictor.features({ service: 'churn', entities: [...customers, { customer_id: 'nobody' }] });
    expect(wire.features).toEqual(direct.features);
    expect(wire.rows.map((r) => ({ values: fromProtoStruct(r.values), statuses: r.statuses, eventTimestamps: fromProtoStruct(r.event_timestamps) })))
      .toEqual(asJson(direct.rows));
    expect(wire.rows.at(-1)?.statuses['spend']).toBe('NOT_FOUND');

    const byRef = await client.call<{ features: string[] }>('larder', 'GetFeatures', { features: ['customer_activity:plan'], entities: [toProtoStruct(customers[0] ?? {})], full_feature_names: true });
    expect(byRef.features).toEqual(['customer_activity__plan']);
  });

  it('ModelInfer equals running the model directly, with typed and with raw tensors', async () => {
    const version = await store.models().show('churn', 'champion');
    const spec = version.serving;
    if (spec === undefined) throw new Error('the trained model has no serving spec');
    const served = await predictor.predict({ model: 'churn', entities: customers });
    const columns = Object.fromEntries(spec.features.map((f) => [f.name, served.predictions.map((p) => p.features[f.name])]));
    const n = customers.length;
    const model = await loadModel(store.models(), 'churn', version.version);
    const expected = await model.predict(columns, n).finally(() => model.close());

    const datatypeOf = { float32: 'FP32', float64: 'FP64', int64: 'INT64', string: 'BYTES' } as const;
    const fieldOf = { float32: 'fp32_contents', float64: 'fp64_contents', int64: 'int64_contents', string: 'bytes_contents' } as const;
    const plain = tensorsFor(spec, columns, n);
    const inputs = Object.entries(plain).map(([name, t]) => ({
      name, datatype: datatypeOf[t.type], shape: [...t.dims],
      data: t.type === 'string' ? (t.data as string[]).map((s) => Buffer.from(s)) : Array.from(t.data as ArrayLike<number | bigint>, Number),
    }));
    const column = spec.output.column ?? 0;
    const outputOf = (outputs: WireTensor[], raw: Buffer[]): number[] => {
      const index = outputs.findIndex((o) => o.name === spec.output.name);
      const out = outputs[index];
      if (out === undefined) throw new Error(`no output ${spec.output.name}`);
      const width = out.shape.length >= 2 ? (out.shape[1] as number) : 1;
      let values: number[];
      if (raw.length > 0) {
        const bytes = raw[index] as Buffer;
        values = out.datatype === 'FP64' ? Array.from(new Float64Array(new Uint8Array(bytes).buffer)) : Array.from(new Float32Array(new Uint8Array(bytes).buffer));
      } else {
        values = (out.contents?.[out.datatype === 'FP64' ? 'fp64_contents' : 'fp32_contents'] ?? []) as number[];
      }
      return Array.from({ length: n }, (_, i) => values[i * width + column] as number);
    };

    const typed = await client.call<{ model_name: string; model_version: string; id: string; outputs: WireTensor[]; raw_output_contents: Buffer[] }>('inference', 'ModelInfer', {
      model_name: 'churn', id: 'inf-1', outputs: [{ name: spec.output.name }],
      inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, contents: { [fieldOf[plain[t.name]!.type]]: t.data } })),
    });
    expect(typed).toMatchObject({ model_name: 'churn', model_version: version.version, id: 'inf-1' });
    expect(typed.outputs.map((o) => o.name)).toEqual([spec.output.name]);
    outputOf(typed.outputs, typed.raw_output_contents).forEach((v, i) => expect(Math.abs(v - (expected[i] as number))).toBeLessThan(1e-6));

    const rawBytes = inputs.map((t) => {
      const tensor = plain[t.name]!;
      if (tensor.type !== 'string') return Buffer.from((tensor.data as Float32Array).buffer.slice(0));
      return Buffer.concat((tensor.data as string[]).flatMap((s) => { const b = Buffer.from(s); const len = Buffer.alloc(4); len.writeUInt32LE(b.length); return [len, b]; }));
    });
    const raw = await client.call<{ outputs: WireTensor[]; raw_output_contents: Buffer[] }>('inference', 'ModelInfer', {
      model_name: 'churn', model_version: version.version, inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })), raw_input_contents: rawBytes,
    });
    expect(raw.raw_output_contents.length).toBe(raw.outputs.length);
    outputOf(raw.outputs, raw.raw_output_contents).forEach((v, i) => expect(Math.abs(v - (expected[i] as number))).toBeLessThan(1e-6));
  });

  it('answers health and metadata calls', async () => {
    expect(await client.call('inference', 'ServerLive', {})).toEqual({ live: true });
    expect(await client.call('inference', 'ServerReady', {})).toEqual({ ready: true });
    expect(await client.call('inference', 'ModelReady', { name: 'churn' })).toEqual({ ready: true });
    expect(await client.call('inference', 'ModelReady', { name: 'nope' })).toEqual({ ready: false });
    const meta = await client.call<{ name: string; versions: string[]; platform: string; inputs: unknown[] }>('inference', 'ModelMetadata', { name: 'churn' });
    const direct = await predictor.metadata('churn');
    expect(meta).toEqual({ ...direct, inputs: direct.inputs.map((t) => ({ ...t })), outputs: direct.outputs.map((t) => ({ ...t })) });
  });

  it('maps errors to gRPC statuses with the Larder code in metadata', async () => {
    const unknown = await failure(client.call('larder', 'Predict', { model: 'nope', entities: [toProtoStruct({ customer_id: 'c1' })] }));
    expect(unknown.code).toBe(GrpcStatus.NOT_FOUND);
    expect(unknown.larderCode).toBe('LARDER_E_MODEL_NOT_FOUND');
    expect(unknown.larderError).toMatchObject({ error: { code: 'LARDER_E_MODEL_NOT_FOUND' } });
    expect((await failure(client.call('inference', 'ModelInfer', { model_name: 'nope', inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }] }))).code).toBe(GrpcStatus.NOT_FOUND);
    expect((await failure(client.call('inference', 'ModelMetadata', { name: 'nope' }))).code).toBe(GrpcStatus.NOT_FOUND);
    expect((await failure(client.call('larder', 'GetFeatures', { service: 'nope', entities: [toProtoStruct({ customer_id: 'c1' })] }))).larderCode).toBe('LARDER_E_UNKNOWN_SERVICE');

    const empty = await failure(client.call('larder', 'Predict', { model: 'churn', entities: [] }));
    expect([empty.code, empty.larderCode]).toEqual([GrpcStatus.INVALID_ARGUMENT, 'LARDER_E_INVALID_REQUEST']);
    const badKey = await failure(client.call('larder', 'Predict', { model: 'churn', entities: [toProtoStruct({ wrong: 1 })] }));
    expect(badKey.code).toBe(GrpcStatus.INVALID_ARGUMENT);

    // Bad tensors: a shape the data does not fill (caught on the wire), and inputs the model does not have.
    const short = await failure(client.call('inference', 'ModelInfer', { model_name: 'churn', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], contents: { fp32_contents: [1, 2] } }] }));
    expect([short.code, short.larderCode]).toEqual([GrpcStatus.INVALID_ARGUMENT, 'LARDER_E_INVALID_REQUEST']);
    const wrongInput = await failure(client.call('inference', 'ModelInfer', { model_name: 'churn', inputs: [{ name: 'not_an_input', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [1] } }] }));
    expect(wrongInput.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    const badType = await failure(client.call('inference', 'ModelInfer', { model_name: 'churn', inputs: [{ name: 'x', datatype: 'UINT8', shape: [1], contents: { uint_contents: [1] } }] }));
    expect(badType.code).toBe(GrpcStatus.INVALID_ARGUMENT);

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/larder_errors_total\{code="LARDER_E_MODEL_NOT_FOUND"\} [3-9]/);
    expect(text).toMatch(/larder_http_request_duration_seconds_count\{route="\/larder.v1.Larder\/Predict",method="GRPC",status="200",model="churn",version="1.0.0"\} [1-9]/);
    expect(text).toMatch(/larder_http_request_duration_seconds_count\{route="\/inference.GRPCInferenceService\/ModelInfer",method="GRPC",status="400",model="",version=""\} [1-9]/);
    expect(metrics.stats().models['churn']?.['1.0.0']?.requests).toBeGreaterThan(0);
  });

  it('checks API keys and scopes from the authorization metadata', async () => {
    const secured = await startGrpcServer({
      predictor, port: 0,
      apiKeys: [
        { name: 'app', hash: Buffer.from(hashApiKey('app-key'), 'hex'), scopes: ['predict'] },
        { name: 'ops', hash: Buffer.from(hashApiKey('ops-key'), 'hex'), scopes: ['admin'] },
      ],
    });
    const address = `127.0.0.1:${secured.port}`;
    const anonymous = createGrpcClient(address);
    const app = createGrpcClient(address, { apiKey: 'app-key' });
    const ops = createGrpcClient(address, { apiKey: 'ops-key' });
    const wrong = createGrpcClient(address, { apiKey: 'nope' });
    try {
      const request = { model: 'churn', entities: [toProtoStruct({ customer_id: 'c1' })] };
      expect(await anonymous.call('inference', 'ServerLive', {})).toEqual({ live: true });
      expect((await failure(anonymous.call('larder', 'Predict', request))).code).toBe(GrpcStatus.UNAUTHENTICATED);
      expect((await failure(wrong.call('larder', 'Predict', request))).larderCode).toBe('LARDER_E_UNAUTHORIZED');
      expect(await app.call('larder', 'Predict', request)).toMatchObject({ model: 'churn' });
      const forbidden = await failure(app.call('larder', 'GetFeatures', { service: 'churn', entities: request.entities }));
      expect([forbidden.code, forbidden.larderCode]).toEqual([GrpcStatus.PERMISSION_DENIED, 'LARDER_E_FORBIDDEN']);
      expect(await ops.call('larder', 'GetFeatures', { service: 'churn', entities: request.entities })).toMatchObject({ features: ['spend', 'visits', 'plan'] });
    } finally {
      for (const c of [anonymous, app, ops, wrong]) c.close();
      await secured.close();
    }
  });

  it('close() lets a running call finish and then refuses new ones', async () => {
    const own = await startGrpcServer({ predictor, port: 0 });
    const c = createGrpcClient(`127.0.0.1:${own.port}`, { deadlineMs: 5000 });
    try {
      // The call is on the server (its metadata has been read) before close starts.
      const running = c.call<{ predictions: unknown[] }>('larder', 'Predict', { model: 'churn', entities: customers.map(toProtoStruct) });
      await c.call('inference', 'ServerLive', {});
      const closing = own.close();
      expect((await running).predictions).toHaveLength(customers.length);
      await closing;
      expect((await failure(c.call('inference', 'ServerLive', {}))).code).toBe(GrpcStatus.UNAVAILABLE);
    } finally {
      c.close();
      await own.close();
    }
  });
});
