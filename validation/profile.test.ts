import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeProfiles } from './merge.ts';
import { profileRelation, relationOf } from './profile.ts';
import { frozenBinsOf, type ColumnProfile, type DatasetProfile } from './profile-types.ts';
import { flightsSample, openTestDb, type TestDb } from './test-support.ts';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
  await flightsSample(db.session, 'flights', 20_000);
  await db.session.run(`CREATE TABLE edge(x DOUBLE, s VARCHAR, b BOOLEAN)`);
  await db.session.run(`INSERT INTO edge VALUES (1, 'a', true), (NULL, '', false), ('nan', NULL, NULL), ('inf', 'Ã©t', true),
    ('-inf', 'e\u0301', true), (2, '\uFFFD', false), (3, 'x\\ud83d', NULL), (2, 'a', true)`);
});
afterAll(() => db.close());

const col = (p: DatasetProfile, name: string): ColumnProfile => p.columns.find((c) => c.name === name) as ColumnProfile;

describe('profileRelation', () => {
  it('counts nulls, NaN, ±Inf, empty strings and encoding signals', async () => {
    const p = await profileRelation(db.session, relationOf({ table: 'edge' }));
    const x = col(p, 'x');
    expect(p.rows).toBe(8);
    expect([x.nulls, x.nan, x.posInf, x.negInf]).toEqual([1, 1, 1, 1]);
    expect(x.finite).toMatchObject({ n: 4, min: 1, max: 3, mean: 2 });
    expect(x.finite?.m2).toBeCloseTo(2);
    expect(x.bins?.missing).toBe(2);
    expect(x.bins?.counts.reduce((a, b) => a + b, 0)).toBe(6);
    const s = col(p, 's');
    expect([s.nulls, s.empty]).toEqual([1, 1]);
    expect(s.strings?.encoding).toEqual({ replacement: 1, mojibake: 1, nonNfc: 1, surrogateEscapes: 1, loneSurrogates: 0, invalidUtf8: 0 });
    expect(s.strings?.chars).toEqual({ min: 0, max: 7, sum: 1 + 0 + 3 + 2 + 1 + 7 + 1 });
    expect(s.topK[0]).toEqual({ value: 'a', count: 2 });
    const b = col(p, 'b');
    expect(b.bins?.spec).toEqual({ kind: 'categorical', categories: ['true', 'false'] });
    expect(b.bins?.counts).toEqual([4, 2, 0]);
    expect(b.bins?.missing).toBe(2);
  });

  it('handles an empty relation and an all-null column', async () => {
    const empty = await profileRelation(db.session, relationOf({ sql: `SELECT 1.5 AS x, 'a' AS s WHERE false` }));
    expect(empty.rows).toBe(0);
    expect(col(empty, 'x')).toMatchObject({ count: 0, nulls: 0, finite: { n: 0, min: null, max: null }, bins: { counts: [0], missing: 0 } });
    expect(col(empty, 's').bins).toEqual({ spec: { kind: 'categorical', categories: [] }, counts: [0], missing: 0 });
    const nulls = await profileRelation(db.session, relationOf({ sql: `SELECT CAST(NULL AS DOUBLE) AS x, CAST(NULL AS VARCHAR) AS s FROM range(5)` }));
    expect(col(nulls, 'x')).toMatchObject({ count: 5, nulls: 5, bins: { counts: [0], missing: 5 } });
    expect(col(nulls, 's')).toMatchObject({ count: 5, nulls: 5, topK: [], bins: { counts: [0], missing: 5 } });
  });

  it('profiles real data: deciles, bins that sum to the non-missing rows, top-K of text', async () => {
    const p = await profileRelation(db.session, relationOf({ table: 'flights' }));
    expect(p.rows).toBe(20_000);
    const delay = col(p, 'delay');
    expect(delay.kind).toBe('numeric');
    expect(delay.deciles).toHaveLength(9);
    expect(delay.bins?.counts.reduce((a, b) => a + b, 0)).toBe(20_000 - delay.nulls);
    const origin = col(p, 'origin');
    expect(origin.topK).toHaveLength(20);
    expect(origin.distinct).toBeGreaterThan(100);
    expect(col(p, 'date').kind).toBe('timestamp');
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });

  it('above 500k rows takes decile edges from a sample, close to the exact ones, with exact counts', async () => {
    // 600k rows: x uniform over 0..599999 (exact deciles 60k, 120k, …), a skewed y, and low-cardinality z (binned by value).
    const relation = `(SELECT i::DOUBLE AS x, (i % 1000)::DOUBLE * (i % 7) AS y, (i % 13)::BIGINT AS z FROM range(600000) t(i))`;
    const sampled = await profileRelation(db.session, relation);
    const exact = await profileRelation(db.session, relation, { quantiles: 'exact' });
    const x = col(sampled, 'x');
    expect(x.deciles).toHaveLength(9);
    (x.deciles ?? []).forEach((edge, i) => expect(Math.abs(edge - 60_000 * (i + 1))).toBeLessThan(6_000));
    for (const name of ['x', 'y', 'z']) {
      const c = col(sampled, name);
      expect(c.bins?.counts.reduce((a, b) => a + b, 0), name).toBe(600_000);
      expect([c.finite?.min, c.finite?.max, c.nulls], name).toEqual([col(exact, name).finite?.min, col(exact, name).finite?.max, col(exact, name).nulls]);
    }
  });

  it('is mergeable: profile(A ∪ B) = merge(profile(A), profile(B)) for counts and frozen bins', async () => {
    const reference = await profileRelation(db.session, relationOf({ table: 'flights' }));
    const bins = frozenBinsOf(reference);
    await db.session.run(`CREATE TABLE fa AS SELECT * FROM flights WHERE hash(origin, delay, date) % 3 = 0`);
    await db.session.run(`CREATE TABLE fb AS SELECT * FROM flights WHERE hash(origin, delay, date) % 3 <> 0`);
    const whole = await profileRelation(db.session, relationOf({ table: 'flights' }), { bins });
    const a = await profileRelation(db.session, relationOf({ table: 'fa' }), { bins });
    const b = await profileRelation(db.session, relationOf({ table: 'fb' }), { bins });
    const merged = mergeProfiles(a, b);
    expect(a.rows).toBeGreaterThan(1000);
    expect(merged.rows).toBe(whole.rows);
    for (const c of whole.columns) {
      const m = col(merged, c.name);
      expect({ ...m, finite: null, topK: [], distinct: 0 }, c.name).toEqual({ ...c, finite: null, topK: [], distinct: 0 });
      expect(m.finite?.n).toBe(c.finite?.n);
      expect(m.finite?.min).toBe(c.finite?.min);
      expect(m.finite?.max).toBe(c.finite?.max);
      if (c.finite?.mean != null) expect(m.finite?.mean).toBeCloseTo(c.finite.mean, 6);
    }
  });
});
