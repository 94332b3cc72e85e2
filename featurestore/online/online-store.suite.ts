/**
 * @module online/online-store.suite
 * The {@link OnlineStore} contract as a test suite: every implementation runs it (redis.test.ts,
 * memory.test.ts). Each test writes under its own project `test-<uuid>` and clears it afterwards,
 * so the suite can run against a shared Redis. What only one implementation has — keys and
 * expiry in Redis, files and processes for memory — is tested next to it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isLarderError } from '../../errors.ts';
import type { DTypeKind, DTypeSpec } from '../define/dtypes.ts';
import { encodeEntityKey } from './entity-key.ts';
import type { OnlineRow, OnlineStore, OnlineViewLayout, StoredRow } from './store.ts';
import { mulberry32 } from '../../random.ts';
import { codeOf } from '../../registry/testing/failure.ts';
export { codeOf };

type FeatureTypes = Record<string, DTypeKind | DTypeSpec>;

export function layoutOf(project: string, view: string, features: FeatureTypes, ttlMs: number | null = null): OnlineViewLayout {
  return {
    project, view, ttlMs,
    features: Object.entries(features).map(([name, dtype]) => ({ name, dtype: typeof dtype === 'string' ? { kind: dtype } : dtype })),
  };
}

export function row(entityKey: string, values: unknown[], eventTs: number, createdTs: number | null = null): OnlineRow {
  return { entityKey, values, eventTs, createdTs };
}


/** A seeded generator, so a failing case can be replayed. */
const seeded = mulberry32;
export { seeded };

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** Brute-force oracle: is `a` at least as fresh as `b`? */
function fresherOrEqual(a: OnlineRow, b: OnlineRow): boolean {
  if (a.eventTs !== b.eventTs) return a.eventTs > b.eventTs;
  const ca = a.createdTs ?? -Infinity;
  const cb = b.createdTs ?? -Infinity;
  return ca >= cb;
}

const DAY = 86_400_000;

