/**
 * Push end to end on a small project: validation (every problem, nothing written), online writes
 * to every view on the source (last-write-wins), offline Parquet files that datasets read
 * point-in-time correctly, the DSL checks and the registry form of a push source.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { isLarderError } from '../errors.ts';
import { entity, featureView, pushSource } from './define/definitions.ts';
import { t } from './define/dtypes.ts';
import { buildProject } from './define/project.ts';
import { specOf } from './define/spec.ts';
import { sourceFromSpec } from './from-spec.ts';
import { openStore, type FeatureStore } from './store.ts';

const FEATURES = `
import { entity, featureView, onDemandView, pushSource, requestSource, t } from 'larder';
export const driver = entity('driver', { joinKeys: { driver_id: t.int64() } });
export const tripEvents = pushSource('trip_events', {
  schema: { driver_id: t.int64(), speed: t.float64(), label: t.string(), ts: t.timestamp(), created: t.timestamp() },
  timestamp: 'ts', createdTimestamp: 'created',
});
export const driverSpeed = featureView('driver_speed', { entities: [driver], source: tripEvents, ttl: '1d', features: { speed: t.float64() } });
export const driverLabel = featureView('driver_label', { entities: [driver], source: tripEvents, features: { label: t.string().default('none') } });
export const trip = requestSource('trip', { schema: { km: t.float64() } });
export const eta = onDemandView('eta', {
  inputs: [trip, driverSpeed], features: { minutes: t.float64(), moving: t.bool() },
  compute: (row) => ({ minutes: row.speed === null || row.speed === 0 ? null : (row.km / row.speed) * 60, moving: (row.speed ?? 0) > 0 }),
});
`;

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try { await promise; } catch (error) {
    if (isLarderError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('push', () => {
  let root: string;
  let store: FeatureStore;
  const pushDir = (): string => path.join(root, '.larder', 'push', 'trip_events');
  const pushed = (): string[] => { try { return readdirSync(pushDir()); } catch { return []; } };

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'larder-push-'));
    mkdirSync(path.join(root, 'features'));
    writeFileSync(path.join(root, 'features', 'trips.ts'), FEATURES);
    writeFileSync(path.join(root, 'larder.config.ts'), `export default { project: 'pushes', online: { type: 'memory' } };\n`);
    writeFileSync(path.join(root, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    mkdirSync(path.join(root, 'node_modules'));
    symlinkSync(fileURLToPath(new URL('..', import.meta.url)), path.join(root, 'node_modules', 'larder'), 'dir');
    store = await openStore({ dir: root });
  });
  afterAll(async () => {
    await store?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('loads the push source and its views without problems, and applies before anything was pushed', async () => {
    expect(store.issues).toEqual([]);
    const plan = await store.apply();
    expect(plan).toBeDefined();
    const rows = await store.getHistoricalFeatures({ features: ['driver_speed:speed'], entities: [{ driver_id: 1, event_timestamp: new Date() }] }).toRows();
    expect(rows).toEqual([expect.objectContaining({ driver_id: 1, speed: null })]);
  });

  it('lists every bad row and writes nothing', async () => {
    const error = await rejection(store.push('trip_events', [
      { driver_id: 1, speed: 10, ts: new Date() },
      { driver_id: 'x', speed: 'fast', ts: 'yesterday-ish' },
      { speed: 1, ts: new Date(), typo: 1 },
    ], { to: 'both' }));
    expect(error.code).toBe('LARDER_E_INVALID_REQUEST');
    expect(error.message).toContain('5 problem(s)');
    for (const part of ['rows[1].driver_id', 'rows[1].speed', 'rows[1].ts', 'rows[2].driver_id', 'rows[2].typo']) expect(error.message).toContain(part);
    expect(pushed()).toEqual([]);
    const online = await store.getOnlineFeatures({ features: ['driver_speed:speed'], entities: [{ driver_id: 1 }] });
    expect(online.rows[0]?.statuses).toEqual({ speed: 'NOT_FOUND' });
  });

  it('refuses unknown sources and sources that are not push sources', async () => {
    expect((await rejection(store.push('nope', []))).code).toBe('LARDER_E_UNKNOWN_SOURCE');
  });

  it('writes online to every view on the source, last-write-wins by event time', async () => {
    const now = Date.now();
    const result = await store.push('trip_events', [
      { driver_id: 1, speed: 50, label: 'fast', ts: new Date(now - 1000) },
      { driver_id: '2', speed: 20.5, ts: new Date(now - 5000).toISOString() },
    ]);
    expect(result).toEqual({
      source: 'trip_events', rows: 2,
      online: expect.arrayContaining([{ view: 'driver_speed', written: 2, skippedOlder: 0 }, { view: 'driver_label', written: 2, skippedOlder: 0 }]),
    });
    expect(result.online).toHaveLength(2);
    expect(pushed()).toEqual([]);
    // An older row for driver 1 changes nothing.
    await store.push('trip_events', [{ driver_id: 1, speed: 1, label: 'slow', ts: new Date(now - 60_000) }]);
    const online = await store.getOnlineFeatures({ features: ['driver_speed:speed', 'driver_label:label'], entities: [{ driver_id: 1 }, { driver_id: 2 }] });
    expect(online.rows.map((r) => r.values)).toEqual([{ speed: 50, label: 'fast' }, { speed: 20.5, label: null }]);
    expect(online.rows[0]?.eventTimestamps['speed']).toEqual(new Date(now - 1000));
  });

  it('appends offline as one Parquet file that datasets read point-in-time correctly', async () => {
    const day = (d: number, h = 0): Date => new Date(Date.UTC(2025, 0, d, h));
    const first = await store.push('trip_events', [
      { driver_id: 7, speed: 30, ts: day(1), created: day(1) },
      { driver_id: 7, speed: 40, ts: day(1, 12), created: day(2, 6) },
    ], { to: 'offline' });
    expect(first.online).toBeUndefined();
    expect(path.dirname(first.offline?.path ?? '')).toBe(pushDir());
    await store.push('trip_events', [{ driver_id: 7, speed: 60, ts: day(4), created: day(4) }], { to: 'both' });
    expect(pushed().filter((f) => f.endsWith('.parquet'))).toHaveLength(2);
    expect(pushed().filter((f) => f.startsWith('.'))).toEqual([]);
    const rows = await store.getHistoricalFeatures({
      features: ['driver_speed:speed'],
      entities: [
        { driver_id: 7, event_timestamp: day(1, 6) },
        { driver_id: 7, event_timestamp: day(2) }, // the 12:00 row is not known until day 2 06:00; the first is exactly 1d old
        { driver_id: 7, event_timestamp: day(2, 8) },
        { driver_id: 7, event_timestamp: day(4, 12) },
        { driver_id: 7, event_timestamp: day(9) }, // past the 1d ttl
      ],
    }).toRows();
    expect(rows.map((r) => r['speed'])).toEqual([30, 30, 40, 60, null]);
  });
});

describe('push, then online and offline reads agree', () => {
  it('gives the same batch and on-demand values from getOnlineFeatures and getHistoricalFeatures at now', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'larder-parity-'));
    mkdirSync(path.join(root, 'features'));
    writeFileSync(path.join(root, 'features', 'trips.ts'), FEATURES);
    writeFileSync(path.join(root, 'larder.config.ts'), `export default { project: 'parity', online: { type: 'memory' } };\n`);
    writeFileSync(path.join(root, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    mkdirSync(path.join(root, 'node_modules'));
    symlinkSync(fileURLToPath(new URL('..', import.meta.url)), path.join(root, 'node_modules', 'larder'), 'dir');
    const store = await openStore({ dir: root });
    try {
      const now = Date.now();
      await store.push('trip_events', [
        { driver_id: 1, speed: 40, ts: new Date(now - 3_600_000) },
        { driver_id: 2, speed: 0, ts: new Date(now - 60_000) },
        { driver_id: 3, speed: 90, ts: new Date(now - 3 * 86_400_000) }, // past the 1d ttl
      ], { to: 'both' });
      const features = ['driver_speed:speed', 'eta:minutes', 'eta:moving'];
      const entities = [1, 2, 3, 4].map((id) => ({ driver_id: id, km: 10 }));
      // Read as of after the push: pushed rows became known (created) when they were pushed,
      // which may be a millisecond or more after `now`.
      const at = Date.now();
      const online = await store.getOnlineFeatures({ features, entities, now: at });
      const offline = await store.getHistoricalFeatures({ features, entities: entities.map((e) => ({ ...e, event_timestamp: new Date(at) })) }).toRows();
      expect(online.rows.map((r) => r.values)).toEqual(offline.map((r) => ({ speed: r['speed'], minutes: r['minutes'], moving: r['moving'] })));
      expect(online.rows.map((r) => r.values['minutes'])).toEqual([15, null, null, null]);
      expect(online.rows.map((r) => r.statuses['speed'])).toEqual(['PRESENT', 'PRESENT', 'OUTSIDE_MAX_AGE', 'NOT_FOUND']);
    } finally {
      await store.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('pushSource definitions', () => {
  it('infers the row type of its schema', () => {
    const source = pushSource('events', { schema: { id: t.int64(), at: t.timestamp() }, timestamp: 'at' });
    expectTypeOf(source.$inferRow).toEqualTypeOf<{ id: number | null; at: Date | null }>();
    expect(Object.isFrozen(source)).toBe(true);
  });

  const driver = entity('driver', { joinKeys: { driver_id: t.int64() } });

  it('checks the timestamp columns and that views use declared columns only', () => {
    const bad = pushSource('events', { schema: { driver_id: t.int64(), ts: t.string() }, timestamp: 'ts', createdTimestamp: 'nope' });
    const view = featureView('v', { entities: [driver], source: bad, features: { speed: t.float64() } });
    const codes = buildProject([driver, bad, view]).issues.map((i) => `${i.code}:${i.path}`);
    expect(codes).toEqual(expect.arrayContaining([
      'bad_push_timestamp:source:events.timestamp', 'bad_push_timestamp:source:events.createdTimestamp', 'not_in_push_schema:featureView:v.source',
    ]));
  });

  it('round-trips through its registry spec, keeping column order', () => {
    const source = pushSource('events', { schema: { b: t.int64(), a: t.timestamp().describe('when') }, timestamp: 'a', batchPath: 'data/old/*.parquet' });
    const back = sourceFromSpec(specOf(source));
    expect(specOf(back)).toEqual(specOf(source));
    expect(Object.keys((back as typeof source).schema)).toEqual(['b', 'a']);
  });
});
