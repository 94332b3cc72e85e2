/**
 * Windowed aggregations in getHistoricalFeatures against a brute-force oracle of DESIGN §4
 * (window `[T - lag - w, T - lag)`), on seeded random cases full of the nasty parts: entity
 * times exactly at `event + lag`, `event + lag + w` and 1 ms either side (so events fall exactly
 * on both window edges and at T), many events at one instant, empty windows, nulls in the
 * aggregated columns, null keys and times, duplicate entity rows, a composite key, every
 * function, several windows and lags per view, SQL expressions, every kind of source, and a
 * batch view in the same request. Every cell must match (floats within 1e-9 relative).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agg, type AggregationDef } from '../define/aggregations.ts';
import { entity, featureView, fileSource, pushSource, sqlSource, type BatchSourceDef } from '../define/definitions.ts';
import { t } from '../define/dtypes.ts';
import { formatDuration } from '../define/duration.ts';
import { buildProject } from '../define/project.ts';
import { selectFeatures } from '../define/selection.ts';
import { createDuckDBOfflineStore } from './duckdb-store.ts';
import type { OfflineStore } from './store.ts';
import { createFixture, prng, type Fixture } from './test-support.ts';

const CASES = 100;
const HOUR = 3_600_000;
const BASE = Date.UTC(2024, 0, 1);

type Val = number | string | null;
interface Event { user: string | null; origin: string | null; dest: number | null; ts: number | null; x: number | null; y: number | null; s: string | null }
interface Expr { sql: string; js: (e: Event) => Val }
interface AggSpec { name: string; fn: AggregationDef['fn']; expr?: Expr; windowMs: number | null; lagMs: number; def: AggregationDef; integer: boolean }
interface EntityRow { user: string | null; origin: string | null; dest: number | null; at: number | null; label: number }

const EXPRS: Record<string, Expr> = {
  x: { sql: 'x', js: (e) => e.x },
  y: { sql: 'y', js: (e) => e.y },
  s: { sql: 's', js: (e) => e.s },
  mix: { sql: 'x * 2 + y', js: (e) => (e.x === null || e.y === null ? null : e.x * 2 + e.y) },
  late: { sql: 'CAST(y > 0 AS DOUBLE)', js: (e) => (e.y === null ? null : e.y > 0 ? 1 : 0) },
  pos: { sql: 'CASE WHEN x > 0 THEN x END', js: (e) => (e.x !== null && e.x > 0 ? e.x : null) },
};

/** DESIGN §4 written the obvious way. */
function oracle(a: AggSpec, events: readonly Event[], keys: (e: Event) => boolean, T: number | null): Val {
  const empty = a.fn === 'count' || a.fn === 'countDistinct' ? 0 : null;
  if (T === null) return empty;
  const end = T - a.lagMs;
  const inWindow = events.filter((e) => e.ts !== null && keys(e) && e.ts < end && (a.windowMs === null || e.ts >= end - a.windowMs));
  if (a.fn === 'count') return inWindow.length;
  const pairs = inWindow.map((e) => ({ ts: e.ts as number, v: (a.expr as Expr).js(e) })).filter((p) => p.v !== null);
  const vs = pairs.map((p) => p.v) as (number & string)[];
  if (a.fn === 'countDistinct') return new Set(vs).size;
  if (vs.length === 0) return null;
  const nums = vs as number[];
  switch (a.fn) {
    case 'sum': return nums.reduce((s, v) => s + v, 0);
    case 'avg': return nums.reduce((s, v) => s + v, 0) / nums.length;
    case 'min': return vs.reduce((m, v) => (v < m ? v : m));
    case 'max': return vs.reduce((m, v) => (v > m ? v : m));
    case 'stddev': {
      if (nums.length < 2) return null;
      const mean = nums.reduce((s, v) => s + v, 0) / nums.length;
      return Math.sqrt(nums.reduce((s, v) => s + (v - mean) ** 2, 0) / (nums.length - 1));
    }
    case 'last': {
      let best = pairs[0] as { ts: number; v: Val };
      for (const p of pairs) if (p.ts > best.ts || (p.ts === best.ts && (p.v as number) > (best.v as number))) best = p;
      return best.v;
    }
  }
}

