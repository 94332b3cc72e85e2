/**
 * Materialization end to end on real DuckDB and real online stores (memory always, Redis at
 * REDIS_URL when reachable): offline/online parity with the point-in-time join at T = end on the
 * example project, watermarks of incremental runs, the errors a user meets, and each way of
 * pulling rows (grouped, candidates, auto's switch) against a brute-force oracle.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureViewDef } from './define/definitions.ts';
import { parseDuration } from './define/duration.ts';
import { materialize, materializeIncremental, watermarkKey, type MaterializeContext, type MaterializeProgress, type MaterializeResult } from './materialize.ts';
import { createFixture, prng, type Fixture } from './offline/test-support.ts';
import { createMemoryOnlineStore } from './online/memory-store.ts';
import { createRedisOnlineStore } from './online/redis-store.ts';
import type { OnlineStore } from './online/store.ts';
import { entityKeyOf, onlineLayout } from './online-layout.ts';
import { openStore, type FeatureStore } from './store.ts';
import { BASE, HOUR, createMaterializeProject } from './testing/materialize-project.ts';
import { writeProjectFolder } from './testing/project-folder.ts';
import { requireRedisForTests } from './online/testing/redis-for-tests.ts';

const EXAMPLE = fileURLToPath(new URL('../fixtures/example', import.meta.url));
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';


const redisUp = await requireRedisForTests('materialization into Redis', REDIS_URL);

function copyExample(root: string): string {
  const dir = path.join(root, 'rides');
  for (const item of ['larder.config.ts', 'features', 'data']) cpSync(path.join(EXAMPLE, item), path.join(dir, item), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(fileURLToPath(new URL('..', import.meta.url)), path.join(dir, 'node_modules', 'larder'), 'dir');
  return dir;
}

const testProject = (): string => `test_${randomBytes(6).toString('hex')}`;

describe('materialize: offline/online parity on the example project', () => {
  let root: string;
  let store: FeatureStore;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'larder-materialize-'));
    store = await openStore({ dir: copyExample(root) });
    await store.apply();
  });
  afterAll(async () => {
    await store?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const stores: [string, () => Promise<OnlineStore>][] = [['memory', () => createMemoryOnlineStore({ dir: null })]];
  if (redisUp) stores.push(['redis', async () => createRedisOnlineStore({ url: REDIS_URL, timeoutMs: 5000 })]);

  for (const [name, open] of stores) {
    it(`${name}: what materialize({ end: T }) wrote equals getHistoricalFeatures at T, for random entities`, async () => {
      const rand = prng(name === 'memory' ? 11 : 23);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
      // An hour boundary, just after rows landed, late in the data, and before most of it.
      const instants = ['2026-03-05T10:00:00Z', '2026-03-05T10:07:30Z', '2026-03-10T23:59:00Z', '2026-03-01T03:00:00Z'].map((t) => new Date(t));
      for (const T of instants) {
        const online = await open();
        const projectName = testProject();
        try {
          const ctx: MaterializeContext = { projectName, project: store.project, registry: store.registry, offline: store.offline, online };
          const results = await materialize(ctx, { end: T, batchRows: 64 });
          expect(results.map((r) => r.view).sort()).toEqual(['driver_hourly', 'rider_profile', 'zone_pair_stats']);
          const entities = Array.from({ length: 60 }, (_, i) => ({
            driver_id: i % 10 === 0 ? 9999 : 1 + Math.floor(rand() * 200),
            rider_id: i % 10 === 1 ? 'r9999' : `r${String(1 + Math.floor(rand() * 2000)).padStart(4, '0')}`,
            pickup_zone: `z${pick([1, 2, 3, 4, 5, 6, 7, 8, 9])}`, dropoff_zone: `z${pick([1, 2, 3, 4, 5, 6, 7, 8])}`,
            event_timestamp: T,
          }));
          const views = [...store.project.views.values()];
          const features = views.flatMap((v) => Object.keys(v.features).map((f) => `${v.name}:${f}`));
          const offline = await store.getHistoricalFeatures({ entities, features, fullFeatureNames: true }).toRows();
          const read = await online.read(views.map((view) => ({
            layout: onlineLayout(projectName, view), entityKeys: entities.map((e) => entityKeyOf(view, store.project.entities, e) as string),
          })));
          let present = 0;
          entities.forEach((entity, i) => {
            views.forEach((view: FeatureViewDef, v) => {
              const stored = read[v]?.[i] ?? null;
              const ttl = view.ttl === undefined ? null : parseDuration(view.ttl);
              const fresh = stored !== null && (ttl === null || stored.eventTs >= T.getTime() - ttl);
              if (fresh) present++;
              Object.keys(view.features).forEach((feature, f) => {
                const expected = offline[i]?.[`${view.name}__${feature}`];
                expect(fresh ? stored?.values[f] : null, `${T.toISOString()} ${view.name}:${feature} for ${JSON.stringify(entity)}`).toEqual(expected);
              });
            });
          });
          expect(present).toBeGreaterThan(30);
        } finally {
          await online.clearProject(projectName);
          await online.close();
        }
      }
    });
  }

  it('refuses unknown and on-demand views, a start after end, and views not applied as they are', async () => {
    const online = await createMemoryOnlineStore({ dir: null });
    const ctx: MaterializeContext = { projectName: 'rides', project: store.project, registry: store.registry, offline: store.offline, online };
    try {
      await expect(materialize(ctx, { end: new Date(), views: ['nope'] })).rejects.toMatchObject({ code: 'LARDER_E_UNKNOWN_VIEW' });
      await expect(materialize(ctx, { end: new Date(), views: ['trip_features'] })).rejects.toMatchObject({ code: 'LARDER_E_INVALID_REQUEST' });
      await expect(materialize(ctx, { start: new Date(2), end: new Date(1) })).rejects.toMatchObject({ code: 'LARDER_E_INVALID_REQUEST' });
      await expect(materialize(ctx, { end: new Date('nope') })).rejects.toMatchObject({ code: 'LARDER_E_INVALID_REQUEST' });
      await expect(materialize(ctx, { end: new Date(), pull: 'fast' as 'auto' })).rejects.toMatchObject({ code: 'LARDER_E_INVALID_REQUEST' });
      const fresh = await openStore({ dir: copyExample(mkdtempSync(path.join(root, 'unapplied-'))) });
      try {
        await expect(fresh.materialize({ end: new Date() })).rejects.toMatchObject({ code: 'LARDER_E_NOT_APPLIED' });
      } finally {
        await fresh.close();
      }
    } finally {
      await online.close();
    }
  });
});

describe('materializeIncremental', () => {
  let root: string;
  let store: FeatureStore;
  let online: OnlineStore;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'larder-incremental-'));
    const dir = await createMaterializeProject(path.join(root, 'p'), { project: 'inc', users: 50, rowsPerUser: 48 });
    store = await openStore({ dir });
    await store.apply();
    online = await store.onlineStore();
  });
  afterAll(async () => {
    await store?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const ctx = (): MaterializeContext => ({ projectName: 'inc', project: store.project, registry: store.registry, offline: store.offline, online });
  const at = (hours: number): Date => new Date(BASE + hours * HOUR);

  it('starts at end - ttl (all history without one), keeps a watermark per view, and continues from it', async () => {
    const progress: MaterializeProgress[] = [];
    const first = await store.materializeIncremental({ end: at(10), onProgress: (p) => progress.push(p) });
    const byView = (results: readonly MaterializeResult[]) => Object.fromEntries(results.map((r) => [r.view, r]));
    expect(Object.entries(byView(first)).map(([view, r]) => [view, r.start?.toISOString() ?? null, r.end.toISOString()]).sort()).toEqual([
      ['user_region', null, at(10).toISOString()],
      ['user_stats', at(10 - 24).toISOString(), at(10).toISOString()],
    ]);
    expect(byView(first)['user_stats']?.rows).toBe(50);
    const last = first.at(-1) as MaterializeResult;
    expect(progress.at(-1)).toMatchObject({ view: last.view, rows: last.rows, total: last.rows, etaSeconds: 0 });
    expect(await store.registry.getRecord(watermarkKey('user_stats'))).toMatchObject({ end: at(10).toISOString(), version: 1 });

    const second = await store.materializeIncremental({ end: at(15.5) });
    expect(second.map((r) => r.start?.toISOString())).toEqual([at(10).toISOString(), at(10).toISOString()]);
    // Nothing new: an end at or before the watermark writes nothing and keeps the watermark.
    const again = await store.materializeIncremental({ end: at(12), views: ['user_stats'] });
    expect(again).toMatchObject([{ view: 'user_stats', rows: 0 }]);
    expect(await store.registry.getRecord(watermarkKey('user_stats'))).toMatchObject({ end: at(15.5).toISOString() });

    // The chain of runs ends where one full run at the last end does.
    const full = await createMemoryOnlineStore({ dir: null });
    try {
      await materialize({ ...ctx(), online: full }, { end: at(15.5) });
      for (const view of store.project.views.values()) {
        const keys = Array.from({ length: 50 }, (_, u) => Array.from({ length: 3 }, (_, r) => entityKeyOf(view, store.project.entities, { user_id: `u${u}`, region: r }) as string)).flat();
        const layout = onlineLayout('inc', view);
        const [chained] = await online.read([{ layout, entityKeys: keys }]);
        const [once] = await full.read([{ layout, entityKeys: keys }]);
        expect(chained, view.name).toEqual(once);
      }
    } finally {
      await full.close();
    }
  });

  it('picks up rows that arrive late (created after the watermark, event before it)', async () => {
    // Row k = 31 of u7 has its event at 15 h and is created at 15 h 10..14 m: a run ending at
    // 15 h 05 m cannot see it; the next run, from that watermark, must.
    const view = store.project.views.get('user_stats') as FeatureViewDef;
    const layout = onlineLayout('late', view);
    const mem = await createMemoryOnlineStore({ dir: null });
    const lateCtx = { ...ctx(), projectName: 'late', online: mem };
    try {
      await store.registry.updateRecord(watermarkKey('user_stats'), () => ({ end: at(15 + 5 / 60).toISOString(), version: 1 }));
      await materialize(lateCtx, { start: at(0), end: at(15 + 5 / 60), views: ['user_stats'] });
      const [[before]] = await mem.read([{ layout, entityKeys: ['u7'] }]) as unknown as [[{ eventTs: number; createdTs: number }]];
      expect(before.eventTs).toBe(at(15).getTime());
      expect(before.createdTs).toBeLessThan(at(15 + 5 / 60).getTime());
      const [result] = await materializeIncremental(lateCtx, { end: at(15.4), views: ['user_stats'] });
      expect(result?.start).toEqual(at(15 + 5 / 60));
      const [[after]] = await mem.read([{ layout, entityKeys: ['u7'] }]) as unknown as [[{ eventTs: number; createdTs: number }]];
      expect(after.eventTs).toBe(at(15).getTime());
      expect(after.createdTs).toBeGreaterThanOrEqual(at(15 + 10 / 60).getTime());
    } finally {
      await mem.close();
    }
  });

  it('starts over after the view changed, since values in the old layout read as absent', async () => {
    await store.registry.updateRecord(watermarkKey('user_stats'), () => ({ end: at(20).toISOString(), version: 0 }));
    const [result] = await store.materializeIncremental({ end: at(21), views: ['user_stats'] });
    expect(result?.start).toEqual(at(21 - 24));
    expect(result?.rows).toBe(50);
    expect(await store.registry.getRecord(watermarkKey('user_stats'))).toMatchObject({ end: at(21).toISOString(), version: 1 });
  });
});

/** A row of the random source below; null marks a missing value. */
interface SourceRow { user: string | null; ev: number | null; cr: number | null; x: number | null; s: string | null }

