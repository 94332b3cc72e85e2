import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type FeatureStore } from '../../featurestore/store.ts';
import { batchPredict } from '../../pipelines/predict.ts';
import { sqlLiteral } from '../../featurestore/offline/sql.ts';
import { hashApiKey, resolveServeConfig, type ServeConfigInput } from '../config.ts';
import { createMetrics } from '../metrics.ts';
import { createPredictor, type LarderPredictor } from '../predictor/index.ts';
import { createGrpcClient } from '../grpc/client.ts';
import { toProtoStruct } from '../grpc/struct.ts';
import { startServer, type RunningServer } from '../serve.ts';
import { buildApp } from './app.ts';
import { createServedProject, type ServedProject } from './testing/served-project.ts';

/** Bad entity rows: the predictor's own check or the feature store's. */
const ENTITY_ROWS = /^LARDER_E_INVALID_(REQUEST|ENTITIES)$/;
/** A push source beside the churn model's features. */
const EVENTS = `import { entity, featureView, pushSource, t } from 'larder';
export const device = entity('device', { joinKeys: { device_id: t.int64() } });
export const deviceEvents = pushSource('device_events', { schema: { device_id: t.int64(), temp: t.float64(), ts: t.timestamp() }, timestamp: 'ts' });
export const deviceTemp = featureView('device_temp', { entities: [device], source: deviceEvents, ttl: '1d', features: { temp: t.float64() } });
`;
const KEYS = { ops: 'ops-secret', app: 'app-secret', feeder: 'feeder-secret' };