function generate(seed: number) {
  const rand = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const chance = (p: number) => rand() < p;

  const events: Event[] = [];
  const n = int(0, 40);
  // A few instants shared by many events: ties at one time, at window edges.
  const instants = Array.from({ length: 4 }, () => BASE + int(0, 30) * HOUR);
  for (let i = 0; i < n; i++) {
    events.push({
      user: chance(0.04) ? null : pick(['u0', 'u1', 'u2']),
      origin: chance(0.04) ? null : pick(['SFO', 'LAX']),
      dest: chance(0.04) ? null : pick([1, 2]),
      ts: chance(0.03) ? null : chance(0.4) ? pick(instants) : BASE + int(0, 30) * HOUR + (chance(0.2) ? pick([-1, 1]) : 0),
      x: chance(0.2) ? null : int(-40, 40) / 4,
      y: chance(0.2) ? null : int(-30, 30),
      s: chance(0.2) ? null : `s${int(0, 6)}`,
    });
  }

  // An event no entity row matches, so that CSV sniffing always sees a value in every column.
  events.push({ user: 'zz', origin: 'ZZZ', dest: 99, ts: BASE, x: 0.5, y: 1, s: 'z' });

  const windows = [HOUR, 3 * HOUR, 6 * HOUR, 24 * HOUR];
  const lags = [0, 0, HOUR, 2 * HOUR];
  const catalog: (() => Omit<AggSpec, 'name' | 'def' | 'integer'> & { type?: ReturnType<typeof t.int64> | ReturnType<typeof t.string> })[] = [
    () => ({ fn: 'count', windowMs: pick(windows), lagMs: pick(lags) }),
    () => ({ fn: 'sum', expr: EXPRS[pick(['x', 'mix', 'late'])] as Expr, windowMs: pick(windows), lagMs: pick(lags) }),
    () => ({ fn: 'sum', expr: EXPRS['y'] as Expr, windowMs: pick(windows), lagMs: pick(lags), type: t.int64() }),
    () => ({ fn: 'avg', expr: EXPRS[pick(['x', 'y', 'late', 'pos'])] as Expr, windowMs: pick(windows), lagMs: pick(lags) }),
    () => ({ fn: 'min', expr: EXPRS[pick(['x', 'mix'])] as Expr, windowMs: pick(windows), lagMs: pick(lags) }),
    () => ({ fn: 'max', expr: EXPRS['y'] as Expr, windowMs: pick(windows), lagMs: pick(lags), type: t.int64() }),
    () => ({ fn: 'min', expr: EXPRS['s'] as Expr, windowMs: pick(windows), lagMs: pick(lags), type: t.string() }),
    () => ({ fn: 'stddev', expr: EXPRS[pick(['x', 'y', 'mix'])] as Expr, windowMs: pick(windows), lagMs: pick(lags) }),
    () => ({ fn: 'countDistinct', expr: EXPRS[pick(['s', 'y'])] as Expr, windowMs: pick(windows), lagMs: pick(lags) }),
    () => ({ fn: 'last', expr: EXPRS[pick(['x', 'pos'])] as Expr, windowMs: chance(0.5) ? null : pick(windows), lagMs: pick(lags) }),
    () => ({ fn: 'last', expr: EXPRS['s'] as Expr, windowMs: chance(0.5) ? null : pick(windows), lagMs: pick(lags), type: t.string() }),
  ];
  const specs = (prefix: string, count: number): AggSpec[] => Array.from({ length: count }, (_, i) => {
    const c = pick(catalog)();
    const options = { ...(c.lagMs === 0 && chance(0.5) ? {} : { lag: formatDuration(c.lagMs) }), ...(c.type ? { type: c.type } : {}) };
    const w = c.windowMs === null ? undefined : formatDuration(c.windowMs);
    const x = c.expr?.sql as string;
    const def: AggregationDef = c.fn === 'count' ? agg.count(w as string, options)
      : c.fn === 'last' ? (w === undefined ? agg.last(x, options) : agg.last(x, w, options))
        : agg[c.fn](x, w as string, options);
    return { name: `${prefix}${i}`, fn: c.fn, ...(c.expr ? { expr: c.expr } : {}), windowMs: c.windowMs, lagMs: c.lagMs, def, integer: c.type?.kind === 'int64' };
  });
  const userAggs = specs('u', int(1, 7));
  const routeAggs = specs('r', int(1, 5));

  // Entity times aimed at the window edges of every aggregation.
  const times: number[] = [];
  for (const e of events) {
    if (e.ts === null) continue;
    for (const a of [...userAggs, ...routeAggs]) {
      const edge = e.ts + a.lagMs;
      times.push(edge, edge + 1, edge - 1);
      if (a.windowMs !== null) times.push(edge + a.windowMs, edge + a.windowMs + 1, edge + a.windowMs - 1);
    }
  }
  const entities: EntityRow[] = [];
  // One row at times: the dataset then reaches back exactly one window, which tests the event pruning at its edge.
  const m = chance(0.3) ? 1 : int(1, 14);
  for (let i = 0; i < m; i++) {
    if (i > 0 && chance(0.15)) { entities.push({ ...(entities[int(0, i - 1)] as EntityRow), label: i }); continue; }
    entities.push({
      user: chance(0.05) ? null : pick(['u0', 'u1', 'u2', 'u9']),
      origin: chance(0.05) ? null : pick(['SFO', 'LAX', 'JFK']),
      dest: chance(0.05) ? null : pick([1, 2, 7]),
      at: chance(0.04) ? null : times.length > 0 && chance(0.8) ? pick(times) : BASE + int(-2, 60) * HOUR,
      label: i,
    });
  }
  const sourceKind = pick(['parquet', 'csv', 'sql', 'push'] as const);
  return { events, userAggs, routeAggs, entities, sourceKind, withBatch: chance(0.5) };
}

