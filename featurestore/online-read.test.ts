/**
 * Online reads against both online stores: statuses (ttl edges, defaults, nulls, missing rows),
 * composite keys, request fields and on-demand views, full feature names, one round trip, errors.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isLarderError } from '../errors.ts';
import { entity, featureService, featureView, fileSource, onDemandView, requestSource } from './define/definitions.ts';
import { t } from './define/dtypes.ts';
import { buildProject } from './define/project.ts';
import { createMemoryOnlineStore } from './online/memory-store.ts';
import { createRedisOnlineStore } from './online/redis-store.ts';
import type { OnlineStore } from './online/store.ts';
import { entityKeyOf, onlineLayout } from './online-layout.ts';
import { getOnlineFeatures, type OnlineFeaturesRequest } from './online-read.ts';
import { requireRedisForTests } from './online/testing/redis-for-tests.ts';

const HOUR = 3_600_000;
const driver = entity('driver', { joinKeys: { driver_id: t.int64() } });
const zonePair = entity('zone_pair', { joinKeys: { pickup: t.string(), dropoff: t.string() } });
const src = fileSource('s', { path: 'x.parquet', timestamp: 'ts' });
const driverStats = featureView('driver_stats', {
  entities: [driver], source: src, ttl: '2h',
  features: { conv_rate: t.float64().default(0.5), trips: t.int64(), note: t.string() },
});
const zoneStats = featureView('zone_stats', {
  entities: [zonePair], source: src,
  features: { avg_fare: t.float64(), trips: t.int64().default(0), seen_at: t.timestamp() },
});
const ride = requestSource('ride', { schema: { requested_at: t.timestamp(), distance_km: t.float64() } });
const trip = onDemandView('trip', {
  inputs: [ride, zoneStats],
  features: { is_night: t.bool(), fare: t.float64() },
  compute: (row) => ({
    is_night: row.requested_at.getUTCHours() >= 22 || row.requested_at.getUTCHours() < 6,
    fare: row.avg_fare === null ? null : row.avg_fare * (1 + row.distance_km / 20),
  }),
});
const model = featureService('model', { features: [driverStats.select('conv_rate', 'trips'), zoneStats.select('avg_fare'), trip] });
const { project, issues } = buildProject([driver, zonePair, src, driverStats, zoneStats, ride, trip, model]);

const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const redisUp = await requireRedisForTests('the Redis online read tests', redisUrl);

/** Counts read calls: the store itself is real. */
function counting(store: OnlineStore): OnlineStore & { reads: number } {
  const wrapped = {
    reads: 0,
    write: store.write.bind(store),
    read: (...args: Parameters<OnlineStore['read']>) => { wrapped.reads++; return store.read(...args); },
    clearProject: store.clearProject.bind(store),
    close: store.close.bind(store),
  };
  return wrapped;
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string; details: unknown }> {
  try { await promise; } catch (error) {
    if (isLarderError(error)) return { code: error.code, message: error.message, details: error.details };
    throw error;
  }
  throw new Error('expected a rejection');
}

