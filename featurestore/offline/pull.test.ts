/**
 * The materialization pull against a brute-force oracle of its rule (the point-in-time pick at
 * T = end over start <= event_ts <= end), on seeded random sources with the nasty cases: ties on
 * event time broken by created time, rows created after end, rows outside [start, end] on both
 * sides, rows exactly at start and end, null keys and times, composite keys, CSV and Parquet,
 * open starts, and late arrivals for incremental runs; time columns typed TIMESTAMP,
 * TIMESTAMPTZ (compared as they are) or TIMESTAMP_MS (cast). The `candidates` pull is checked
 * against the same rule's candidate rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entity, featureView, fileSource, pushSource } from '../define/definitions.ts';
import { t } from '../define/dtypes.ts';
import { buildProject } from '../define/project.ts';
import { createDuckDBOfflineStore } from './duckdb-store.ts';
import type { OfflineStore, PulledBatch, PullRequest } from './store.ts';
import { createFixture, prng, type Fixture } from './test-support.ts';

const CASES = 60;
const MIN = 60_000;
const BASE = Date.UTC(2024, 0, 1);

interface Row { user: string | null; zone: number | null; ev: number | null; cr: number | null; x: number | null; s: string | null }
interface Picked { eventTs: number; createdTs: number | null; values: unknown[] }

/** Whether a row is a candidate of the pick at `end` (DESIGN §4, with the incremental late-arrival rule). */
function qualifies(row: Row, composite: boolean, created: boolean, start: number | null, end: number, createdAfter: number | undefined): boolean {
  if (row.user === null || (composite && row.zone === null) || row.ev === null || row.ev > end) return false;
  if (created && (row.cr === null || row.cr > end)) return false;
  const late = created && createdAfter !== undefined && (row.cr as number) > createdAfter;
  return start === null || row.ev >= start || late;
}

function oracle(rows: readonly Row[], composite: boolean, created: boolean, start: number | null, end: number, createdAfter: number | undefined): Map<string, Picked> {
  const best = new Map<string, Row>();
  for (const row of rows) {
    if (!qualifies(row, composite, created, start, end, createdAfter)) continue;
    const key = composite ? `${row.user}|${row.zone}` : row.user as string;
    const seen = best.get(key);
    if (!seen || (row.ev as number) > (seen.ev as number) || (created && row.ev === seen.ev && (row.cr as number) > (seen.cr as number))) best.set(key, row);
  }
  return new Map([...best].map(([k, r]) => [k, { eventTs: r.ev as number, createdTs: created ? r.cr : null, values: [r.x, r.s] }]));
}

/** Rows as sortable text, for comparing multisets of candidate rows. */
function candidateTexts(rows: readonly Row[], composite: boolean, created: boolean, start: number | null, end: number, createdAfter: number | undefined): string[] {
  return rows.filter((r) => qualifies(r, composite, created, start, end, createdAfter)).map((r) => JSON.stringify([
    composite ? `${r.user}|${r.zone}` : r.user, r.ev, created ? r.cr : null, r.x, r.s,
  ])).sort();
}

function pulledTexts(batches: readonly PulledBatch[]): string[] {
  return batches.flatMap((b) => Array.from({ length: b.length }, (_, i) => JSON.stringify([
    b.keys.map((column) => String(column[i])).join('|'), b.eventTs[i], b.createdTs === null ? null : b.createdTs[i], ...b.features.map((f) => f[i]),
  ]))).sort();
}

function flatten(batches: readonly PulledBatch[]): Map<string, Picked> {
  const out = new Map<string, Picked>();
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      const key = b.keys.map((column) => String(column[i])).join('|');
      expect(out.has(key), `entity ${key} pulled twice`).toBe(false);
      out.set(key, { eventTs: b.eventTs[i] as number, createdTs: b.createdTs === null ? null : b.createdTs[i] as number, values: b.features.map((f) => f[i]) });
    }
  }
  return out;
}

async function collect(iterable: AsyncIterable<PulledBatch>): Promise<PulledBatch[]> {
  const out: PulledBatch[] = [];
  for await (const batch of iterable) out.push(batch);
  return out;
}