let fixture: Fixture;
let store: OfflineStore;

beforeAll(async () => {
  fixture = await createFixture('larder-agg-oracle-');
  store = await createDuckDBOfflineStore({ path: ':memory:', projectDir: fixture.dir });
});
afterAll(async () => {
  await store?.close();
  fixture?.cleanup();
});

const COLUMNS = [
  { name: 'user', type: 'VARCHAR' }, { name: 'origin', type: 'VARCHAR' }, { name: 'dest', type: 'BIGINT' }, { name: 'ts', type: 'TIMESTAMP' },
  { name: 'x', type: 'DOUBLE' }, { name: 'y', type: 'BIGINT' }, { name: 's', type: 'VARCHAR' },
];

async function writeSource(c: number, kind: string, events: readonly Event[]): Promise<BatchSourceDef> {
  const rows = events.map((e) => [e.user, e.origin, e.dest, e.ts === null ? null : new Date(e.ts), e.x, e.y, e.s]);
  const file = await fixture.write(`case${c}/events.${kind === 'csv' ? 'csv' : 'parquet'}`, COLUMNS, rows);
  switch (kind) {
    case 'csv': return fileSource('events', { path: `case${c}/events.csv`, timestamp: 'ts' });
    case 'sql': return sqlSource('events', { query: `SELECT * FROM read_parquet('${file}')`, timestamp: 'ts' });
    case 'push': return pushSource('events', {
      schema: { user: t.string(), origin: t.string(), dest: t.int64(), ts: t.timestamp(), x: t.float64(), y: t.int64(), s: t.string() },
      timestamp: 'ts', batchPath: `case${c}/events.parquet`,
    });
    default: return fileSource('events', { path: `case${c}/events.parquet`, timestamp: 'ts' });
  }
}

function close(actual: unknown, expected: Val, integer: boolean): boolean {
  if (typeof expected !== 'number' || typeof actual !== 'number' || integer) return actual === expected;
  return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
}