describe('larder serve over HTTP (real model, real port, real onnxruntime)', () => {
  let root: string;
  let project: ServedProject;
  let server: RunningServer;
  let store: FeatureStore;
  let predictor: LarderPredictor;
  const apps: FastifyInstance[] = [];

  /** Another app on the shared store and predictor, with its own config. */
  const appWith = async (overrides: ServeConfigInput): Promise<FastifyInstance> => {
    const app = await buildApp({ predictor, store, metrics: createMetrics({ defaultMetrics: false }), config: resolveServeConfig({ overrides }) });
    apps.push(app);
    return app;
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body) });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'larder-http-'));
    project = await createServedProject(join(root, 'churn'), { customers: 150, extraDefinitions: EVENTS });
    server = await startServer({ dir: project.dir, config: { port: 0, predictionLog: false } });
    store = await openStore({ dir: project.dir });
    predictor = createPredictor(store, { log: false });
  }, 60_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    await server?.close();
    await predictor?.close();
    await store?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('predicts over a real port what batch scoring computes for the same rows and time', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `c${i * 3}`);
    const res = await post('/v1/predict/churn', { entities: ids.map((customer_id) => ({ customer_id })) });
    expect(res.status).toBe(200);
    const body = await res.json() as { model: string; version: string; predictions: { id: string; output: number; features: Record<string, unknown>; statuses: Record<string, string>; degraded: boolean }[] };
    expect(body).toMatchObject({ model: 'churn', version: '1.0.0' });
    expect(body.predictions).toHaveLength(ids.length);
    for (const p of body.predictions) {
      expect(Object.keys(p.statuses).sort()).toEqual(['plan', 'spend', 'visits']);
      expect(p.statuses['visits']).toBe('PRESENT');
      expect(typeof p.output).toBe('number');
    }
    expect(new Set(body.predictions.map((p) => p.id)).size).toBe(ids.length);
    const pinned = await post('/v1/predict/churn@1.0.0', { entities: [{ customer_id: ids[0] }] });
    expect(((await pinned.json()) as { version: string; predictions: { output: number }[] }).predictions[0]!.output).toBe(body.predictions[0]!.output);

    // Offline: point-in-time features as of now (the newest snapshot), the same model session.
    const out = join(root, 'scored.parquet');
    const now = new Date();
    await batchPredict(store, { model: 'churn', entities: ids.map((customer_id) => ({ customer_id, event_timestamp: now })), out });
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      const rows = (await connection.runAndReadAll(`SELECT customer_id, probability FROM read_parquet(${sqlLiteral(out)})`)).getRowObjectsJS();
      const offline = new Map(rows.map((r) => [String(r['customer_id']), Number(r['probability'])]));
      body.predictions.forEach((p, i) => {
        expect(p.output).toBeCloseTo(offline.get(ids[i]!)!, 6);
      });
    } finally {
      connection.closeSync();
      db.closeSync();
    }
  });

  it('answers /v1/features with statuses and ISO event times', async () => {
    const res = await post('/v1/features', { service: 'churn', entities: [{ customer_id: 'c1' }, { customer_id: 'nobody' }] });
    expect(res.status).toBe(200);
    const body = await res.json() as { features: string[]; rows: { values: Record<string, unknown>; statuses: Record<string, string>; eventTimestamps: Record<string, string | null> }[] };
    expect(body.features).toEqual(['spend', 'visits', 'plan']);
    expect(body.rows[0]!.statuses['visits']).toBe('PRESENT');
    expect(body.rows[0]!.eventTimestamps['visits']).toBe(project.newest.toISOString());
    expect(body.rows[1]!.statuses['visits']).toBe('NOT_FOUND');
    expect(body.rows[1]!.eventTimestamps['visits']).toBeNull();
  });

  it('answers every bad request with a 4xx and a code, never a 5xx', async () => {
    const entities = (n: number) => Array.from({ length: n }, (_, i) => ({ customer_id: `c${i}` }));
    const cases: { name: string; path: string; body: string | Uint8Array; status: number; code: string | RegExp; headers?: Record<string, string> }[] = [
      { name: 'invalid JSON', path: '/v1/predict/churn', body: '{"entities": [', status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'invalid UTF-8', path: '/v1/predict/churn', body: new Uint8Array([...Buffer.from('{"entities":[{"customer_id":"'), 0xc3, 0x28, 0xff, ...Buffer.from('"}]}')]), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'prototype poisoning', path: '/v1/predict/churn', body: '{"__proto__":{"polluted":1},"entities":[{"customer_id":"c1"}]}', status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'malformed URL', path: '/v1/predict/%E0%A4%A', body: JSON.stringify({ entities: entities(1) }), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'JSON null body', path: '/v1/predict/churn', body: 'null', status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'no rows', path: '/v1/predict/churn', body: JSON.stringify({ entities: [] }), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'OIP tensor of the wrong kind', path: '/v2/models/churn/infer', body: JSON.stringify({ inputs: [{ name: 'spend', shape: [1, 1], datatype: 'FP32', data: ['a'] }] }), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'push target unknown', path: '/v1/push/device_events', body: JSON.stringify({ rows: [{ device_id: 1 }], to: 'nowhere' }), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'empty body', path: '/v1/predict/churn', body: '', status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'entities not a list', path: '/v1/predict/churn', body: JSON.stringify({ entities: 'c1' }), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'row not an object', path: '/v1/predict/churn', body: JSON.stringify({ entities: [42] }), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'version a number', path: '/v1/predict/churn', body: JSON.stringify({ entities: entities(1), version: 1 }), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'unknown property', path: '/v1/predict/churn', body: JSON.stringify({ entities: entities(1), extra: true }), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'key of the wrong type', path: '/v1/predict/churn', body: JSON.stringify({ entities: [{ customer_id: { nested: 1 } }] }), status: 400, code: ENTITY_ROWS },
      { name: 'missing join key', path: '/v1/predict/churn', body: JSON.stringify({ entities: [{ nope: 'c1' }] }), status: 400, code: ENTITY_ROWS },
      { name: 'unknown model', path: '/v1/predict/nope', body: JSON.stringify({ entities: entities(1) }), status: 404, code: 'LARDER_E_MODEL_NOT_FOUND' },
      { name: 'unknown version', path: '/v1/predict/churn', body: JSON.stringify({ entities: entities(1), version: '9.9.9' }), status: 404, code: 'LARDER_E_MODEL_NOT_FOUND' },
      { name: 'unknown feature', path: '/v1/features', body: JSON.stringify({ features: ['customer_activity:nope'], entities: entities(1) }), status: 404, code: 'LARDER_E_UNKNOWN_FEATURE' },
      { name: 'unknown service', path: '/v1/features', body: JSON.stringify({ service: 'nope', entities: entities(1) }), status: 404, code: 'LARDER_E_UNKNOWN_SERVICE' },
      { name: 'service and features', path: '/v1/features', body: JSON.stringify({ service: 'churn', features: ['customer_activity:spend'], entities: entities(1) }), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'unknown push source', path: '/v1/push/nope', body: JSON.stringify({ rows: [{ a: 1 }] }), status: 404, code: 'LARDER_E_UNKNOWN_SOURCE' },
      { name: '10,000 entities', path: '/v1/predict/churn', body: JSON.stringify({ entities: entities(10_000) }), status: 413, code: 'LARDER_E_PAYLOAD_TOO_LARGE' },
      { name: '10,000 entities for features', path: '/v1/features', body: JSON.stringify({ service: 'churn', entities: entities(10_000) }), status: 413, code: 'LARDER_E_PAYLOAD_TOO_LARGE' },
      { name: 'a 2 MiB body', path: '/v1/predict/churn', body: JSON.stringify({ entities: [{ customer_id: 'x'.repeat(2 * 1024 * 1024) }] }), status: 413, code: 'LARDER_E_PAYLOAD_TOO_LARGE' },
      { name: 'not JSON content', path: '/v1/predict/churn', body: 'entities=c1', status: 400, code: 'LARDER_E_INVALID_REQUEST', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      { name: 'unknown route', path: '/v1/nope', body: '{}', status: 404, code: 'LARDER_E_ROUTE_NOT_FOUND' },
      { name: 'OIP wrong datatype', path: '/v2/models/churn/infer', body: JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP16', data: [1] }] }), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
      { name: 'OIP data count', path: '/v2/models/churn/infer', body: JSON.stringify({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [1] }] }), status: 400, code: 'LARDER_E_INVALID_REQUEST' },
    ];
    const results = await Promise.all(cases.map(async (c) => {
      const res = await post(c.path, c.body, c.headers);
      return { name: c.name, status: res.status, body: await res.json() as { error?: { code: string; message: string } } };
    }));
    results.forEach((r, i) => {
      const c = cases[i]!;
      expect({ name: r.name, status: r.status, code: r.body.error?.code }).toEqual({ name: c.name, status: c.status, code: typeof c.code === 'string' ? c.code : expect.stringMatching(c.code) });
      expect(r.body.error?.message.length).toBeGreaterThan(0);
    });
    const validation = results.find((r) => r.name === 'version a number')!.body as unknown as { error: { details: { path: string }[] } };
    expect(validation.error.details.map((d) => d.path)).toContain('body.version');
  });

  it('pushes rows (ISO timestamps) that /v1/features then serves; bad rows are a 400 that writes nothing', async () => {
    const ts = new Date(Date.now() - 60_000).toISOString();
    const res = await post('/v1/push/device_events', { rows: [{ device_id: 7, temp: 21.5, ts }, { device_id: 8, temp: 19, ts }] });
    const body = await res.json() as { source: string; rows: number; online: { view: string }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ source: 'device_events', rows: 2 });
    expect(body.online.map((o) => o.view)).toEqual(['device_temp']);
    const read = await (await post('/v1/features', { features: ['device_temp:temp'], entities: [{ device_id: 7 }, { device_id: 8 }] })).json() as { rows: { values: Record<string, unknown>; eventTimestamps: Record<string, string> }[] };
    expect(read.rows.map((r) => r.values['temp'])).toEqual([21.5, 19]);
    expect(read.rows[0]!.eventTimestamps['temp']).toBe(ts);
    const bad = await post('/v1/push/device_events', { rows: [{ device_id: 9, temp: 'hot', ts }, { device_id: 7, temp: 30, ts }] });
    expect(bad.status).toBe(400);
    const again = await (await post('/v1/features', { features: ['device_temp:temp'], entities: [{ device_id: 7 }, { device_id: 9 }] })).json() as { rows: { values: Record<string, unknown> }[] };
    expect(again.rows.map((r) => r.values['temp'])).toEqual([21.5, null]);
  });

  it('checks API keys (bearer or x-api-key) and scopes; health and openapi stay open', async () => {
    const app = await appWith({ apiKeys: [
      { name: 'ops', sha256: hashApiKey(KEYS.ops), scopes: ['admin'] },
      { name: 'app', sha256: hashApiKey(KEYS.app), scopes: ['predict', 'features'] },
      { name: 'feeder', sha256: hashApiKey(KEYS.feeder), scopes: ['push'] },
    ] });
    const predict = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/v1/predict/churn', headers, payload: { entities: [{ customer_id: 'c1' }] } });
    const none = await predict({});
    expect([none.statusCode, none.json().error.code]).toEqual([401, 'LARDER_E_UNAUTHORIZED']);
    const wrong = await predict({ authorization: 'Bearer not-a-key' });
    expect([wrong.statusCode, wrong.json().error.code]).toEqual([401, 'LARDER_E_UNAUTHORIZED']);
    expect((await predict({ authorization: `Bearer ${KEYS.app}` })).statusCode).toBe(200);
    expect((await predict({ 'x-api-key': KEYS.app })).statusCode).toBe(200);
    expect((await predict({ 'x-api-key': KEYS.ops })).statusCode).toBe(200);
    const forbidden = await predict({ 'x-api-key': KEYS.feeder });
    expect([forbidden.statusCode, forbidden.json().error.code]).toEqual([403, 'LARDER_E_FORBIDDEN']);
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': KEYS.app } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': KEYS.ops } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/stats', headers: { authorization: `Bearer ${KEYS.ops}` } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v2/models/churn', headers: { 'x-api-key': KEYS.feeder } })).statusCode).toBe(403);
    const push = await app.inject({ method: 'POST', url: '/v1/push/nope', headers: { 'x-api-key': KEYS.feeder }, payload: { rows: [{ a: 1 }] } });
    expect(push.statusCode).toBe(404); // past auth: the source is unknown
    for (const url of ['/healthz', '/v2/health/live', '/v2/health/ready', '/docs/openapi.json']) {
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(200);
    }
  });

  it('limits requests per key with 429 and retry-after; keys have separate budgets', async () => {
    const app = await appWith({ rateLimit: { max: 3, timeWindow: '1m' }, apiKeys: [
      { name: 'a', sha256: hashApiKey('key-a'), scopes: ['features'] },
      { name: 'b', sha256: hashApiKey('key-b'), scopes: ['features'] },
    ] });
    const call = (key: string) => app.inject({ method: 'POST', url: '/v1/features', headers: { 'x-api-key': key }, payload: { service: 'churn', entities: [{ customer_id: 'c1' }] } });
    for (let i = 0; i < 3; i++) expect((await call('key-a')).statusCode).toBe(200);
    const limited = await call('key-a');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('LARDER_E_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await call('key-b')).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('serves the Open Inference Protocol: health, metadata, readiness and an infer round trip', async () => {
    const get = (path: string) => fetch(`${server.url}${path}`);
    expect(await (await get('/v2/health/live')).json()).toEqual({ live: true });
    expect(await (await get('/v2/health/ready')).json()).toEqual({ ready: true });
    const meta = await (await get('/v2/models/churn')).json() as { name: string; versions: string[]; platform: string; inputs: { name: string; datatype: string; shape: number[] }[] };
    expect(meta).toMatchObject({ name: 'churn', versions: ['1.0.0'], platform: 'onnxruntime_onnx' });
    expect(meta.inputs.length).toBeGreaterThan(0);
    expect((await get('/v2/models/churn/versions/1.0.0')).status).toBe(200);
    expect(await (await get('/v2/models/churn/ready')).json()).toMatchObject({ name: 'churn', ready: true });
    expect((await get('/v2/models/churn/versions/1.0.0/ready')).status).toBe(200);
    expect((await get('/v2/models/nope')).status).toBe(404);
    expect((await get('/v2/models/nope/ready')).status).toBe(404);
    expect((await get('/v2/models/churn/versions/9.9.9/ready')).status).toBe(404);

    // The served features of two rows, fed as raw tensors, give the served outputs.
    const served = await (await post('/v1/predict/churn', { entities: [{ customer_id: 'c5' }, { customer_id: 'c6' }] })).json() as { predictions: { output: number; features: Record<string, unknown> }[] };
    const version = await store.models().show('churn', 'champion');
    const spec = version.serving!;
    const inputs = spec.inputs.map((input) => {
      const datatype = input.type === 'string' ? 'BYTES' : input.type === 'float32' ? 'FP32' : input.type === 'float64' ? 'FP64' : input.type === 'int64' ? 'INT64' : 'FP32';
      const data = served.predictions.map((p) => [...input.features.map((f) => {
        const v = p.features[f];
        if (input.type === 'string') return v === null ? '' : String(v);
        return v === null ? 'NaN' : Number(v);
      })]);
      return { name: input.input, shape: [2, input.features.length], datatype, data };
    });
    const infer = await post('/v2/models/churn/versions/1.0.0/infer', { id: 'req-1', inputs: inputs.map((t) => ({ ...t, data: t.data.map((row) => row.map((v) => (v === 'NaN' ? Number.NaN : v))) })) });
    const inferBody = await infer.json() as { model_name: string; model_version: string; id: string; outputs: { name: string; datatype: string; shape: number[]; data: number[] }[] };
    expect(infer.status, JSON.stringify(inferBody)).toBe(200);
    expect(inferBody).toMatchObject({ model_name: 'churn', model_version: '1.0.0', id: 'req-1' });
    const output = inferBody.outputs.find((o) => o.name === spec.output.name)!;
    expect(output).toBeDefined();
    const perRow = output.data.length / 2;
    served.predictions.forEach((p, i) => {
      expect(output.data[i * perRow + (perRow - 1)]).toBeCloseTo(p.output, 5);
    });
  });

  it('starts the gRPC server beside HTTP when grpcPort is set, on the same predictor', async () => {
    const both = await startServer({ store, config: { port: 0, grpcPort: 0, predictionLog: false } });
    const client = createGrpcClient(`127.0.0.1:${both.grpcPort!}`);
    try {
      expect(both.grpcPort).toBeGreaterThan(0);
      const viaGrpc = await client.call<{ model: string; predictions: { output: number }[] }>('larder', 'Predict', { model: 'churn', entities: [toProtoStruct({ customer_id: 'c4' })] });
      const viaHttp = await (await fetch(`${both.url}/v1/predict/churn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entities: [{ customer_id: 'c4' }] }) })).json() as { predictions: { output: number }[] };
      expect(viaGrpc.model).toBe('churn');
      expect(viaGrpc.predictions[0]!.output).toBeCloseTo(viaHttp.predictions[0]!.output, 9);
    } finally {
      client.close();
      await both.close();
    }
    expect((await store.models().show('churn', 'champion')).version).toBe('1.0.0'); // the store stays open
  });

  it('documents every route in /docs/openapi.json', async () => {
    const doc = await (await fetch(`${server.url}/docs/openapi.json`)).json() as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>; components: { securitySchemes: Record<string, unknown> } };
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    expect(routes).toEqual([
      'GET /docs/openapi.json', 'GET /healthz', 'GET /metrics',
      'GET /v1/stats',
      'GET /v2/health/live', 'GET /v2/health/ready',
      'GET /v2/models/{name}', 'GET /v2/models/{name}/ready',
      'GET /v2/models/{name}/versions/{version}', 'GET /v2/models/{name}/versions/{version}/ready',
      'POST /v1/features', 'POST /v1/predict/{model}', 'POST /v1/push/{source}',
      'POST /v2/models/{name}/infer', 'POST /v2/models/{name}/versions/{version}/infer',
    ].sort());
    const predict = doc.paths['/v1/predict/{model}']!['post']!;
    expect(predict.requestBody).toBeDefined();
    expect(Object.keys(predict.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '413', '429']));
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'bearer']);
  });

  it('exports latency histograms with sub-millisecond buckets and per-model stats', async () => {
    await post('/v1/predict/churn', { entities: [{ customer_id: 'c2' }] });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/larder_http_request_duration_seconds_bucket\{le="0\.0001",route="\/v1\/predict\/:model",method="POST",status="200",model="churn",version="1\.0\.0"\}/);
    expect(text).toMatch(/larder_errors_total\{code="LARDER_E_INVALID_REQUEST"\} [1-9]/);
    expect(text).toMatch(/larder_http_request_duration_seconds_count\{route="unmatched",method="POST",status="404",model="",version=""\} [1-9]/);
    expect(text).toMatch(/larder_http_request_duration_seconds_count\{route="\/v1\/predict\/:model",method="POST",status="404",model="",version=""\} [1-9]/);
    const stats = await (await fetch(`${server.url}/v1/stats`)).json() as { models: Record<string, Record<string, { requests: number; p50: number; p99: number }>> };
    expect(stats.models['churn']!['1.0.0']!.requests).toBeGreaterThan(0);
    expect(stats.models['churn']!['1.0.0']!.p99).toBeGreaterThanOrEqual(stats.models['churn']!['1.0.0']!.p50);
    const health = await (await fetch(`${server.url}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, online: { type: 'memory', reachable: true } });
  });
});
