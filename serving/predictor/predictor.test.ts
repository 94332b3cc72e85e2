import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isLarderError } from '../../errors.ts';
import { openStore, type FeatureStore } from '../../featurestore/store.ts';
import { createInlineRunner } from '../../pipelines/jobs/inline.ts';
import { batchPredict } from '../../pipelines/predict.ts';
import { retrainFlow } from '../../pipelines/retrain/flow.ts';
import { retrainStages } from '../../pipelines/retrain/stages.ts';
import { CHURN_BASE, createChurnProject } from '../../pipelines/retrain/testing/churn-project.ts';
import { loadModel } from '../../registry/models/runtime.ts';
import type { ServingObserver } from '../types.ts';
import { createPredictor } from './predictor.ts';

const DAY = 86_400_000;
const DAYS = 8;
/** Half a day after the last snapshot: every materialized value is within the 3d ttl. */
const NOW = CHURN_BASE + (DAYS - 1) * DAY + DAY / 2;

/** An observer that keeps what it is told, for assertions on counts. */
function recorder() {
  const events = { batch: [] as Parameters<ServingObserver['batch']>[0][], prediction: [] as Parameters<ServingObserver['prediction']>[0][], onlineRead: [] as Parameters<ServingObserver['onlineRead']>[0][], statuses: [] as Parameters<ServingObserver['featureStatuses']>[0][] };
  const observer: ServingObserver = {
    batch: (e) => events.batch.push(e),
    prediction: (e) => events.prediction.push(e),
    onlineRead: (e) => events.onlineRead.push(e),
    featureStatuses: (e) => events.statuses.push(e),
  };
  return { events, observer };
}

async function expectCode(promise: Promise<unknown>, code: string, status?: number): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(isLarderError(error) ? error.code : error).toBe(code);
  if (status !== undefined && isLarderError(error)) expect(error.status).toBe(status);
}

