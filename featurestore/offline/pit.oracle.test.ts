/**
 * The point-in-time join against a brute-force oracle of DESIGN §4, on seeded random cases full
 * of the nasty parts: T equal to event times, events exactly at T - ttl and 1 ms before it,
 * rows created after T, late-arriving rows, duplicate entity rows, keys absent from the source,
 * null keys, null times, null feature values, composite keys, three views at once, CSV and
 * Parquet sources, and every kind of entity input. Every cell must match.
 */
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entity, featureView, fileSource } from '../define/definitions.ts';
import { t } from '../define/dtypes.ts';
import { buildProject } from '../define/project.ts';
import { selectFeatures } from '../define/selection.ts';
import { formatDuration } from '../define/duration.ts';
import { createDuckDBOfflineStore } from './duckdb-store.ts';
import type { EntityInput, OfflineStore } from './store.ts';
import { createFixture, prng, type Fixture } from './test-support.ts';

const CASES = 300;
const HOUR = 3_600_000;
const BASE = Date.UTC(2024, 0, 1);

type Key = string | number | null;
type FeatureKind = 'float64' | 'int64' | 'string' | 'bool';
interface SourceRow { keys: Key[]; ev: number | null; cr: number | null; values: Record<string, unknown> }
interface ViewSpec {
  name: string;
  keys: { name: string; kind: 'string' | 'int64' }[];
  created: boolean;
  ttlMs: number | undefined;
  features: { name: string; kind: FeatureKind }[];
  format: 'csv' | 'parquet';
  rows: SourceRow[];
}
interface EntityRow { user_id: string | null; origin: string | null; dest: number | null; event_timestamp: number | null; label: number }

/** DESIGN §4, written the obvious way. */
function oracle(view: ViewSpec, keys: Key[], T: number | null): Record<string, unknown> {
  const nulls = Object.fromEntries(view.features.map((f) => [f.name, null]));
  if (T === null || keys.some((k) => k === null)) return nulls;
  let best: SourceRow | undefined;
  for (const row of view.rows) {
    if (row.ev === null || row.keys.some((k, i) => k === null || k !== keys[i])) continue;
    if (row.ev > T) continue;
    if (view.ttlMs !== undefined && row.ev < T - view.ttlMs) continue;
    if (view.created && (row.cr === null || row.cr > T)) continue;
    if (!best || row.ev > (best.ev as number) || (view.created && row.ev === best.ev && (row.cr as number) > (best.cr as number))) best = row;
  }
  return best ? best.values : nulls;
}

