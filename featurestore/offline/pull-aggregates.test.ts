/**
 * The aggregation pull against a brute-force oracle of DESIGN §4's window rule at T = end, on
 * seeded random events with events exactly at window edges, lags, empty windows, nulls in the
 * aggregated value, composite keys and every function; and the property incremental runs rest
 * on: an entity the pull leaves out (no event since start minus the widest reach) has the same
 * values at end as at start, so what an earlier run wrote for it is still right.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agg, type AggregationDef } from '../define/aggregations.ts';
import { entity, featureView, fileSource } from '../define/definitions.ts';
import { t } from '../define/dtypes.ts';
import { parseDuration } from '../define/duration.ts';
import { buildProject } from '../define/project.ts';
import { createDuckDBOfflineStore } from './duckdb-store.ts';
import type { OfflineStore, PulledBatch } from './store.ts';
import { createFixture, prng, type Fixture } from './test-support.ts';

const CASES = 40;
const MIN = 60_000;
const BASE = Date.UTC(2024, 0, 1);

interface Event { user: string | null; zone: number; ev: number | null; x: number | null; s: string | null }

/** One aggregate by brute force (null x skipped; empty: count 0, else null). */
function brute(a: AggregationDef, events: readonly Event[], asOf: number): unknown {
  const to = asOf - (a.lag === undefined ? 0 : parseDuration(a.lag));
  const from = a.window === undefined ? -Infinity : to - parseDuration(a.window);
  const inside = events.filter((e) => e.ev !== null && e.ev >= from && e.ev < to);
  if (a.fn === 'count') return inside.length;
  const values = inside.map((e) => (a.expr === 's' ? e.s : a.expr === 'x * 2' ? (e.x === null ? null : e.x * 2) : e.x));
  const xs = values.filter((v): v is number => v !== null && typeof v === 'number');
  switch (a.fn) {
    case 'countDistinct': return new Set(values.filter((v) => v !== null)).size;
    case 'sum': return xs.length === 0 ? null : xs.reduce((p, q) => p + q, 0);
    case 'avg': return xs.length === 0 ? null : xs.reduce((p, q) => p + q, 0) / xs.length;
    case 'min': return xs.length === 0 ? null : Math.min(...xs);
    case 'max': return xs.length === 0 ? null : Math.max(...xs);
    case 'stddev': {
      if (xs.length < 2) return null;
      const mean = xs.reduce((p, q) => p + q, 0) / xs.length;
      return Math.sqrt(xs.reduce((p, q) => p + (q - mean) ** 2, 0) / (xs.length - 1));
    }
    case 'last': {
      let best: { ev: number; v: string | number } | null = null;
      inside.forEach((e, i) => {
        const v = values[i];
        if (v === null || v === undefined) return;
        if (best === null || (e.ev as number) > best.ev || ((e.ev as number) === best.ev && v > best.v)) best = { ev: e.ev as number, v };
      });
      return (best as { v: unknown } | null)?.v ?? null;
    }
  }
}

function close(actual: unknown, expected: unknown): boolean {
  if (typeof actual === 'number' && typeof expected === 'number') return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
  return actual === expected;
}

async function collect(iterable: AsyncIterable<PulledBatch>): Promise<PulledBatch[]> {
  const out: PulledBatch[] = [];
  for await (const batch of iterable) out.push(batch);
  return out;
}