describe('createPredictor on a trained churn model (real DuckDB, onnxruntime, registry)', () => {
  let root: string;
  let project: string;
  let store: FeatureStore;
  const runner = createInlineRunner(retrainStages(), { attempts: 1, backoffMs: 10 });
  const customers = Array.from({ length: 40 }, (_, i) => `c${i}`);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'larder-predictor-'));
    project = await createChurnProject(join(root, 'churn'), { customers: 150, days: DAYS });
    const setup = await openStore({ dir: project });
    await setup.apply();
    await setup.close();
    const trained = await runner.runFlow(retrainFlow({
      project, model: 'churn', service: 'churn', label: 'churned', trainer: 'gbdt', entities: 'data/entities.parquet',
      promote: true, trainerParams: { rounds: 20 },
    }));
    expect(trained.error).toBeUndefined();
    store = await openStore({ dir: project });
    await store.materialize({ end: new Date(NOW) });
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await runner.close();
    await rm(root, { recursive: true, force: true });
  });

  it('predicts what batch scoring predicts for the same entities at the same time, with features and statuses', async () => {
    const { events, observer } = recorder();
    const predictor = createPredictor(store, { now: () => NOW, log: false }, observer);
    try {
      const response = await predictor.predict({ model: 'churn', entities: customers.map((customer_id) => ({ customer_id })), requestId: 'req' });
      expect(response).toMatchObject({ model: 'churn', version: '1.0.0' });
      expect(response.predictions.map((p) => p.id)).toEqual(customers.map((_, i) => `req-${i}`));
      for (const p of response.predictions) {
        expect(Object.keys(p.features)).toEqual(['spend', 'visits', 'plan']);
        expect(Object.values(p.statuses).every((s) => s === 'PRESENT' || s === 'NULL_VALUE')).toBe(true);
        expect(p.degraded).toBe(false);
      }
      expect(response.predictions.some((p) => p.statuses['spend'] === 'NULL_VALUE')).toBe(true);

      // The same rows through batch scoring: offline point-in-time values at NOW, the same session.
      const entities = join(root, 'now.parquet');
      const db = await DuckDBInstance.create(':memory:');
      const connection = await db.connect();
      const out = join(root, 'scored.parquet');
      try {
        await connection.run(`COPY (SELECT 'c' || i AS customer_id, make_timestamp(${NOW * 1000}) AS event_timestamp, i AS n FROM range(40) r(i) ORDER BY i)
          TO '${entities}' (FORMAT parquet)`);
        await batchPredict(store, { model: 'churn', entities, out });
        const scored = (await connection.runAndReadAll(`SELECT probability FROM read_parquet('${out}') ORDER BY n`)).getRowObjectsJS();
        scored.forEach((row, i) => expect(response.predictions[i]!.output).toBeCloseTo(row['probability'] as number, 9));
      } finally {
        connection.closeSync();
        db.closeSync();
      }

      // And LoadedModel.predict on the values the predictor says it fed.
      const model = await loadModel(store.models(), 'churn', '1.0.0');
      try {
        const columns = Object.fromEntries(['spend', 'visits', 'plan'].map((f) => [f, response.predictions.map((p) => p.features[f])]));
        const direct = await model.predict(columns, customers.length);
        direct.forEach((v, i) => expect(Math.abs(response.predictions[i]!.output! - v)).toBeLessThan(1e-9));
      } finally {
        await model.close();
      }
      expect(events.onlineRead).toHaveLength(1);
      expect(events.prediction).toMatchObject([{ model: 'churn', version: '1.0.0', rows: 40, degraded: 0 }]);
      expect(events.batch).toMatchObject([{ model: 'churn', version: '1.0.0', rows: 40, requests: 1 }]);
      const statuses = events.statuses[0]!;
      const visits = statuses.features.indexOf('visits');
      // 40 rows of visits, all PRESENT (slot 0 of FEATURE_STATUSES), nothing else.
      expect([...statuses.counts.subarray(visits * 5, visits * 5 + 5)]).toEqual([40, 0, 0, 0, 0]);
      expect(statuses.counts.reduce((a, b) => a + b, 0)).toBe(40 * statuses.features.length);
    } finally {
      await predictor.close();
    }
  });

  it('runs in the worker pool with the inline outputs, and logs every prediction with its features for a later label join', async () => {
    const inline = createPredictor(store, { now: () => NOW, log: false });
    const logDir = join(root, 'log');
    const pooled = createPredictor(store, { now: () => NOW, log: { dir: logDir }, models: { churn: { inference: 'pool' } } });
    let first0 = Number.NaN;
    try {
      const entities = customers.slice(0, 10).map((customer_id) => ({ customer_id }));
      const a = await inline.predict({ model: 'churn', entities });
      first0 = a.predictions[0]!.output!;
      const b = await pooled.predict({ model: 'churn', entities, requestId: 'pooled' });
      b.predictions.forEach((p, i) => expect(p.output).toBe(a.predictions[i]!.output));
      await pooled.predict({ model: 'churn', entities: [{ customer_id: 'ghost' }], requestId: 'ghost' });
    } finally {
      await Promise.all([inline.close(), pooled.close()]);
    }
    expect(pooled.log?.stats).toMatchObject({ written: 11, buffered: 0 });
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      const logged = (await connection.runAndReadAll(`SELECT id, model, version, entity, features::JSON->>'visits' AS visits, statuses, output, degraded
        FROM read_parquet('${logDir}/day=*/model=churn/*.parquet', hive_partitioning = true) ORDER BY id`)).getRowObjectsJS();
      expect(logged).toHaveLength(11);
      expect(logged[0]).toMatchObject({ id: 'ghost-0', model: 'churn', version: '1.0.0', entity: '{"customer_id":"ghost"}', visits: null, degraded: true });
      expect(JSON.parse(logged[0]!['statuses'] as string)).toEqual({ spend: 'NOT_FOUND', visits: 'NOT_FOUND', plan: 'NOT_FOUND' });
      const first = logged.find((r) => r['id'] === 'pooled-0')!;
      expect(first).toMatchObject({ entity: '{"customer_id":"c0"}', degraded: false });
      expect(first['output']).toBe(first0);
    } finally {
      connection.closeSync();
      db.closeSync();
    }
  });

  it('on close, answers and logs the requests already taken, then refuses new ones', async () => {
    const logDir = join(root, 'closing-log');
    const predictor = createPredictor(store, { now: () => NOW, log: { dir: logDir, flushMs: 60_000 }, batching: { maxQueueDelayUs: 5000 } });
    await predictor.modelReady('churn'); // loaded, so requests are in their online read when close() comes
    const taken = customers.slice(0, 20).map((customer_id) => predictor.predict({ model: 'churn', entities: [{ customer_id }, { customer_id: 'ghost' }] }));
    const closing = predictor.close();
    await expect(predictor.predict({ model: 'churn', entities: [{ customer_id: 'c1' }] })).rejects.toMatchObject({ code: 'LARDER_E_UNAVAILABLE', status: 503 });
    const answers = await Promise.all(taken);
    expect(answers.every((a) => a.predictions.length === 2 && typeof a.predictions[0]!.output === 'number')).toBe(true);
    await closing;
    expect(predictor.log?.stats).toMatchObject({ sampled: 40, written: 40, buffered: 0 });
    expect(await predictor.modelReady('churn')).toBe(false);
  });

  it('answers unknown models 404 and bad requests 400/413, and says what it can serve', async () => {
    const predictor = createPredictor(store, { now: () => NOW, log: false, maxEntities: 5 });
    try {
      await expectCode(predictor.predict({ model: 'nope', entities: [{ customer_id: 'c1' }] }), 'LARDER_E_MODEL_NOT_FOUND', 404);
      await expectCode(predictor.predict({ model: 'churn', version: '9.9.9', entities: [{ customer_id: 'c1' }] }), 'LARDER_E_MODEL_NOT_FOUND', 404);
      await expectCode(predictor.predict({ model: 'churn', entities: [] }), 'LARDER_E_INVALID_REQUEST', 400);
      await expectCode(predictor.predict({ model: 'churn', entities: {} as never }), 'LARDER_E_INVALID_REQUEST', 400);
      await expectCode(predictor.predict({ model: 'churn', entities: [3] as never }), 'LARDER_E_INVALID_REQUEST', 400);
      await expectCode(predictor.predict({ model: 'churn', entities: [{ nope: 1 }] }), 'LARDER_E_INVALID_REQUEST', 400);
      await expectCode(predictor.predict({ model: 'churn', entities: Array.from({ length: 6 }, () => ({ customer_id: 'c1' })) }), 'LARDER_E_PAYLOAD_TOO_LARGE', 413);
      await expectCode(predictor.predict({ model: 7 as never, entities: [{ customer_id: 'c1' }] }), 'LARDER_E_INVALID_REQUEST', 400);
      expect((await predictor.predict({ model: 'churn@1.0.0', entities: [{ customer_id: 'c1' }] })).version).toBe('1.0.0');
      expect((await predictor.predict({ model: 'churn@champion', entities: [{ customer_id: 'c1' }] })).model).toBe('churn');
      await expectCode(predictor.predict({ model: 'churn@1.0.0', version: '1.0.0', entities: [{ customer_id: 'c1' }] }), 'LARDER_E_INVALID_REQUEST', 400);
      await expectCode(predictor.predict({ model: 'churn@', entities: [{ customer_id: 'c1' }] }), 'LARDER_E_INVALID_REQUEST', 400);

      expect(await predictor.modelReady('churn')).toBe(true);
      expect(await predictor.modelReady('nope')).toBe(false);
      const meta = await predictor.metadata('churn');
      expect(meta).toMatchObject({ name: 'churn', versions: ['1.0.0'], platform: 'onnxruntime_onnx' });
      expect(meta.inputs.length).toBeGreaterThan(0);
      await expectCode(predictor.metadata('nope'), 'LARDER_E_MODEL_NOT_FOUND', 404);

      const features = await predictor.features({ service: 'churn', entities: [{ customer_id: 'c1' }], now: NOW });
      expect(features.features).toEqual(['spend', 'visits', 'plan']);
      expect((await predictor.features({ service: 'churn', entities: [] })).rows).toEqual([]);
      await expectCode(predictor.features({ service: 'churn', entities: Array.from({ length: 6 }, () => ({ customer_id: 'c1' })) }), 'LARDER_E_PAYLOAD_TOO_LARGE', 413);
      await expectCode(predictor.features({ service: 'nope', entities: [{ customer_id: 'c1' }] }), 'LARDER_E_UNKNOWN_SERVICE', 404);
    } finally {
      await predictor.close();
    }
    await expectCode(predictor.predict({ model: 'churn', entities: [{ customer_id: 'c1' }] }), 'LARDER_E_UNAVAILABLE', 503);
  });

  it('feeds a row with nothing stored its defaults (none declared: null) and marks it degraded', async () => {
    const predictor = createPredictor(store, { now: () => NOW, log: false });
    try {
      const { predictions } = await predictor.predict({ model: 'churn', entities: [{ customer_id: 'c1' }, { customer_id: 'ghost' }] });
      expect(predictions[0]!.degraded).toBe(false);
      expect(predictions[1]).toMatchObject({
        degraded: true,
        features: { spend: null, visits: null, plan: null },
        statuses: { spend: 'NOT_FOUND', visits: 'NOT_FOUND', plan: 'NOT_FOUND' },
      });
      expect(typeof predictions[1]!.output).toBe('number');
      // Stale values (read long after the ttl) are degraded too.
      const late = createPredictor(store, { now: () => NOW + 10 * DAY, log: false });
      const stale = await late.predict({ model: 'churn', entities: [{ customer_id: 'c1' }] });
      expect(stale.predictions[0]).toMatchObject({ degraded: true, statuses: { visits: 'OUTSIDE_MAX_AGE' } });
      await late.close();
    } finally {
      await predictor.close();
    }
  });

  it('merges 64 concurrent single-row requests into a few reads and runs with the same answers as unbatched', async () => {
    const batched = recorder();
    const alone = recorder();
    const merged = createPredictor(store, { now: () => NOW, log: false, batching: { maxQueueDelayUs: 2000 } }, batched.observer);
    const unbatched = createPredictor(store, { now: () => NOW, log: false, batching: { enabled: false } }, alone.observer);
    try {
      const rows = Array.from({ length: 64 }, (_, i) => ({ customer_id: `c${i}` }));
      await merged.predict({ model: 'churn', entities: rows.slice(0, 1) }); // load outside the burst
      await unbatched.predict({ model: 'churn', entities: rows.slice(0, 1) });
      batched.events.batch.length = 0;
      alone.events.batch.length = 0;
      batched.events.onlineRead.length = 0;
      alone.events.onlineRead.length = 0;
      const [a, b] = await Promise.all([
        Promise.all(rows.map((row) => merged.predict({ model: 'churn', entities: [row] }))),
        Promise.all(rows.map((row) => unbatched.predict({ model: 'churn', entities: [row] }))),
      ]);
      a.forEach((r, i) => {
        const { id: _a, ...merged0 } = r.predictions[0]!;
        const { id: _b, ...alone0 } = b[i]!.predictions[0]!;
        expect(merged0).toEqual(alone0);
      });
      // The batched model's requests shared their online reads; the unbatched one's read alone.
      expect(batched.events.onlineRead.length).toBeLessThan(16);
      expect(alone.events.onlineRead).toHaveLength(64);
      const runs = batched.events.batch;
      expect(runs.reduce((n, e) => n + e.requests, 0)).toBe(64);
      expect(runs.length).toBeLessThanOrEqual(16);
      expect(Math.max(...runs.map((e) => e.requests))).toBeGreaterThan(1);
      expect(alone.events.batch).toHaveLength(64);
      expect(alone.events.batch.every((e) => e.requests === 1)).toBe(true);
      console.info(`batching: 64 concurrent requests → ${batched.events.onlineRead.length} reads, ${runs.length} runs (${runs.map((e) => e.requests).join(', ')}); unbatched → 64 reads, 64 runs`);

      // A bad request among good ones gets its own 400 (its own row number); the others answer.
      const mixed = await Promise.allSettled([
        merged.predict({ model: 'churn', entities: [rows[1]!] }),
        merged.predict({ model: 'churn', entities: [{ customer_id: 'c2' }, { customer: 'c3' }] }),
        merged.predict({ model: 'churn', entities: [rows[4]!] }),
      ]);
      expect(mixed.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((mixed[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'LARDER_E_INVALID_REQUEST', message: expect.stringContaining('entities[1]') });
      expect((mixed[2] as PromiseFulfilledResult<Awaited<ReturnType<typeof merged.predict>>>).value.predictions[0]!.output).toBe(b[4]!.predictions[0]!.output);
    } finally {
      await Promise.all([merged.close(), unbatched.close()]);
    }
  });

  it('merges concurrent feature reads of the same features; each caller gets its own rows or its own error', async () => {
    const { events, observer } = recorder();
    const predictor = createPredictor(store, { now: () => NOW, log: false }, observer);
    try {
      const alone = await Promise.all(customers.slice(0, 6).map(async (customer_id) => (await predictor.features({ service: 'churn', entities: [{ customer_id }] })).rows[0]));
      events.onlineRead.length = 0;
      const [together, pair, refs] = await Promise.all([
        Promise.all(customers.slice(0, 6).map(async (customer_id) => (await predictor.features({ service: 'churn', entities: [{ customer_id }] })).rows[0])),
        predictor.features({ service: 'churn', entities: [{ customer_id: 'c1' }, { customer_id: 'c0' }] }),
        predictor.features({ features: ['customer_activity:spend'], entities: [{ customer_id: 'c0' }] }),
      ]);
      expect(together).toEqual(alone);
      expect(pair.rows).toEqual([alone[1], alone[0]]);
      expect(refs.features).toEqual(['spend']);
      // The service's 7 reads went out as one; the refs read as another.
      expect(events.onlineRead).toHaveLength(2);

      // A bad row fails the merged read; each request is then read alone and gets its own answer.
      const [good, bad] = await Promise.allSettled([
        predictor.features({ service: 'churn', entities: [{ customer_id: 'c1' }] }),
        predictor.features({ service: 'churn', entities: [{ customer_id: 'c1' }, { nobody: 1 }] }),
      ]);
      expect((good as PromiseFulfilledResult<{ rows: unknown[] }>).value.rows).toEqual([alone[1]]);
      expect((bad as PromiseRejectedResult).reason).toMatchObject({ code: 'LARDER_E_INVALID_REQUEST', message: expect.stringContaining('entities[1]') });
    } finally {
      await predictor.close();
    }
  });

  it('follows a promotion and a rollback of the champion within aliasRefreshMs; explicit versions stay put', async () => {
    // A second version without a second training: the same graph with a metadata_props entry
    // (ModelProto field 14) appended, so its bytes and sha256 differ.
    const models = store.models();
    const v1 = await models.show('churn', '1.0.0');
    const bytes = await models.loadArtifact('churn', '1.0.0');
    const tagged = new Uint8Array([...bytes, 0x72, 0x06, 0x0a, 0x01, 0x78, 0x12, 0x01, 0x79]);
    const registered = await models.register({ name: 'churn', artifact: tagged, featureService: 'churn', serving: v1.serving! });
    expect(registered.created).toBe(true);
    const v2 = registered.model.version;
    expect(v2).toBe('1.1.0');
    const warnings: string[] = [];
    const predictor = createPredictor(store, { now: () => NOW, log: false, aliasRefreshMs: 200, onWarning: (m) => warnings.push(m) });
    const ask = async (version?: string) => (await predictor.predict({ model: 'churn', entities: [{ customer_id: 'c3' }], ...(version === undefined ? {} : { version }) })).version;
    /** Asks until the champion is `version`; returns how long that took after the move. */
    const switched = async (version: string): Promise<number> => {
      const moved = performance.now();
      await vi.waitFor(async () => expect(await ask()).toBe(version), { timeout: 3000, interval: 20 });
      return performance.now() - moved;
    };
    try {
      expect(await ask()).toBe('1.0.0');
      await models.approve('churn', v2);
      await models.deploy('churn', v2);
      expect(await switched(v2)).toBeLessThan(200 + 1000);
      expect(await ask('1.0.0')).toBe('1.0.0');
      await models.rollback('churn');
      expect(await switched('1.0.0')).toBeLessThan(200 + 1000);
      expect(await ask(v2)).toBe(v2);

      // A promotion to a version whose artifact is corrupt is refused: the champion keeps serving.
      const broken = new Uint8Array([...bytes, 0x72, 0x06, 0x0a, 0x01, 0x7a, 0x12, 0x01, 0x7a]);
      const v3 = (await models.register({ name: 'churn', artifact: broken, featureService: 'churn', serving: v1.serving! })).model;
      await writeFile(models.artifactPath(v3.sha256), new Uint8Array([1, 2, 3]));
      await models.approve('churn', v3.version);
      await models.deploy('churn', v3.version);
      const refusal = `churn@champion moved to ${v3.version}, which cannot be served`;
      await vi.waitFor(() => expect(warnings.find((w) => w.startsWith(refusal))).toMatch(/Model artifact .* is corrupt.*still serving 1\.0\.0$/), { timeout: 3000, interval: 20 });
      expect(await ask()).toBe('1.0.0');
      await expectCode(predictor.predict({ model: 'churn', version: v3.version, entities: [{ customer_id: 'c3' }] }), 'LARDER_E_MODEL_CORRUPT', 500);
      await models.rollback('churn');
    } finally {
      await predictor.close();
    }
  });

  it('serves defaults with degraded: true when the online store is unreachable, or 503 when fresh features are required', async () => {
    const down = join(root, 'down');
    await cp(project, down, { recursive: true, verbatimSymlinks: true });
    await rm(join(down, '.larder', 'online'), { recursive: true, force: true });
    await writeFile(join(down, 'larder.config.ts'), `import { defineConfig } from 'larder';\n\nexport default defineConfig(${JSON.stringify({
      project: 'churn', definitions: ['features/**/*.ts'], online: { type: 'redis', url: 'redis://127.0.0.1:1' },
    })});\n`);
    const downStore = await openStore({ dir: down });
    const { events, observer } = recorder();
    const lenient = createPredictor(downStore, { log: false }, observer);
    const strict = createPredictor(downStore, { log: false, models: { churn: { requireFreshFeatures: true } } }, observer);
    try {
      await expectCode(lenient.features({ service: 'churn', entities: [{ customer_id: 'c1' }] }), 'LARDER_E_ONLINE_UNAVAILABLE', 503);
      const started = performance.now();
      const { predictions } = await lenient.predict({ model: 'churn', entities: [{ customer_id: 'c1' }, { customer_id: 'c2' }] });
      expect(performance.now() - started).toBeLessThan(2000);
      expect(predictions).toHaveLength(2);
      for (const p of predictions) {
        expect(p).toMatchObject({ degraded: true, features: { spend: null, visits: null, plan: null }, statuses: { spend: 'NOT_FOUND' } });
        expect(typeof p.output).toBe('number');
      }
      expect(events.onlineRead.some((e) => !e.ok)).toBe(true);
      expect(events.prediction.at(-1)).toMatchObject({ rows: 2, degraded: 2 });
      await expectCode(strict.predict({ model: 'churn', entities: [{ customer_id: 'c1' }] }), 'LARDER_E_UNAVAILABLE', 503);
      expect(events.prediction.at(-1)).toMatchObject({ model: 'churn', rows: 0, degraded: 0 }); // failed: latency counted, no rows
      // Bad rows are still the caller's mistake, store or no store.
      await expectCode(lenient.predict({ model: 'churn', entities: [{ nope: 1 }] }), 'LARDER_E_INVALID_REQUEST', 400);
    } finally {
      await Promise.all([lenient.close(), strict.close()]);
      await downStore.close();
    }
  });
});