function generate(seed: number) {
  const rand = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const chance = (p: number) => rand() < p;

  const value = (kind: FeatureKind): unknown => {
    if (chance(0.15)) return null;
    switch (kind) {
      case 'float64': return int(-40, 40) / 4;
      case 'int64': return int(-1000, 1000);
      case 'string': return `s${int(0, 50)}`;
      case 'bool': return chance(0.5);
    }
  };
  const spec = (name: string, keys: ViewSpec['keys'], features: ViewSpec['features'], created: boolean, ttl: boolean): ViewSpec => ({
    name, keys, features, created, ttlMs: ttl ? int(1, 6) * HOUR : undefined, format: chance(0.5) ? 'csv' : 'parquet', rows: [],
  });
  const views = [
    spec('user_late', [{ name: 'user_id', kind: 'string' }], [{ name: 'a_x', kind: 'float64' }, { name: 'a_n', kind: 'int64' }], true, chance(0.4)),
    spec('user_ttl', [{ name: 'user_id', kind: 'string' }], [{ name: 'b_x', kind: 'float64' }, { name: 'b_s', kind: 'string' }], chance(0.3), true),
    spec('route_stats', [{ name: 'origin', kind: 'string' }, { name: 'dest', kind: 'int64' }], [{ name: 'c_x', kind: 'float64' }, { name: 'c_b', kind: 'bool' }], chance(0.5), chance(0.5)),
  ];
  const users = ['u0', 'u1', 'u2'];
  const origins = ['SFO', 'LAX'];
  const dests = [1, 2];
  const keyOf = (view: ViewSpec): Key[] => (view.keys.length === 1 ? [pick(users)] : [pick(origins), pick(dests)]);

  for (const view of views) {
    const ties = new Map<string, Record<string, unknown>>();
    const n = int(0, 14);
    for (let i = 0; i < n; i++) {
      const keys = keyOf(view).map((k) => (chance(0.04) ? null : k));
      const ev = chance(0.03) ? null : BASE + int(0, 24) * HOUR + (chance(0.15) ? pick([-1, 1]) : 0);
      const lag = pick([0, 0, 1, HOUR, 3 * HOUR, 20 * HOUR, -HOUR]);
      const cr = view.created ? (ev === null ? BASE : ev + lag) : null;
      // Full ties (same keys and times) only ever carry identical values.
      const tie = JSON.stringify([keys, ev, cr]);
      const values = ties.get(tie) ?? Object.fromEntries(view.features.map((f) => [f.name, value(f.kind)]));
      ties.set(tie, values);
      view.rows.push({ keys, ev, cr: view.created && chance(0.03) ? null : cr, values });
    }
  }

  // Entity times aimed at the edges: event times, T - ttl exactly and 1 ms past it, creation times.
  const times: number[] = [];
  for (const view of views) {
    for (const row of view.rows) {
      if (row.ev === null) continue;
      times.push(row.ev, row.ev - 1);
      if (view.ttlMs !== undefined) times.push(row.ev + view.ttlMs, row.ev + view.ttlMs + 1);
      if (row.cr !== null) times.push(row.cr, row.cr - 1);
    }
  }
  const entities: EntityRow[] = [];
  const m = int(1, 16);
  for (let i = 0; i < m; i++) {
    if (i > 0 && chance(0.12)) { entities.push({ ...(entities[int(0, i - 1)] as EntityRow), label: i }); continue; }
    const T = chance(0.04) ? null : times.length > 0 && chance(0.75) ? pick(times) : BASE + int(-2, 30) * HOUR;
    entities.push({
      user_id: chance(0.05) ? null : pick([...users, 'u9']),
      origin: chance(0.05) ? null : pick([...origins, 'JFK']),
      dest: chance(0.05) ? null : pick([...dests, 7]),
      event_timestamp: T,
      label: i,
    });
  }
  const input = pick(['rows', 'arrow', 'parquet', 'csv', 'sql'] as const);
  return { views, entities, input };
}

let fixture: Fixture;
let store: OfflineStore;

beforeAll(async () => {
  fixture = await createFixture('larder-oracle-');
  store = await createDuckDBOfflineStore({ path: ':memory:', projectDir: fixture.dir });
});
afterAll(async () => {
  await store?.close();
  fixture?.cleanup();
});

async function writeSource(c: number, view: ViewSpec): Promise<string> {
  const keyType = (k: 'string' | 'int64') => (k === 'string' ? 'VARCHAR' : 'BIGINT');
  const featureType = { float64: 'DOUBLE', int64: 'BIGINT', string: 'VARCHAR', bool: 'BOOLEAN' } as const;
  const tsType = c % 2 === 0 ? 'TIMESTAMP' : 'TIMESTAMPTZ';
  const columns = [
    ...view.keys.map((k) => ({ name: k.name, type: keyType(k.kind) })),
    { name: 'ev', type: tsType },
    ...(view.created ? [{ name: 'cr', type: tsType }] : []),
    ...view.features.map((f) => ({ name: f.name, type: featureType[f.kind] })),
  ];
  const rows = view.rows.map((r) => [
    ...r.keys, r.ev === null ? null : new Date(r.ev), ...(view.created ? [r.cr === null ? null : new Date(r.cr)] : []),
    ...view.features.map((f) => r.values[f.name]),
  ]);
  const name = `case${c}_${view.name}.${view.format}`;
  await fixture.write(name, columns, rows);
  return name;
}