export function onlineStoreSuite(name: string, factory: () => Promise<OnlineStore>): void {
  describe(`OnlineStore contract: ${name}`, () => {
    let store: OnlineStore;
    let project: string;
    beforeAll(async () => { store = await factory(); });
    afterAll(async () => { await store.close(); });
    beforeEach(() => { project = `test-${randomUUID()}`; });
    afterEach(async () => { await store.clearProject(project); });

    const one = async (layout: OnlineViewLayout, entityKey: string): Promise<StoredRow | null> => {
      const [[stored]] = (await store.read([{ layout, entityKeys: [entityKey] }])) as [[StoredRow | null]];
      return stored;
    };

    it('reads absent entities as null, and nothing for no requests', async () => {
      const layout = layoutOf(project, 'v', { x: 'float64' });
      expect(await store.read([])).toEqual([]);
      expect(await store.read([{ layout, entityKeys: [] }])).toEqual([[]]);
      expect(await store.read([{ layout, entityKeys: ['a', 'b'] }])).toEqual([[null, null]]);
      expect(await store.write(layout, [])).toEqual({ written: 0, skippedOlder: 0 });
    });

    it('round-trips values of every dtype, nulls included', async () => {
      const layout = layoutOf(project, 'every_dtype', {
        i64: 'int64', i32: 'int32', f64: 'float64', f32: 'float32', s: 'string', b: 'bool', ts: 'timestamp',
        emb: { kind: 'array', element: { kind: 'float32' } }, tags: { kind: 'array', element: { kind: 'string' } },
      });
      const rows = [
        row('full', [2 ** 53 - 1, -(2 ** 31), Math.PI, 0.1, 'naïve – 東京 🚀 e\u0301', true, new Date('1969-07-20T20:17:40.123Z'),
          [0.5, -1.25, 1 / 3], ['a', '', 'ü']], 1_700_000_000_000),
        row('nulls', [null, null, null, null, null, null, null, null, null], 1_700_000_000_000),
        row('edges', [-(2 ** 53 - 1), 2 ** 31 - 1, -0, 1e-45, '', false, new Date(0),
          new Float32Array([1.5, -2]), [null, 'x\u0000y']], -5_000),
        row('specials', [42n, 0, Number.NaN, Number.POSITIVE_INFINITY, '\u{1F600}'.repeat(100), true, 1_234_567_890_123,
          [], []], 0),
      ];
      expect(await store.write(layout, rows)).toEqual({ written: 4, skippedOlder: 0 });
      const [read] = (await store.read([{ layout, entityKeys: ['full', 'nulls', 'edges', 'specials'] }])) as [(StoredRow | null)[]];
      expect(read[0]).toEqual({
        eventTs: 1_700_000_000_000, createdTs: null,
        values: [2 ** 53 - 1, -(2 ** 31), Math.PI, Math.fround(0.1), 'naïve – 東京 🚀 e\u0301', true, new Date('1969-07-20T20:17:40.123Z'),
          [0.5, -1.25, Math.fround(1 / 3)], ['a', '', 'ü']],
      });
      expect(read[1]).toEqual({ eventTs: 1_700_000_000_000, createdTs: null, values: [null, null, null, null, null, null, null, null, null] });
      const edges = read[2] as StoredRow;
      expect(edges.eventTs).toBe(-5_000);
      expect(edges.values).toEqual([-(2 ** 53 - 1), 2 ** 31 - 1, -0, Math.fround(1e-45), '', false, new Date(0), [1.5, -2], [null, 'x\u0000y']]);
      expect(Object.is(edges.values[2], -0)).toBe(true);
      expect(read[3]?.values).toEqual([42, 0, Number.NaN, Number.POSITIVE_INFINITY, '\u{1F600}'.repeat(100), true, new Date(1_234_567_890_123), [], []]);
    });

    it('rejects a batch with values of the wrong type, reporting every bad row and writing nothing', async () => {
      const layout = layoutOf(project, 'typed', { x: 'float64', n: 'int32', when: 'timestamp' });
      const rows = [
        row('good', [1, 2, new Date(0)], 1),
        row('text', ['1.5', 2, new Date(0)], 1),
        row('range', [1, 2 ** 31, new Date(0)], 1),
        row('fraction', [1, 1.5, new Date(0)], 1),
        row('date', [1, 2, new Date(Number.NaN)], 1),
        row('short', [1, 2], 1),
        row('time', [1, 2, null], 1.5),
      ];
      const error = await store.write(layout, rows).then(() => null, (e: unknown) => e);
      expect(isLarderError(error) && error.code).toBe('LARDER_E_INVALID_REQUEST');
      const details = (error as { details: { count: number; problems: { row: number; feature?: string }[] } }).details;
      expect(details.count).toBe(6);
      expect(details.problems.map((p) => [p.row, p.feature])).toEqual([[1, 'x'], [2, 'n'], [3, 'n'], [4, 'when'], [5, undefined], [6, undefined]]);
      expect(await store.read([{ layout, entityKeys: ['good', 'text'] }])).toEqual([[null, null]]);
      expect(await codeOf(store.write(layout, [row('\uD800', [1, 2, null], 1)]))).toBe('LARDER_E_INVALID_REQUEST');
    });

    it('never lets an older row overwrite a newer one, written in reverse order one call at a time', async () => {
      const layout = layoutOf(project, 'v', { version: 'int64' });
      const results = [];
      for (let version = 20; version >= 1; version--) results.push(await store.write(layout, [row('k', [version], 1_000 * version)]));
      expect(results[0]).toEqual({ written: 1, skippedOlder: 0 });
      expect(results.slice(1).every((r) => r.written === 0 && r.skippedOlder === 1)).toBe(true);
      expect(await one(layout, 'k')).toEqual({ values: [20], eventTs: 20_000, createdTs: null });
    });

    it('orders pre-1970 event times correctly', async () => {
      const layout = layoutOf(project, 'v', { x: 'int32' });
      expect(await store.write(layout, [row('k', [1], -1_000)])).toEqual({ written: 1, skippedOlder: 0 });
      expect(await store.write(layout, [row('k', [2], -2_000)])).toEqual({ written: 0, skippedOlder: 1 });
      expect(await store.write(layout, [row('k', [3], -1)])).toEqual({ written: 1, skippedOlder: 0 });
      expect(await store.write(layout, [row('k', [4], -(2 ** 40))])).toEqual({ written: 0, skippedOlder: 1 });
      expect(await store.write(layout, [row('k', [5], 0)])).toEqual({ written: 1, skippedOlder: 0 });
      expect((await one(layout, 'k'))?.values).toEqual([5]);
    });

    it('breaks event-time ties by created time; null is oldest; equal both overwrite', async () => {
      const layout = layoutOf(project, 'v', { tag: 'string' });
      const t = 1_700_000_000_000;
      const steps: [string, number | null, number][] = [
        ['first', 5, 1], ['older created', 3, 0], ['no created', null, 0], ['newer created', 7, 1], ['same stamps again', 7, 1],
      ];
      for (const [tag, created, written] of steps) {
        expect(await store.write(layout, [row('k', [tag], t, created)]), tag).toEqual({ written, skippedOlder: 1 - written });
      }
      expect(await one(layout, 'k')).toEqual({ values: ['same stamps again'], eventTs: t, createdTs: 7 });
      await store.write(layout, [row('n', ['a'], t), row('n', ['b'], t)]);
      expect((await one(layout, 'n'))?.values).toEqual(['b']);
      expect(await store.write(layout, [row('k', ['later event'], t + 1, null)])).toEqual({ written: 1, skippedOlder: 0 });
    });

    it('applies the rows of one call in order: the freshest of each entity stays', async () => {
      const layout = layoutOf(project, 'v', { ts: 'int64', created: 'int64' });
      const random = seeded(7);
      const rows: OnlineRow[] = [];
      for (let i = 0; i < 600; i++) {
        const eventTs = Math.floor(random() * 8) * DAY - 3 * DAY;
        const createdTs = random() < 0.3 ? null : Math.floor(random() * 4);
        rows.push(row(`e${Math.floor(random() * 40)}`, [eventTs, createdTs ?? -1], eventTs, createdTs));
      }
      // Oracle: apply one at a time.
      const latest = new Map<string, OnlineRow>();
      let written = 0;
      for (const r of rows) {
        const old = latest.get(r.entityKey);
        if (old === undefined || fresherOrEqual(r, old)) { latest.set(r.entityKey, r); written++; }
      }
      expect(await store.write(layout, rows)).toEqual({ written, skippedOlder: rows.length - written });
      const keys = [...latest.keys()];
      const [read] = (await store.read([{ layout, entityKeys: keys }])) as [(StoredRow | null)[]];
      expect(read.map((r) => r?.values)).toEqual(keys.map((k) => latest.get(k)?.values));
    });

    it('ends in the freshest row per key under many concurrent writers with shuffled rows', async () => {
      const layout = layoutOf(project, 'v', { ts: 'int64', created: 'int64', writer: 'int32' });
      const random = seeded(42);
      const rows: OnlineRow[] = [];
      for (let k = 0; k < 60; k++) {
        for (let v = 0; v < 25; v++) {
          // Few distinct event times, so ties and created-time decisions are common; some far in the past.
          const eventTs = (Math.floor(random() * 6) - 3) * (random() < 0.2 ? 2 ** 40 : DAY);
          const createdTs = random() < 0.25 ? null : Math.floor(random() * 5) * 1000;
          rows.push(row(`entity-${k}`, [eventTs, createdTs ?? -1, 0], eventTs, createdTs));
        }
      }
      shuffle(rows, random);
      const writers = 24;
      const chunks = Array.from({ length: writers }, (_, w) => rows.filter((_, i) => i % writers === w)
        .map((r) => ({ ...r, values: [r.values[0], r.values[1], w] })));
      const results = await Promise.all(chunks.map((chunk) => store.write(layout, chunk)));
      expect(results.reduce((n, r) => n + r.written + r.skippedOlder, 0)).toBe(rows.length);
      const best = new Map<string, OnlineRow>();
      for (const r of rows) {
        const old = best.get(r.entityKey);
        if (old === undefined || !fresherOrEqual(old, r)) best.set(r.entityKey, r);
      }
      const keys = [...best.keys()];
      const [read] = (await store.read([{ layout, entityKeys: keys }])) as [(StoredRow | null)[]];
      for (let i = 0; i < keys.length; i++) {
        const want = best.get(keys[i] as string) as OnlineRow;
        const got = read[i] as StoredRow;
        // Equally fresh rows may come from any writer; their stamps must be the maximum.
        expect([got.eventTs, got.createdTs, got.values[0], got.values[1]], keys[i]).toEqual([want.eventTs, want.createdTs, want.values[0], want.values[1]]);
      }
    });

    it('keeps composite keys and keys with unicode and separators apart', async () => {
      const single = layoutOf(project, 'single', { label: 'string' });
      const pair = layoutOf(project, 'pair', { label: 'string' });
      const singles = ['a', 'a|b', 'a:b', 'a b', '{a}', 'a}', '{', '%7C', '%', 'a\u0000b', '\u0000', '', ' ', '東京', '🚀', 'e\u0301', '\u00e9', 'x'.repeat(500)];
      const pairs: [string, string][] = [['a', 'b'], ['a|', 'b'], ['a', '|b'], ['a:b', ''], ['', 'a:b'], ['{x', 'y}'], ['🚀', '\u0000']];
      const singleKeys = singles.map((v) => encodeEntityKey(['id'], { id: v }));
      const pairKeys = pairs.map(([o, d]) => encodeEntityKey(['origin', 'dest'], { origin: o, dest: d }));
      expect(new Set([...singleKeys, ...pairKeys]).size).toBe(singles.length + pairs.length);
      await store.write(single, singleKeys.map((k, i) => row(k, [singles[i]], 1)));
      await store.write(pair, pairKeys.map((k, i) => row(k, [pairs[i]?.join(' + ')], 1)));
      const [readSingles, readPairs] = (await store.read([{ layout: single, entityKeys: singleKeys }, { layout: pair, entityKeys: pairKeys }])) as [(StoredRow | null)[], (StoredRow | null)[]];
      expect(readSingles.map((r) => r?.values[0])).toEqual(singles);
      expect(readPairs.map((r) => r?.values[0])).toEqual(pairs.map((p) => p.join(' + ')));
      // A number and the numeric string that prints the same are one entity.
      expect(encodeEntityKey(['id'], { id: 42 })).toBe(encodeEntityKey(['id'], { id: '42' }));
      expect((await one(single, encodeEntityKey(['id'], { id: 'a|b' })))?.values).toEqual(['a|b']);
    });

    it('keeps two projects in one store apart, and clears only one', async () => {
      const other = `test-${randomUUID()}`;
      try {
        const mine = layoutOf(project, 'v', { x: 'int32' });
        const theirs = layoutOf(other, 'v', { x: 'int32' });
        await store.write(mine, [row('k', [1], 1)]);
        await store.write(theirs, [row('k', [2], 1)]);
        expect((await one(mine, 'k'))?.values).toEqual([1]);
        expect((await one(theirs, 'k'))?.values).toEqual([2]);
        await store.clearProject(project);
        expect(await one(mine, 'k')).toBeNull();
        expect((await one(theirs, 'k'))?.values).toEqual([2]);
        await store.clearProject(project); // clearing an empty project is fine
      } finally {
        await store.clearProject(other);
      }
    });

    it('reads 3 views × 100 entities in one call, in request order', async () => {
      const views = [0, 1, 2].map((v) => layoutOf(project, `view_${v}`, { a: 'float64', b: 'string' }, v === 0 ? DAY : null));
      const keys = Array.from({ length: 100 }, (_, i) => `entity-${i}`);
      for (const [v, layout] of views.entries()) {
        await store.write(layout, keys.filter((_, i) => i % 3 !== v).map((k) => row(k, [v * 1000 + Number(k.slice(7)), `${layout.view}/${k}`], Date.now())));
      }
      const result = await store.read(views.map((layout) => ({ layout, entityKeys: keys })));
      expect(result).toHaveLength(3);
      for (const [v, rows] of result.entries()) {
        expect(rows).toHaveLength(100);
        expect(rows.map((r) => r?.values ?? null)).toEqual(keys.map((k, i) => (i % 3 === v ? null : [v * 1000 + i, `view_${v}/${k}`])));
      }
    });

    it('reads values written with another layout of the view as absent', async () => {
      const v1 = layoutOf(project, 'v', { a: 'float64' });
      const added = layoutOf(project, 'v', { a: 'float64', b: 'int64' });
      const retyped = layoutOf(project, 'v', { a: 'float32' });
      const renamed = layoutOf(project, 'v', { z: 'float64' });
      await store.write(v1, [row('k', [1.5], 10)]);
      expect((await one(v1, 'k'))?.values).toEqual([1.5]);
      for (const layout of [added, retyped, renamed]) expect(await one(layout, 'k')).toBeNull();
      // Re-materializing the same row in the new layout replaces it (equal stamps overwrite).
      expect(await store.write(added, [row('k', [1.5, 7], 10)])).toEqual({ written: 1, skippedOlder: 0 });
      expect((await one(added, 'k'))?.values).toEqual([1.5, 7]);
      expect(await one(v1, 'k')).toBeNull();
    });

    it('returns values older than the ttl: the caller decides OUTSIDE_MAX_AGE', async () => {
      const layout = layoutOf(project, 'v', { x: 'int32' }, 1_000);
      const old = Date.now() - 3_600_000;
      expect(await store.write(layout, [row('k', [1], old), row('j', [2], Date.UTC(2001, 0, 1))])).toEqual({ written: 2, skippedOlder: 0 });
      expect(await one(layout, 'k')).toEqual({ values: [1], eventTs: old, createdTs: null });
      expect((await one(layout, 'j'))?.eventTs).toBe(Date.UTC(2001, 0, 1));
    });

    it('honours an aborted signal and writes nothing', async () => {
      const layout = layoutOf(project, 'v', { x: 'int32' });
      const signal = AbortSignal.abort();
      expect(await codeOf(store.write(layout, [row('k', [1], 1)], { signal }))).toBe('LARDER_E_ABORTED');
      expect(await codeOf(store.read([{ layout, entityKeys: ['k'] }], { signal }))).toBe('LARDER_E_ABORTED');
      expect(await one(layout, 'k')).toBeNull();
    });

    it('writes many rows in one call and reports each one', async () => {
      const layout = layoutOf(project, 'bulk', { a: 'float64', b: 'float64', c: 'float64', tag: 'string' });
      const n = 12_345;
      const rows = Array.from({ length: n }, (_, i) => row(`e${i}`, [i, i / 2, -i, `t${i % 7}`], 1_000 + i));
      expect(await store.write(layout, rows)).toEqual({ written: n, skippedOlder: 0 });
      const older = rows.filter((_, i) => i % 2 === 0).map((r) => ({ ...r, eventTs: r.eventTs - 1, values: [0, 0, 0, 'old'] }));
      expect(await store.write(layout, older)).toEqual({ written: 0, skippedOlder: older.length });
      const [read] = (await store.read([{ layout, entityKeys: ['e0', `e${n - 1}`, `e${n}`] }])) as [(StoredRow | null)[]];
      expect(read.map((r) => r?.values ?? null)).toEqual([[0, 0, -0, 't0'], [n - 1, (n - 1) / 2, -(n - 1), `t${(n - 1) % 7}`], null]);
    });
  });
}