describe('aggregation pull', () => {
  let fixture: Fixture;
  let store: OfflineStore;
  beforeAll(async () => {
    fixture = await createFixture('larder-pull-agg-');
    store = await createDuckDBOfflineStore({ path: ':memory:', projectDir: fixture.dir, threads: 2 });
  });
  afterAll(async () => {
    await store?.close();
    fixture?.cleanup();
  });

  it(`matches the brute-force window rule at T = end on ${CASES} seeded cases`, async () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const rand = prng(seed * 104_729);
      const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
      const chance = (p: number): boolean => rand() < p;
      const composite = chance(0.4);
      const events: Event[] = [];
      for (let i = int(0, 60); i > 0; i--) {
        events.push({
          user: chance(0.04) ? null : `u${int(0, 5)}`, zone: composite ? int(1, 2) : 0,
          ev: chance(0.04) ? null : BASE + int(0, 40) * MIN, x: chance(0.2) ? null : int(-20, 20) / 4, s: chance(0.2) ? null : `s${int(0, 3)}`,
        });
      }
      const lag = (): { lag?: string } => (chance(0.5) ? { lag: `${int(0, 5)}m` } : {});
      const aggregations: Record<string, AggregationDef> = {
        n: agg.count(`${int(1, 15)}m`, lag()),
        total: agg.sum('x', `${int(1, 15)}m`, lag()),
        mean: agg.avg('x', `${int(1, 15)}m`, lag()),
        lo: agg.min('x', `${int(1, 15)}m`, lag()),
        hi: agg.max('x * 2', `${int(1, 15)}m`, lag()),
        sd: agg.stddev('x', `${int(1, 15)}m`, lag()),
        kinds: agg.countDistinct('s', `${int(1, 15)}m`, lag()),
        last_s: agg.last('s', chance(0.5) ? { ...lag(), type: t.string() } : `${int(1, 15)}m`, { type: t.string() }),
        last_x: agg.last('x', lag()),
      };
      const file = `data/agg${seed}.parquet`;
      await fixture.write(file, [
        { name: 'user_id', type: 'VARCHAR' }, { name: 'zone', type: 'BIGINT' }, { name: 'ev', type: 'TIMESTAMP' }, { name: 'x', type: 'DOUBLE' }, { name: 's', type: 'VARCHAR' },
      ], events.map((e) => [e.user, e.zone, e.ev === null ? null : new Date(e.ev), e.x, e.s]));
      const user = entity('user', { joinKeys: { user_id: t.string() } });
      const zone = entity('zone', { joinKeys: { zone: t.int64() } });
      const source = fileSource(`agg${seed}`, { path: file, timestamp: 'ev' });
      const view = featureView(`agg${seed}`, { entities: composite ? [user, zone] : [user], source, aggregations });
      const built = buildProject([user, zone, source, view]);
      expect(built.issues).toEqual([]);
      const start = chance(0.3) ? null : BASE + int(0, 40) * MIN;
      const end = (start ?? BASE) + int(0, 30) * MIN;
      const context = JSON.stringify({ seed, composite, start, end, aggregations });

      const byKey = new Map<string, Event[]>();
      for (const e of events) {
        if (e.user === null || e.ev === null) continue;
        const key = composite ? `${e.user}|${e.zone}` : e.user;
        byKey.set(key, [...(byKey.get(key) ?? []), e]);
      }
      const batches = await collect(store.pullLatest({ project: built.project, view, start: start === null ? null : new Date(start), end: new Date(end), batchRows: int(1, 5) }));
      const pulled = new Set<string>();
      for (const b of batches) {
        for (let i = 0; i < b.length; i++) {
          const key = b.keys.map((column) => String(column[i])).join('|');
          pulled.add(key);
          expect(b.eventTs[i], context).toBe(end);
          const own = byKey.get(key) ?? [];
          Object.entries(aggregations).forEach(([name, a], f) => {
            const expected = brute(a, own, end);
            const actual = (b.features[f] as unknown[])[i];
            expect(close(actual, expected), `${context} ${key} ${name}: ${String(actual)} vs ${String(expected)}`).toBe(true);
          });
        }
      }
      for (const [key, own] of byKey) {
        const anyBeforeEnd = own.some((e) => (e.ev as number) <= end);
        if (start === null) {
          expect(pulled.has(key), `${context} ${key}`).toBe(anyBeforeEnd);
        } else if (!pulled.has(key)) {
          // Left out: its values did not change between start and end.
          for (const [name, a] of Object.entries(aggregations)) {
            expect(close(brute(a, own, end), brute(a, own, start)), `${context} ${key} ${name} changed but was not pulled`).toBe(true);
          }
        }
      }
      expect(await store.countLatest({ project: built.project, view, start: start === null ? null : new Date(start), end: new Date(end) })).toBe(pulled.size);
    }
  });
});