describe('materialize: every pull mode stores the grouped pull\'s pick (last-write-wins keeps it)', () => {
  const MIN = 60_000;
  const DEFS = `import { entity, featureView, fileSource, t } from 'larder';
export const user = entity('user', { joinKeys: { user_id: t.string() } });
export const events = fileSource('events', { path: 'data/events.parquet', timestamp: 'ev', createdTimestamp: 'cr' });
export const eventsByEv = fileSource('events_ev', { path: 'data/events.parquet', timestamp: 'ev' });
export const picks = featureView('picks', { entities: [user], source: events, features: { x: t.float64(), s: t.string() } });
export const picksTtl = featureView('picks_ttl', { entities: [user], source: eventsByEv, ttl: '3650d', features: { x: t.float64(), s: t.string() } });
`;
  let fixture: Fixture;
  let store: FeatureStore;

  beforeAll(async () => {
    fixture = await createFixture('larder-materialize-pulls-');
    writeProjectFolder(path.join(fixture.dir, 'p'), { project: 'pulls', definitions: DEFS });
    await fixture.write('p/data/events.parquet', COLUMNS, [['u0', new Date(BASE), new Date(BASE), 1, 'a']]);
    store = await openStore({ dir: path.join(fixture.dir, 'p') });
    await store.apply();
  });
  afterAll(async () => {
    await store?.close();
    fixture?.cleanup();
  });

  const COLUMNS = [
    { name: 'user_id', type: 'VARCHAR' }, { name: 'ev', type: 'TIMESTAMP' }, { name: 'cr', type: 'TIMESTAMP' },
    { name: 'x', type: 'DOUBLE' }, { name: 's', type: 'VARCHAR' },
  ];

  /**
   * `prefix` rows of distinct users first (more than the 4096 rows of auto's first batch, so it
   * writes candidates before keys repeat), then rows with repeated keys, full ties (same user,
   * event and created time, other values), nulls, and rows outside the range on either side.
   */
  function generate(seed: number, prefix: number): SourceRow[] {
    const rand = prng(seed * 104_729);
    const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
    const chance = (p: number): boolean => rand() < p;
    const value = (): Pick<SourceRow, 'x' | 's'> => ({ x: chance(0.1) ? null : int(-40, 40) / 4, s: chance(0.1) ? null : `s${int(0, 9)}` });
    const rows: SourceRow[] = [];
    for (let i = 0; i < prefix; i++) {
      // Inside every range the test picks (start <= 7 min, end >= 12 min).
      const ev = BASE + int(8, 10) * MIN;
      rows.push({ user: `p${i}`, ev, cr: ev + int(0, 1) * MIN, ...value() });
    }
    for (let i = 0; i < 600; i++) {
      const last = rows.at(-1);
      if (last !== undefined && chance(0.1)) {
        rows.push({ ...last, ...value() });
        continue;
      }
      const ev = chance(0.03) ? null : BASE + int(0, 20) * MIN;
      rows.push({
        user: chance(0.03) ? null : prefix > 0 && chance(0.3) ? `p${int(0, prefix - 1)}` : `u${int(0, 19)}`,
        ev, cr: chance(0.03) ? null : (ev ?? BASE) + int(0, 4) * MIN, ...value(),
      });
    }
    return rows;
  }

  /** Per user: the freshest candidate's times and every value set that ties with it. */
  function oracle(rows: readonly SourceRow[], created: boolean, start: number | null, end: number): Map<string, { eventTs: number; createdTs: number | null; values: string[] }> {
    const out = new Map<string, { eventTs: number; createdTs: number | null; values: string[] }>();
    for (const r of rows) {
      if (r.user === null || r.ev === null || r.ev > end || (start !== null && r.ev < start)) continue;
      if (created && (r.cr === null || r.cr > end)) continue;
      const createdTs = created ? r.cr : null;
      const values = JSON.stringify([r.x, r.s]);
      const best = out.get(r.user);
      const order = best === undefined ? 1 : r.ev !== best.eventTs ? r.ev - best.eventTs : (createdTs ?? 0) - (best.createdTs ?? 0);
      if (order > 0) out.set(r.user, { eventTs: r.ev, createdTs, values: [values] });
      else if (order === 0) best?.values.push(values);
    }
    return out;
  }

  const stores: [string, () => Promise<OnlineStore>][] = [['memory', () => createMemoryOnlineStore({ dir: null })]];
  if (redisUp) stores.push(['redis', async () => createRedisOnlineStore({ url: REDIS_URL, timeoutMs: 5000 })]);

  for (const [name, open] of stores) {
    it(`${name}: candidates, auto (switching mid-stream or at once) and latest, on random sources with repeats, ties, nulls and out-of-range rows`, async () => {
      for (let seed = 1; seed <= 4; seed++) {
        const rand = prng(seed);
        const prefix = seed % 2 === 1 ? 6000 : 0;
        const rows = generate(seed, prefix);
        await fixture.write('p/data/events.parquet', COLUMNS, rows.map((r) => [r.user, r.ev === null ? null : new Date(r.ev), r.cr === null ? null : new Date(r.cr), r.x, r.s]));
        const start = rand() < 0.3 ? null : BASE + Math.floor(rand() * 8) * MIN;
        const end = BASE + (12 + Math.floor(rand() * 10)) * MIN;
        const users = [...new Set(rows.map((r) => r.user).filter((u): u is string => u !== null)), 'nobody'];
        for (const pull of ['candidates', 'auto', 'latest'] as const) {
          const online = await open();
          const projectName = testProject();
          try {
            const ctx: MaterializeContext = { projectName, project: store.project, registry: store.registry, offline: store.offline, online };
            const batchRows = 5 + Math.floor(rand() * 300);
            const results = await materialize(ctx, { start: start === null ? null : new Date(start), end: new Date(end), batchRows, pull });
            for (const view of [store.project.views.get('picks'), store.project.views.get('picks_ttl')] as FeatureViewDef[]) {
              const context = `${name} seed ${seed} ${view.name} pull ${pull} batchRows ${batchRows}`;
              const created = view.source.createdTimestamp !== undefined;
              const expected = oracle(rows, created, start, end);
              const candidates = [...expected.values()].length === 0 ? 0 : rows.filter((r) => r.user !== null && r.ev !== null && r.ev <= end && (start === null || r.ev >= start) && (!created || (r.cr !== null && r.cr <= end))).length;
              const result = results.find((r) => r.view === view.name) as MaterializeResult;
              expect(result.rows, context).toBe(result.written + result.skippedOlder);
              expect(result.pull, context).toBe(pull === 'auto' ? (prefix > 0 ? 'candidates-then-latest' : 'latest') : pull);
              if (pull === 'candidates') expect(result.rows, context).toBe(candidates);
              if (pull === 'latest') expect(result.rows, context).toBe(expected.size);

              // The grouped pull, for the same range: what every mode must have stored.
              const grouped = new Map<string, { eventTs: number; createdTs: number | null; values: string }>();
              for await (const b of store.offline.pullLatest({ project: store.project, view, start: start === null ? null : new Date(start), end: new Date(end) })) {
                for (let i = 0; i < b.length; i++) {
                  grouped.set(String(b.keys[0]?.[i]), { eventTs: b.eventTs[i] as number, createdTs: b.createdTs === null ? null : b.createdTs[i] as number, values: JSON.stringify(b.features.map((f) => f[i])) });
                }
              }
              const [stored] = await online.read([{ layout: onlineLayout(projectName, view), entityKeys: users.map((u) => entityKeyOf(view, store.project.entities, { user_id: u }) as string) }]);
              users.forEach((user, i) => {
                const want = expected.get(user);
                const got = stored?.[i] ?? null;
                const pick = grouped.get(user);
                if (want === undefined) {
                  expect(got, `${context}: ${user}`).toBeNull();
                  expect(pick, `${context}: ${user}`).toBeUndefined();
                  return;
                }
                expect(got && { eventTs: got.eventTs, createdTs: got.createdTs }, `${context}: ${user}`).toEqual({ eventTs: want.eventTs, createdTs: want.createdTs });
                expect(pick && { eventTs: pick.eventTs, createdTs: pick.createdTs }, `${context}: ${user}`).toEqual({ eventTs: want.eventTs, createdTs: want.createdTs });
                // Full ties are resolved arbitrarily, by both pulls: any of the tied rows.
                expect(want.values, `${context}: ${user}`).toContain(JSON.stringify(got?.values));
                if (want.values.length === 1) expect(JSON.stringify(got?.values), `${context}: ${user}`).toBe(pick?.values);
              });
            }
          } finally {
            await online.clearProject(projectName);
            await online.close();
          }
        }
      }
    });
  }
});
