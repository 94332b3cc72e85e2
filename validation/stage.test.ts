import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { t } from '../featurestore/define/dtypes.ts';
import { isLarderError } from '../errors.ts';
import { nullAlerts, nullHistory, mergeNullHistory } from './nulls.ts';
import { relationOf } from './profile.ts';
import type { ValidationReport } from './report.ts';
import { expectationsOf, isRetryable, validate, validateStage } from './stage.ts';
import { openTestDb, type TestDb } from './test-support.ts';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
  await db.session.run(`CREATE TABLE t AS SELECT range AS id, CASE WHEN range % 10 = 0 THEN NULL ELSE range % 7 END::DOUBLE AS x,
    ['a', 'b', 'c', 'zz'][range % 4 + 1] AS s, range % 2 = 0 AS b, TIMESTAMP '2026-01-01' + INTERVAL (range % 5) DAY AS ts FROM range(2000)`);
  await db.session.run(`INSERT INTO t VALUES (9999, 'nan', 'a', true, TIMESTAMP '2026-01-01')`);
});
afterAll(() => db.close());

describe('expectations', () => {
  it('collects every violated expectation with samples, from dtypes', async () => {
    const schema = { x: t.float64().expect({ min: 1, max: 5, maxNullRate: 0.05 }), s: t.string().expect({ oneOf: ['a', 'b', 'c'], regex: '^[a-c]$' }), b: t.bool().expect({ oneOf: [true] }) };
    const r = await validate({ engine: db.engine, current: { table: 't' }, expectations: expectationsOf(schema) });
    const got = r.issues.filter((i) => i.code.startsWith('EXPECT') || i.code === 'NULL_RATE_ABOVE_MAX').map((i) => `${i.code}:${i.feature}:${JSON.stringify(i.observed)}`);
    // Oracle: x = id % 7 unless id % 10 = 0 (null), plus one NaN that neither bound counts.
    const ids = [...Array(2000).keys()].filter((id) => id % 10 !== 0);
    const below = ids.filter((id) => id % 7 < 1).length;
    const above = ids.filter((id) => id % 7 > 5).length;
    expect(got.sort()).toEqual([
      `EXPECT_MAX:x:{"violations":${above}}`, `EXPECT_MIN:x:{"violations":${below}}`, 'EXPECT_ONE_OF:b:{"violations":1000}',
      'EXPECT_ONE_OF:s:{"violations":500}', 'EXPECT_REGEX:s:{"violations":500}', 'NULL_RATE_ABOVE_MAX:x:{"nullRate":0.09995002498750624,"nulls":200,"rows":2001}',
    ].sort());
    expect(r.issues.find((i) => i.code === 'EXPECT_MIN')?.sampleValues).toEqual([0]);
    expect(r.issues.find((i) => i.code === 'EXPECT_REGEX')?.sampleValues).toEqual(['zz']);
    expectNonFinite(r);
  });
});

function expectNonFinite(r: ValidationReport): void {
  expect(r.issues.find((i) => i.code === 'NON_FINITE_VALUES')).toMatchObject({ feature: 'x', severity: 'warn', observed: { nan: 1, posInf: 0, negInf: 0 } });
}

describe('validateStage', () => {
  it('throws a non-retryable LARDER_E_VALIDATION_FAILED carrying the report on an error', async () => {
    const failure = await validateStage({ engine: db.engine, current: { table: 't' }, expectations: { x: { max: 3 } } }).catch((e: unknown) => e);
    expect(isLarderError(failure) && failure.code).toBe('LARDER_E_VALIDATION_FAILED');
    expect(isRetryable(failure)).toBe(false);
    expect(isRetryable(new Error('ECONNRESET'))).toBe(true);
    const report = (failure as { details: ValidationReport }).details;
    expect(report.ok).toBe(false);
    expect(report.features.find((f) => f.name === 'x')?.severity).toBe('error');
  });

  it('returns the report when there are only warnings', async () => {
    const report = await validateStage({ engine: db.engine, current: { table: 't' } });
    expect(report.ok).toBe(true);
    expect(report.issues.every((i) => i.severity === 'warn')).toBe(true);
    expect(report.issues.length).toBeGreaterThan(0);
  });

  it('reports on an empty batch against a reference without throwing', async () => {
    const r = await validate({ engine: db.engine, current: { sql: `SELECT 1.5::DOUBLE AS x, 'a' AS s WHERE false` }, reference: { sql: `SELECT range * 1.5::DOUBLE AS x, 'a' AS s FROM range(100)` } });
    expect(r.rows).toEqual({ reference: 100, current: 0 });
    expect(r.issues.filter((i) => i.code.startsWith('COLUMN_'))).toEqual([]);
  });

  it('opens and closes its own engine when given none', async () => {
    const report = await validateStage({ current: { sql: 'SELECT 1 AS one' } });
    expect(report.rows.current).toBe(1);
  });
});

describe('null tracking', () => {
  it('keeps null counts per day of event time, merges histories and alerts per rule', async () => {
    const h = await nullHistory(db.session, relationOf({ table: 't' }), 'ts', ['x', 's']);
    expect(h.buckets.map((b) => b.day)).toEqual(['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04', '2026-01-05']);
    // ids ≡ 0 mod 10 are null and fall on days ≡ 0 mod 5: all on 2026-01-01.
    expect(h.buckets[0]).toMatchObject({ rows: 401, nulls: { x: 200, s: 0 } });
    expect(h.buckets[1]?.nulls).toEqual({ x: 0, s: 0 });
    const merged = mergeNullHistory(h, h);
    expect(merged.buckets[0]).toMatchObject({ rows: 802, nulls: { x: 400 } });
    const alerts = nullAlerts(h, { x: 0.1, s: 0 }, { x: { maxNullRate: 0.2 } });
    expect(alerts.map((a) => `${a.severity}:${a.code}:${a.feature}`).sort()).toEqual(['error:NULL_RATE_ABOVE_MAX:x', 'warn:NULL_RATE_MOVED:x']);
    expect((alerts.find((a) => a.code === 'NULL_RATE_ABOVE_MAX')?.observed as { days: { day: string }[] }).days.map((d) => d.day)).toEqual(['2026-01-01']);
  });
});