describe('windowed aggregations vs the brute-force oracle', () => {
  it(`match every cell on ${CASES} seeded random cases`, async () => {
    const coverage = { fns: new Set<string>(), sources: new Set<string>(), nonEmpty: 0, empty: 0, atLowerEdge: 0, atUpperEdge: 0, withBatch: 0 };
    for (let c = 0; c < CASES; c++) {
      const { events, userAggs, routeAggs, entities, sourceKind, withBatch } = generate(7000 + c);
      const user = entity('user', { joinKeys: { user: t.string() } });
      const route = entity('route', { joinKeys: { origin: t.string(), dest: t.int64() } });
      const source = await writeSource(c, sourceKind, events);
      const userView = featureView('user_aggs', { entities: [user], source, aggregations: Object.fromEntries(userAggs.map((a) => [a.name, a.def])) });
      const routeView = featureView('route_aggs', { entities: [route], source, aggregations: Object.fromEntries(routeAggs.map((a) => [a.name, a.def])) });
      const latest = featureView('user_latest', { entities: [user], source, features: { y: t.int64() } });
      const { project, issues } = buildProject([user, route, source, userView, routeView, latest]);
      expect(issues).toEqual([]);
      const features = withBatch ? ['user_aggs', 'user_latest', 'route_aggs'] : ['route_aggs', 'user_aggs'];
      const rows = entities.map((e) => ({ user: e.user, origin: e.origin, dest: e.dest, event_timestamp: e.at === null ? null : new Date(e.at), label: e.label }));
      const actual = await store.getHistoricalFeatures({ project, selection: selectFeatures(project, { features }), entities: rows }).toRows();

      expect(actual.length).toBe(entities.length);
      entities.forEach((e, r) => {
        const row = actual[r] as Record<string, unknown>;
        expect(row['label']).toBe(e.label);
        const check = (a: AggSpec, keys: (ev: Event) => boolean, keyed: boolean) => {
          const expected = oracle(a, events, keys, keyed ? e.at : null);
          if (!close(row[a.name], expected, a.integer)) {
            expect({ case: c, row: r, feature: a.name, fn: a.fn, expr: a.expr?.sql, windowMs: a.windowMs, lagMs: a.lagMs, entity: e, events, value: row[a.name] })
              .toEqual({ case: c, row: r, feature: a.name, fn: a.fn, expr: a.expr?.sql, windowMs: a.windowMs, lagMs: a.lagMs, entity: e, events, value: expected });
          }
          coverage.fns.add(a.fn);
          if (expected !== null && expected !== 0) coverage.nonEmpty++; else coverage.empty++;
          if (e.at !== null && events.some((ev) => keys(ev) && ev.ts === (e.at as number) - a.lagMs)) coverage.atUpperEdge++;
          if (e.at !== null && a.windowMs !== null && events.some((ev) => keys(ev) && ev.ts === (e.at as number) - a.lagMs - (a.windowMs as number))) coverage.atLowerEdge++;
        };
        for (const a of userAggs) check(a, (ev) => ev.user !== null && ev.user === e.user, e.user !== null);
        for (const a of routeAggs) check(a, (ev) => ev.origin !== null && ev.origin === e.origin && ev.dest === e.dest, e.origin !== null && e.dest !== null);
        if (withBatch) {
          let best: Event | undefined;
          for (const ev of events) {
            if (ev.ts === null || ev.user === null || ev.user !== e.user || e.at === null || ev.ts > e.at) continue;
            if (!best || ev.ts > (best.ts as number)) best = ev;
          }
          // Full ties are resolved arbitrarily by the batch join: only check unambiguous rows.
          const tied = best !== undefined && events.filter((ev) => ev.user === e.user && ev.ts === best?.ts).length > 1;
          if (!tied) expect(row['y']).toBe(best ? best.y : null);
        }
      });
      expect(Object.keys(actual[0] ?? {})).toEqual(['user', 'origin', 'dest', 'event_timestamp', 'label',
        ...(withBatch ? [...userAggs.map((a) => a.name), 'y', ...routeAggs.map((a) => a.name)] : [...routeAggs.map((a) => a.name), ...userAggs.map((a) => a.name)])]);
      coverage.sources.add(sourceKind);
      if (withBatch) coverage.withBatch++;
    }
    expect([...coverage.fns].sort()).toEqual(['avg', 'count', 'countDistinct', 'last', 'max', 'min', 'stddev', 'sum']);
    expect([...coverage.sources].sort()).toEqual(['csv', 'parquet', 'push', 'sql']);
    expect(coverage.nonEmpty).toBeGreaterThan(CASES * 5);
    expect(coverage.empty).toBeGreaterThan(CASES);
    expect(coverage.atUpperEdge).toBeGreaterThan(CASES / 2);
    expect(coverage.atLowerEdge).toBeGreaterThan(CASES / 2);
    expect(coverage.withBatch).toBeGreaterThan(CASES / 4);
  }, 60_000);
});