for (const kind of ['memory', 'redis'] as const) {
  describe.skipIf(kind === 'redis' && !redisUp)(`getOnlineFeatures (${kind})`, () => {
    let store: ReturnType<typeof counting>;
    let name: string;
    const read = (request: OnlineFeaturesRequest) => getOnlineFeatures({ projectName: name, project, online: store }, request);
    const now = Date.UTC(2025, 0, 10, 12);

    beforeAll(async () => {
      store = counting(kind === 'memory' ? await createMemoryOnlineStore({ dir: null }) : createRedisOnlineStore({ url: redisUrl, timeoutMs: 2000 }));
    });
    afterAll(async () => { await store.close(); });
    beforeEach(() => { name = `test_${randomUUID().replaceAll('-', '')}`; store.reads = 0; });
    afterEach(async () => { await store.clearProject(name); });

    async function writeDriver(id: number, values: unknown[], eventTs: number): Promise<void> {
      const key = entityKeyOf(driverStats, project.entities, { driver_id: id }) as string;
      await store.write(onlineLayout(name, driverStats), [{ entityKey: key, values, eventTs, createdTs: null }]);
    }

    it('has definitions without problems', () => { expect(issues).toEqual([]); });

    it('reports PRESENT, NULL_VALUE, NOT_FOUND and DEFAULTED, with event timestamps', async () => {
      await writeDriver(1, [0.9, 12, null], now - HOUR);
      const res = await read({ features: ['driver_stats:conv_rate', 'driver_stats:trips', 'driver_stats:note'], entities: [{ driver_id: 1 }, { driver_id: 2 }], now });
      expect(res.features).toEqual(['conv_rate', 'trips', 'note']);
      expect(res.rows[0]).toEqual({
        values: { conv_rate: 0.9, trips: 12, note: null },
        statuses: { conv_rate: 'PRESENT', trips: 'PRESENT', note: 'NULL_VALUE' },
        eventTimestamps: { conv_rate: new Date(now - HOUR), trips: new Date(now - HOUR), note: new Date(now - HOUR) },
      });
      expect(res.rows[1]).toEqual({
        values: { conv_rate: 0.5, trips: null, note: null },
        statuses: { conv_rate: 'DEFAULTED', trips: 'NOT_FOUND', note: 'NOT_FOUND' },
        eventTimestamps: { conv_rate: null, trips: null, note: null },
      });
    });

    it('is present exactly at the ttl and OUTSIDE_MAX_AGE 1 ms past it (keeping the default as value)', async () => {
      await writeDriver(1, [0.9, 12, 'a'], now - 2 * HOUR);
      await writeDriver(2, [0.8, 13, 'b'], now - 2 * HOUR - 1);
      const res = await read({ features: ['driver_stats:conv_rate', 'driver_stats:trips'], entities: [{ driver_id: 1 }, { driver_id: 2 }], now });
      expect(res.rows.map((r) => r.statuses)).toEqual([
        { conv_rate: 'PRESENT', trips: 'PRESENT' },
        { conv_rate: 'OUTSIDE_MAX_AGE', trips: 'OUTSIDE_MAX_AGE' },
      ]);
      expect(res.rows[1]?.values).toEqual({ conv_rate: 0.5, trips: null });
      expect(res.rows[1]?.eventTimestamps.trips).toEqual(new Date(now - 2 * HOUR - 1));
    });

    it('measures age from the real clock by default', async () => {
      await writeDriver(1, [0.9, 12, 'a'], Date.now() - 2 * HOUR - 60_000);
      await writeDriver(2, [0.9, 12, 'a'], Date.now() - 2 * HOUR + 60_000);
      const res = await read({ features: ['driver_stats:trips'], entities: [{ driver_id: 1 }, { driver_id: 2 }] });
      expect(res.rows.map((r) => r.statuses.trips)).toEqual(['OUTSIDE_MAX_AGE', 'PRESENT']);
    });

    it('reads composite keys, and keys given as numeric text are the same entity', async () => {
      const key = entityKeyOf(zoneStats, project.entities, { pickup: 'a|b', dropoff: 'ü' }) as string;
      await store.write(onlineLayout(name, zoneStats), [{ entityKey: key, values: [20, 4, new Date(now)], eventTs: now - 400 * 86_400_000, createdTs: null }]);
      await writeDriver(7, [0.1, 1, 'x'], now);
      const res = await read({
        features: ['zone_stats:avg_fare', 'zone_stats:seen_at', 'zone_stats:trips', 'driver_stats:trips'], fullFeatureNames: true, now,
        entities: [{ pickup: 'a|b', dropoff: 'ü', driver_id: '7' }, { pickup: 'a', dropoff: 'b|ü', driver_id: 8 }],
      });
      expect(res.features).toEqual(['zone_stats__avg_fare', 'zone_stats__seen_at', 'zone_stats__trips', 'driver_stats__trips']);
      expect(res.rows[0]?.values).toEqual({ zone_stats__avg_fare: 20, zone_stats__seen_at: new Date(now), zone_stats__trips: 4, driver_stats__trips: 1 });
      expect(res.rows[1]?.statuses).toEqual({ zone_stats__avg_fare: 'NOT_FOUND', zone_stats__seen_at: 'NOT_FOUND', zone_stats__trips: 'DEFAULTED', driver_stats__trips: 'NOT_FOUND' });
      expect(res.rows[1]?.values['zone_stats__trips']).toBe(0);
    });

    it('computes on-demand views from request fields and stored features, with the offline compute', async () => {
      const key = entityKeyOf(zoneStats, project.entities, { pickup: 'a', dropoff: 'b' }) as string;
      await store.write(onlineLayout(name, zoneStats), [{ entityKey: key, values: [10, 3, null], eventTs: now, createdTs: null }]);
      await writeDriver(1, [0.9, 12, 'a'], now);
      const res = await read({
        service: 'model', now,
        entities: [
          { driver_id: 1, pickup: 'a', dropoff: 'b', requested_at: '2025-01-10T23:00:00Z', distance_km: '10' },
          { driver_id: 1, pickup: 'x', dropoff: 'y', requested_at: new Date(Date.UTC(2025, 0, 10, 12)), distance_km: 5 },
        ],
      });
      expect(res.features).toEqual(['conv_rate', 'trips', 'avg_fare', 'is_night', 'fare']);
      expect(res.rows[0]?.values).toEqual({ conv_rate: 0.9, trips: 12, avg_fare: 10, is_night: true, fare: 15 });
      expect(res.rows[1]?.values).toEqual({ conv_rate: 0.9, trips: 12, avg_fare: null, is_night: false, fare: null });
      expect(res.rows[1]?.statuses).toMatchObject({ is_night: 'PRESENT', fare: 'NULL_VALUE' });
      expect(res.rows[0]?.eventTimestamps['fare']).toBeNull();
    });

    it('reads every view for every row in one round trip', async () => {
      await read({ service: 'model', now, entities: Array.from({ length: 50 }, (_, i) => ({ driver_id: i, pickup: 'a', dropoff: `${i}`, requested_at: new Date(now), distance_km: 1 })) });
      expect(store.reads).toBe(1);
    });

    it('lists every bad entity row in one LARDER_E_INVALID_REQUEST and reads nothing', async () => {
      const error = await rejection(read({
        service: 'model', now,
        entities: [{ driver_id: 1, pickup: 'a' }, { driver_id: 'x', pickup: 'a', dropoff: 'b', requested_at: 'soon', distance_km: 1 }],
      }));
      expect(error.code).toBe('LARDER_E_INVALID_REQUEST');
      expect(error.message).toContain('5 problem(s)');
      for (const part of ['entities[0].dropoff', 'entities[0].requested_at', 'entities[0].distance_km', 'entities[1].driver_id', 'entities[1].requested_at']) {
        expect(error.message).toContain(part);
      }
      expect(store.reads).toBe(0);
    });

    it('refuses unknown features and fractional integer keys', async () => {
      expect((await rejection(read({ features: ['driver_stats:nope'], entities: [{ driver_id: 1 }] }))).code).toBe('LARDER_E_UNKNOWN_FEATURE');
      expect((await rejection(read({ service: 'nope', entities: [] }))).code).toBe('LARDER_E_UNKNOWN_SERVICE');
      expect((await rejection(read({ features: ['driver_stats:trips'], entities: [{ driver_id: 1.5 }] }))).message).toContain('1.5 is not a int64');
    });

    it('answers an empty entity list without reading', async () => {
      expect(await read({ features: ['driver_stats:trips'], entities: [] })).toEqual({ features: ['trips'], rows: [] });
      expect(store.reads).toBe(0);
    });
  });
}

describe('getOnlineFeatures when Redis is down', () => {
  it('fails fast with LARDER_E_ONLINE_UNAVAILABLE', async () => {
    const online = createRedisOnlineStore({ url: 'redis://127.0.0.1:1', timeoutMs: 50 });
    try {
      const started = Date.now();
      const error = await rejection(getOnlineFeatures({ projectName: 'p', project, online }, { features: ['driver_stats:trips'], entities: [{ driver_id: 1 }] }));
      expect(error.code).toBe('LARDER_E_ONLINE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await online.close();
    }
  });
});