async function entityInput(c: number, kind: string, rows: EntityRow[]): Promise<EntityInput> {
  const plain = rows.map((r) => ({ ...r, event_timestamp: r.event_timestamp === null ? null : new Date(r.event_timestamp) }));
  if (kind === 'rows') return plain;
  if (kind === 'arrow') {
    return new arrow.Table({
      user_id: arrow.vectorFromArray(plain.map((r) => r.user_id), new arrow.Utf8()),
      origin: arrow.vectorFromArray(plain.map((r) => r.origin), new arrow.Utf8()),
      dest: arrow.vectorFromArray(plain.map((r) => r.dest), new arrow.Int32()),
      event_timestamp: arrow.vectorFromArray(plain.map((r) => r.event_timestamp), new arrow.TimestampMillisecond()),
      label: arrow.vectorFromArray(plain.map((r) => r.label), new arrow.Int32()),
    });
  }
  const columns = [
    { name: 'user_id', type: 'VARCHAR' }, { name: 'origin', type: 'VARCHAR' }, { name: 'dest', type: 'BIGINT' },
    { name: 'event_timestamp', type: 'TIMESTAMP' }, { name: 'label', type: 'BIGINT' },
  ];
  const values = plain.map((r) => [r.user_id, r.origin, r.dest, r.event_timestamp, r.label]);
  const file = await fixture.write(`case${c}_entities.${kind === 'csv' ? 'csv' : 'parquet'}`, columns, values);
  return kind === 'sql' ? `SELECT * FROM read_parquet('${file}')` : kind === 'csv' ? file : { path: `case${c}_entities.parquet` };
}

describe('point-in-time join vs the brute-force oracle', () => {
  it(`matches every cell on ${CASES} seeded random cases`, async () => {
    const coverage = { ttl: 0, created: 0, createdAndTtl: 0, csv: 0, parquet: 0, matches: 0, nullMatches: 0 };
    for (let c = 0; c < CASES; c++) {
      const { views, entities, input } = generate(1000 + c);
      const user = entity('user', { joinKeys: { user_id: t.string() } });
      const route = entity('route', { joinKeys: { origin: t.string(), dest: t.int64() } });
      const defs: unknown[] = [user, route];
      for (const view of views) {
        const path = await writeSource(c, view);
        const source = fileSource(`${view.name}_src`, { path, timestamp: 'ev', ...(view.created ? { createdTimestamp: 'cr' } : {}) });
        const dtypes = { float64: t.float64(), int64: t.int64(), string: t.string(), bool: t.bool() };
        defs.push(source, featureView(view.name, {
          entities: view.keys.length === 1 ? [user] : [route], source,
          ...(view.ttlMs === undefined ? {} : { ttl: formatDuration(view.ttlMs) }),
          features: Object.fromEntries(view.features.map((f) => [f.name, dtypes[f.kind]])),
        }));
        coverage.ttl += view.ttlMs !== undefined ? 1 : 0;
        coverage.created += view.created ? 1 : 0;
        coverage.createdAndTtl += view.created && view.ttlMs !== undefined ? 1 : 0;
        coverage[view.format]++;
      }
      const { project, issues } = buildProject(defs as never);
      expect(issues).toEqual([]);
      const selection = selectFeatures(project, { features: views.map((v) => v.name) });
      const job = store.getHistoricalFeatures({ project, selection, entities: await entityInput(c, input, entities) });
      const actual = await job.toRows();

      const expected = entities.map((e) => {
        const row: Record<string, unknown> = {
          user_id: e.user_id, origin: e.origin, dest: e.dest,
          event_timestamp: e.event_timestamp === null ? null : new Date(e.event_timestamp), label: e.label,
        };
        for (const view of views) {
          const found = oracle(view, view.keys.map((k) => (e as unknown as Record<string, Key>)[k.name] ?? null), e.event_timestamp);
          if (Object.values(found).some((v) => v !== null)) coverage.matches++; else coverage.nullMatches++;
          Object.assign(row, found);
        }
        return row;
      });
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        expect({ case: c, input, views, actual }).toEqual({ case: c, input, views, actual: expected });
      }
      expect(actual.map((r) => Object.keys(r))).toEqual(expected.map((r) => Object.keys(r)));
    }
    // The generator must actually exercise what it claims to.
    expect(coverage.ttl).toBeGreaterThan(CASES);
    expect(coverage.created).toBeGreaterThan(CASES);
    expect(coverage.createdAndTtl).toBeGreaterThan(CASES / 10);
    expect(coverage.csv).toBeGreaterThan(CASES / 2);
    expect(coverage.parquet).toBeGreaterThan(CASES / 2);
    expect(coverage.matches).toBeGreaterThan(CASES);
    expect(coverage.nullMatches).toBeGreaterThan(CASES);
  });
});
