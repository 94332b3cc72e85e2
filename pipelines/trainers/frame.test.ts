import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../../featurestore/offline/duckdb.ts';
import { resultToArrow } from '../../featurestore/offline/arrow.ts';
import type { Table } from 'apache-arrow';
import { frameFromArrow, frameFromColumns, splitFrame } from './frame.ts';

const FEATURES = [
  { name: 'n_trips', dtype: 'int64' }, { name: 'fare', dtype: 'float64' }, { name: 'city', dtype: 'string' },
  { name: 'member', dtype: 'bool' }, { name: 'seen_at', dtype: 'timestamp' },
];

describe('frameFromArrow on a DuckDB result', () => {
  let engine: DuckDBEngine;
  let table: Table;
  beforeAll(async () => {
    engine = await DuckDBEngine.open({ path: ':memory:', projectDir: process.cwd(), threads: 1 });
    table = await engine.withSession(async (s) => resultToArrow(await s.query(`
      SELECT * FROM (VALUES
        (3::BIGINT, 12.5::DOUBLE, 'SFO', true, TIMESTAMP '2026-01-02 03:04:05.678', true),
        (NULL, NULL, NULL, NULL, NULL, false),
        (9007199254740993::BIGINT, 0.1::DOUBLE, '', false, TIMESTAMP '1970-01-01 00:00:01', true)
      ) AS t(n_trips, fare, city, member, seen_at, churned)`)));
  });
  afterAll(() => engine.close());

  it('converts by the serving rule: numbers, bigints, bools and epoch-ms timestamps to float32; strings kept', () => {
    const frame = frameFromArrow(table, FEATURES, 'churned');
    expect(frame.n).toBe(3);
    expect(Array.from(frame.columns[0] as Float32Array)).toEqual([3, Number.NaN, Math.fround(9007199254740993)]);
    expect(Array.from(frame.columns[1] as Float32Array)).toEqual([12.5, Number.NaN, Math.fround(0.1)]);
    expect(frame.columns[2]).toEqual(['SFO', null, '']);
    expect(Array.from(frame.columns[3] as Float32Array)).toEqual([1, Number.NaN, 0]);
    expect(Array.from(frame.columns[4] as Float32Array)).toEqual([Math.fround(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), Number.NaN, 1000]);
    expect(Array.from(frame.label)).toEqual([1, 0, 1]);
  });

  it('agrees with frameFromColumns on the same values as JS rows', () => {
    const columns = {
      n_trips: [3n, null, 9007199254740993n], fare: [12.5, null, 0.1], city: ['SFO', null, ''], member: [true, null, false],
      seen_at: [new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), null, new Date(1000)], churned: [true, false, true],
    };
    expect(frameFromColumns(columns, FEATURES, 'churned')).toEqual(frameFromArrow(table, FEATURES, 'churned'));
  });

  it('reads null-free number columns straight from their buffers', async () => {
    const dense = await engine.withSession(async (s) => resultToArrow(await s.query(
      'SELECT i::BIGINT AS k, i / 4 AS d, i::INTEGER AS j, i % 2 = 0 AS y FROM range(5) r(i)')));
    const frame = frameFromArrow(dense, [{ name: 'k', dtype: 'int64' }, { name: 'd', dtype: 'float64' }, { name: 'j', dtype: 'int32' }], 'y');
    expect(frame.columns.map((c) => Array.from(c as Float32Array))).toEqual([[0, 1, 2, 3, 4], [0, 0.25, 0.5, 0.75, 1], [0, 1, 2, 3, 4]]);
    expect(Array.from(frame.label)).toEqual([1, 0, 1, 0, 1]);
  });

  it('names the column a dataset lacks', () => {
    expect(() => frameFromArrow(table, [{ name: 'tips', dtype: 'float64' }], 'churned')).toThrow(/column 'tips' is not in the dataset/);
  });
});

describe('splitFrame', () => {
  it('splits rows disjointly and deterministically for a seed', () => {
    const n = 1000;
    const frame = frameFromColumns({ id: Array.from({ length: n }, (_, i) => i), y: Array.from({ length: n }, (_, i) => i % 2) }, [{ name: 'id', dtype: 'int32' }], 'y');
    const { train, valid } = splitFrame(frame, { validFraction: 0.2, seed: 4 });
    expect(train.n + valid.n).toBe(n);
    expect(valid.n).toBeGreaterThan(150);
    expect(valid.n).toBeLessThan(250);
    const ids = [...(train.columns[0] as Float32Array), ...(valid.columns[0] as Float32Array)].sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(splitFrame(frame, { validFraction: 0.2, seed: 4 }).valid).toEqual(valid);
    expect(Array.from(valid.label)).toEqual(Array.from(valid.columns[0] as Float32Array, (id) => id % 2));
  });
});