describe('pullLatest', () => {
  let fixture: Fixture;
  let store: OfflineStore;

  beforeAll(async () => {
    fixture = await createFixture('larder-pull-');
    store = await createDuckDBOfflineStore({ path: ':memory:', projectDir: fixture.dir, threads: 2 });
  });
  afterAll(async () => {
    await store?.close();
    fixture?.cleanup();
  });

  it(`matches the brute-force oracle on ${CASES} seeded cases`, async () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const rand = prng(seed * 7919);
      const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
      const chance = (p: number): boolean => rand() < p;
      const composite = chance(0.4);
      const created = chance(0.6);
      const format = chance(0.5) ? 'csv' : 'parquet';
      // Parquet time columns of each type the pull handles its own way (pull.ts, timeColumn).
      const timeTypes = ['TIMESTAMP', 'TIMESTAMPTZ', 'TIMESTAMP_MS'];
      const evType = format === 'csv' ? 'TIMESTAMP' : timeTypes[int(0, 2)] as string;
      const crType = format === 'csv' ? 'TIMESTAMP' : timeTypes[int(0, 2)] as string;
      const rows: Row[] = [];
      const seen = new Set<string>();
      for (let i = int(0, 40); i > 0; i--) {
        const ev = chance(0.05) ? null : BASE + int(0, 20) * MIN;
        const cr = !created || chance(0.05) ? null : (ev ?? BASE) + int(0, 4) * MIN;
        const row: Row = {
          user: chance(0.05) ? null : `u${int(0, 4)}`, zone: composite ? (chance(0.05) ? null : int(1, 2)) : null,
          ev, cr, x: chance(0.15) ? null : int(-40, 40) / 4, s: chance(0.15) ? null : `s,"${int(0, 9)}"`,
        };
        // Full ties (same key, event and created time) are resolved arbitrarily: keep them out.
        const id = `${row.user}|${row.zone}|${row.ev}|${row.cr}`;
        if (seen.has(id)) continue;
        seen.add(id);
        rows.push(row);
      }
      const start = chance(0.2) ? null : BASE + int(0, 10) * MIN;
      const end = (start ?? BASE) + int(0, 14) * MIN;
      const createdAfter = created && start !== null && chance(0.3) ? start - int(0, 5) * MIN : undefined;

      const file = `data/case${seed}.${format}`;
      await fixture.write(file, [
        { name: 'user_id', type: 'VARCHAR' }, { name: 'zone', type: 'BIGINT' }, { name: 'ev', type: evType },
        { name: 'cr', type: crType }, { name: 'x', type: 'DOUBLE' }, { name: 's', type: 'VARCHAR' },
      ], rows.map((r) => [r.user, r.zone, r.ev === null ? null : new Date(r.ev), r.cr === null ? null : new Date(r.cr), r.x, r.s]));
      const user = entity('user', { joinKeys: { user_id: t.string() } });
      const zone = entity('zone', { joinKeys: { zone: t.int64() } });
      const source = fileSource(`case${seed}`, { path: file, timestamp: 'ev', ...(created ? { createdTimestamp: 'cr' } : {}) });
      const view = featureView(`case${seed}`, {
        entities: composite ? [user, zone] : [user], source, ...(chance(0.5) ? { ttl: '5m' } : {}),
        features: { x: t.float64(), s: t.string() },
      });
      const built = buildProject([user, zone, source, view]);
      expect(built.issues).toEqual([]);
      const request: PullRequest = {
        project: built.project, view, start: start === null ? null : new Date(start), end: new Date(end), batchRows: int(1, 8),
        ...(createdAfter === undefined ? {} : { createdAfter: new Date(createdAfter) }),
      };
      const context = JSON.stringify({ seed, composite, created, format, evType, crType, start, end, createdAfter });
      const expected = oracle(rows, composite, created, start, end, createdAfter);
      const batches = await collect(store.pullLatest(request));
      expect(Object.fromEntries(flatten(batches)), context).toEqual(Object.fromEntries(expected));
      for (const b of batches.slice(0, -1)) expect(b.length).toBeGreaterThanOrEqual(request.batchRows as number);
      expect(await store.countLatest(request), context).toBe(expected.size);

      const candidates = { ...request, candidates: true };
      const expectedCandidates = candidateTexts(rows, composite, created, start, end, createdAfter);
      expect(pulledTexts(await collect(store.pullLatest(candidates))), context).toEqual(expectedCandidates);
      expect(await store.countLatest(candidates), context).toBe(expectedCandidates.length);
    }
  });

  it('yields a first batch of firstBatchRows, then batches of batchRows', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => [i, new Date(BASE + MIN), i / 4]);
    await fixture.write('data/first.parquet', [{ name: 'id', type: 'BIGINT' }, { name: 'ts', type: 'TIMESTAMP' }, { name: 'x', type: 'DOUBLE' }], rows);
    const id = entity('thing', { joinKeys: { id: t.int64() } });
    const source = fileSource('first', { path: 'data/first.parquet', timestamp: 'ts' });
    const view = featureView('first', { entities: [id], source, features: { x: t.float64() } });
    const { project } = buildProject([id, source, view]);
    for (const candidates of [false, true]) {
      const batches = await collect(store.pullLatest({ project, view, start: null, end: new Date(BASE + MIN), batchRows: 8192, firstBatchRows: 100, candidates }));
      const sizes = batches.map((b) => b.length);
      // DuckDB's chunks hold up to 2048 rows: a batch closes at the first chunk that reaches its size.
      expect(sizes[0], String(sizes)).toBeGreaterThanOrEqual(100);
      expect(sizes[0], String(sizes)).toBeLessThanOrEqual(2048);
      for (const size of sizes.slice(1, -1)) expect(size).toBeGreaterThanOrEqual(8192);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(20_000);
    }
  });

  it('yields batches of about batchRows from DuckDB chunks, and every dtype as plain JS values', async () => {
    const n = 10_000;
    const rows = Array.from({ length: n }, (_, i) => [i, new Date(BASE + (i % 7) * MIN), i / 2, i % 3 === 0, `[${i}.5, 1.0]`, new Date(BASE + i)]);
    await fixture.write('data/many.parquet', [
      { name: 'id', type: 'BIGINT' }, { name: 'ts', type: 'TIMESTAMP' }, { name: 'half', type: 'DOUBLE' }, { name: 'flag', type: 'BOOLEAN' },
      { name: 'emb', type: 'FLOAT[]' }, { name: 'at', type: 'TIMESTAMP' },
    ], rows);
    const id = entity('thing', { joinKeys: { id: t.int64() } });
    const source = fileSource('many', { path: 'data/many.parquet', timestamp: 'ts' });
    const view = featureView('many', {
      entities: [id], source,
      features: { half: t.float32(), flag: t.bool(), emb: t.array(t.float32()), at: t.timestamp(), id: t.int32() },
    });
    const { project } = buildProject([id, source, view]);
    const batches = await collect(store.pullLatest({ project, view, start: null, end: new Date(BASE + 10 * MIN), batchRows: 3000 }));
    expect(batches.map((b) => b.length).reduce((a, b) => a + b, 0)).toBe(n);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.length).toBeLessThanOrEqual(4);
    const all = flatten(batches);
    expect(all.get('1234')).toEqual({ eventTs: BASE + (1234 % 7) * MIN, createdTs: null, values: [617, false, [1234.5, 1], new Date(BASE + 1234), 1234] });
  });

  it('gathers non-null numbers into Float64Arrays, and a column that meets a null midway into plain values', async () => {
    const n = 10_000;
    // One null among 10 000 rows: it lands in some chunk after others were gathered as numbers.
    const rows = Array.from({ length: n }, (_, i) => [i, new Date(BASE + MIN), i * 1.5, i === 7777 ? null : i - 0.25, 2 ** 40 + i]);
    await fixture.write('data/numbers.parquet', [
      { name: 'id', type: 'BIGINT' }, { name: 'ts', type: 'TIMESTAMP' }, { name: 'x', type: 'DOUBLE' }, { name: 'late', type: 'DOUBLE' },
      { name: 'big', type: 'BIGINT' },
    ], rows);
    const id = entity('thing', { joinKeys: { id: t.int64() } });
    const source = fileSource('numbers', { path: 'data/numbers.parquet', timestamp: 'ts' });
    const view = featureView('numbers', { entities: [id], source, features: { x: t.float64(), late: t.float64(), big: t.int64() } });
    const { project } = buildProject([id, source, view]);
    const batches = await collect(store.pullLatest({ project, view, start: null, end: new Date(BASE + 10 * MIN), batchRows: 2 * n }));
    expect(batches).toHaveLength(1);
    const [batch] = batches as [PulledBatch];
    expect(batch.keys[0]).toBeInstanceOf(Float64Array);
    expect(batch.eventTs).toBeInstanceOf(Float64Array);
    expect(batch.features[0]).toBeInstanceOf(Float64Array);
    expect(batch.features[1]).toBeInstanceOf(Array);
    const all = flatten(batches);
    expect(all.size).toBe(n);
    for (const i of [0, 1, 2047, 2048, 7777, 9999]) {
      expect(all.get(String(i))).toEqual({ eventTs: BASE + MIN, createdTs: null, values: [i * 1.5, i === 7777 ? null : i - 0.25, 2 ** 40 + i] });
    }
    expect([...all.values()].filter((p) => p.values[1] === null)).toHaveLength(1);
  });

  it('stops when aborted, and when the consumer stops early', async () => {
    const { project, view } = await tinyView(fixture);
    const controller = new AbortController();
    controller.abort();
    await expect(collect(store.pullLatest({ project, view, start: null, end: new Date(BASE + MIN), signal: controller.signal })))
      .rejects.toMatchObject({ code: 'LARDER_E_ABORTED' });
    for await (const batch of store.pullLatest({ project, view, start: null, end: new Date(BASE + MIN), batchRows: 1 })) {
      expect(batch.length).toBeGreaterThan(0);
      break;
    }
    expect(await store.countLatest({ project, view, start: null, end: new Date(BASE + MIN) })).toBe(2);
  });

  it('pulls push sources: nothing before the first push, then the pushed rows', async () => {
    const user = entity('user', { joinKeys: { user_id: t.string() } });
    const source = pushSource('clicks', { schema: { user_id: t.string(), ev: t.timestamp(), x: t.float64() }, timestamp: 'ev' });
    const view = featureView('clicks', { entities: [user], source, features: { x: t.float64() } });
    const { project } = buildProject([user, source, view]);
    const request: PullRequest = { project, view, start: null, end: new Date(BASE + 10 * MIN) };
    expect(await collect(store.pullLatest(request))).toEqual([]);
    await fixture.write('.larder/push/clicks/0001.parquet', [{ name: 'user_id', type: 'VARCHAR' }, { name: 'ev', type: 'TIMESTAMP' }, { name: 'x', type: 'DOUBLE' }], [
      ['a', new Date(BASE), 1], ['a', new Date(BASE + MIN), 2], ['b', new Date(BASE + 20 * MIN), 3],
    ]);
    expect(Object.fromEntries(flatten(await collect(store.pullLatest(request))))).toEqual({ a: { eventTs: BASE + MIN, createdTs: null, values: [2] } });
  });

  it('names a source with no files', async () => {
    const user = entity('user', { joinKeys: { user_id: t.string() } });
    const source = fileSource('gone', { path: 'data/nothing-here-*.parquet', timestamp: 'ev' });
    const view = featureView('gone', { entities: [user], source, features: { x: t.float64() } });
    const { project } = buildProject([user, source, view]);
    await expect(collect(store.pullLatest({ project, view, start: null, end: new Date() })))
      .rejects.toMatchObject({ code: 'LARDER_E_SOURCE_UNREADABLE' });
  });
});

async function tinyView(fixture: Fixture) {
  await fixture.write('data/tiny.csv', [{ name: 'user_id', type: 'VARCHAR' }, { name: 'ev', type: 'TIMESTAMP' }, { name: 'x', type: 'DOUBLE' }], [
    ['007', new Date(BASE), 1], ['7', new Date(BASE), 2],
  ]);
  const user = entity('user', { joinKeys: { user_id: t.string() } });
  const source = fileSource('tiny', { path: 'data/tiny.csv', timestamp: 'ev' });
  const view = featureView('tiny', { entities: [user], source, features: { x: t.float64() } });
  return { project: buildProject([user, source, view]).project, view };
}
