/**
 * Materializing aggregation views end to end on real DuckDB and real online stores (memory
 * always, Redis at REDIS_URL when reachable): what `materialize({ end: T })` writes equals
 * `getHistoricalFeatures` at T; a chain of incremental runs, which recomputes only the entities
 * with recent events, leaves the same values as one full run; and reads report the age of the
 * aggregates (their event time is the run's end).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materialize, type MaterializeContext } from './materialize.ts';
import { prng } from './offline/test-support.ts';
import { createMemoryOnlineStore } from './online/memory-store.ts';
import { createRedisOnlineStore } from './online/redis-store.ts';
import type { OnlineStore } from './online/store.ts';
import { requireRedisForTests } from './online/testing/redis-for-tests.ts';
import { entityKeyOf, onlineLayout } from './online-layout.ts';
import { openStore, type FeatureStore } from './store.ts';
import { BASE, HOUR, createMaterializeProject } from './testing/materialize-project.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const redisUp = await requireRedisForTests('materializing aggregation views into Redis', REDIS_URL);
const USERS = 40;

const AGGREGATIONS = `
import { agg, featureView, t } from 'larder';
import { events, region, user } from './defs.ts';

export const activity = featureView('user_activity', {
  entities: [user, region], source: events, ttl: '2d',
  aggregations: {
    events_6h: agg.count('6h'),
    x_avg_1d: agg.avg('x', '1d', { lag: '1h' }),
    x_sd_1d: agg.stddev('x', '1d', { lag: '1h' }),
    x_max_12h: agg.max('x', '12h'),
    n_sum_3h: agg.sum('n', '3h', { type: t.int64() }),
    tags_1d: agg.countDistinct('tag', '1d'),
    last_tag: agg.last('tag', { type: t.string() }),
    high_rate_1d: agg.avg('CAST(x > 50 AS DOUBLE)', '1d', { lag: '30m' }),
  },
});
`;

describe('materializing aggregation views', () => {
  let root: string;
  let store: FeatureStore;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'larder-materialize-agg-'));
    // 40 users × 3 regions over 60 hours: row k of a user has its event at BASE + ⌊k/2⌋ hours
    // (two rows per user per whole hour, in varying regions), so events sit exactly on window edges.
    const dir = await createMaterializeProject(path.join(root, 'p'), { project: 'agg', users: USERS, rowsPerUser: 120 });
    writeFileSync(path.join(dir, 'features', 'activity.ts'), AGGREGATIONS);
    store = await openStore({ dir });
    await store.apply();
  });
  afterAll(async () => {
    await store?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const keysOf = (): { user_id: string; region: number }[] =>
    Array.from({ length: USERS + 2 }, (_, u) => [0, 1, 2].map((r) => ({ user_id: `u${u}`, region: r }))).flat();

  const stores: [string, () => Promise<OnlineStore>][] = [['memory', () => createMemoryOnlineStore({ dir: null })]];
  if (redisUp) stores.push(['redis', async () => createRedisOnlineStore({ url: REDIS_URL, timeoutMs: 5000 })]);

  for (const [name, open] of stores) {
    it(`${name}: what materialize({ end: T }) wrote equals getHistoricalFeatures at T`, async () => {
      const view = store.project.views.get('user_activity');
      if (view === undefined) throw new Error('view missing');
      const rand = prng(name === 'memory' ? 5 : 9);
      const features = Object.keys(view.features);
      // Window edges: on the hour (events land on whole seconds), mid-data, near the end, before most data.
      const instants = [BASE + 20 * HOUR, BASE + 33 * HOUR + 17_000, BASE + 1 * HOUR + 1, BASE + 3 * HOUR + Math.floor(rand() * HOUR)];
      for (const T of instants) {
        const online = await open();
        const projectName = `test_${randomBytes(6).toString('hex')}`;
        try {
          const ctx: MaterializeContext = { projectName, project: store.project, registry: store.registry, offline: store.offline, online };
          const [result] = await materialize(ctx, { end: new Date(T), views: ['user_activity'], batchRows: 50 });
          expect(result?.rows).toBeGreaterThan(0);
          const entities = keysOf().map((k) => ({ ...k, event_timestamp: new Date(T) }));
          const offline = await store.getHistoricalFeatures({ entities, features: features.map((f) => `user_activity:${f}`) }).toRows();
          const [stored] = await online.read([{ layout: onlineLayout(projectName, view), entityKeys: entities.map((e) => entityKeyOf(view, store.project.entities, e) as string) }]);
          let compared = 0;
          entities.forEach((entity, i) => {
            const row = stored?.[i] ?? null;
            const expected = offline[i] as Record<string, unknown>;
            if (row === null) {
              // Never written: no event at or before T, so every window is empty.
              expect(features.map((f) => expected[f]), JSON.stringify(entity)).toEqual(features.map((f) => (f === 'events_6h' || f === 'tags_1d' ? 0 : null)));
              return;
            }
            compared++;
            expect(row.eventTs).toBe(T);
            features.forEach((f, j) => {
              const want = expected[f];
              const got = row.values[j];
              // Offline sums come from prefix-sum differences: equal to rounding relative to the data's scale (x is 0–100).
              if (typeof want === 'number' && typeof got === 'number') expect(Math.abs(got - want), `${T} ${f} ${JSON.stringify(entity)}: ${got} vs ${want}`).toBeLessThanOrEqual(1e-9 * 100);
              else expect(got, `${T} ${f} ${JSON.stringify(entity)}`).toEqual(want);
            });
          });
          if (T > BASE + 2 * HOUR) expect(compared).toBeGreaterThan(USERS);
        } finally {
          await online.clearProject(projectName);
          await online.close();
        }
      }
    });
  }

  it('a chain of incremental runs leaves the values one full run writes, and reads report their age', async () => {
    const view = store.project.views.get('user_activity');
    if (view === undefined) throw new Error('view missing');
    const full = await createMemoryOnlineStore({ dir: null });
    try {
      const ctx = (online: OnlineStore): MaterializeContext => ({ projectName: 'agg', project: store.project, registry: store.registry, offline: store.offline, online });
      const ends = [10, 10.5, 17.25, 40, 59.5, 80, 100, 120].map((h) => new Date(BASE + h * HOUR));
      const written: number[] = [];
      for (const end of ends) {
        const [r] = await store.materializeIncremental({ end, views: ['user_activity'] });
        expect(r?.start).toEqual(written.length === 0 ? null : ends[written.length - 1]);
        written.push(r?.rows ?? 0);
      }
      const chained = await store.onlineStore();
      // Later runs recompute fewer entities than the first: only those with recent events.
      // The data ends at 60 h and the widest reach is 25 h: the run ending at 100 h still has
      // windows to empty, the one ending at 120 h has nothing left to change.
      expect(written[0]).toBe(USERS * 3);
      expect(written.at(-2)).toBe(USERS * 3);
      expect(written.at(-1)).toBe(0);
      await materialize(ctx(full), { end: ends.at(-1) as Date, views: ['user_activity'] });
      const layout = onlineLayout('agg', view);
      const keys = keysOf().map((k) => entityKeyOf(view, store.project.entities, k) as string);
      const [a] = await chained.read([{ layout, entityKeys: keys }]);
      const [b] = await full.read([{ layout, entityKeys: keys }]);
      expect(a?.map((row) => row?.values ?? null)).toEqual(b?.map((row) => row?.values ?? null));

      // Reads report the aggregates' age: their event time is the end of the run that last recomputed them.
      const now = (ends.at(-1) as Date).getTime();
      const response = await store.getOnlineFeatures({ features: ['user_activity:events_6h', 'user_activity:last_tag'], entities: [{ user_id: 'u1', region: 1 }], now });
      const ts = response.rows[0]?.eventTimestamps['events_6h'];
      expect(ts).toEqual(ends.at(-2));
      expect(response.rows[0]?.statuses['events_6h']).toBe('PRESENT');
      const later = await store.getOnlineFeatures({ features: ['user_activity:events_6h'], entities: [{ user_id: 'u1', region: 1 }], now: now + 2 * 24 * HOUR });
      expect(later.rows[0]?.statuses['events_6h']).toBe('OUTSIDE_MAX_AGE');
    } finally {
      await full.close();
    }
  });
});
