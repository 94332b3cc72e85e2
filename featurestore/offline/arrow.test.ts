/**
 * The Arrow fast path reads non-public fields of @duckdb/node-api vectors. These tests fail
 * loudly when an upgrade of that library moves them: fix `rawItems`, `rawBooleans` and
 * `rawValidity` in arrow.ts (or accept the slower public path) before shipping the upgrade.
 */
import * as arrow from 'apache-arrow';
import { DuckDBInstance, type DuckDBConnection, type DuckDBVector } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnValues, rawBooleans, rawItems, rawValidity, resultToArrow, vectorToArrow, type ArrowStats } from './arrow.ts';

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  await connection.run(`LOAD icu; SET TimeZone = 'UTC'`);
});
afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

/** 5000 rows (three chunks), nulls on every 7th row so validity words cross chunk and word edges. */
const FAST = `
  SELECT CASE WHEN i % 7 = 3 THEN NULL ELSE (i % 100)::TINYINT END AS i8,
         CASE WHEN i % 7 = 3 THEN NULL ELSE (i % 30000)::SMALLINT END AS i16,
         CASE WHEN i % 7 = 3 THEN NULL ELSE i::INTEGER END AS i32,
         CASE WHEN i % 7 = 3 THEN NULL ELSE i * 1000000007 END AS i64,
         CASE WHEN i % 7 = 3 THEN NULL ELSE (i % 200)::UTINYINT END AS u8,
         CASE WHEN i % 7 = 3 THEN NULL ELSE i::UINTEGER END AS u32,
         CASE WHEN i % 7 = 3 THEN NULL ELSE (i / 4)::FLOAT END AS f32,
         CASE WHEN i % 7 = 3 THEN NULL ELSE i / 3 END AS f64,
         CASE WHEN i % 7 = 3 THEN NULL ELSE i % 3 = 0 END AS b,
         CASE WHEN i % 7 = 3 THEN NULL ELSE DATE '2024-01-01' + (i % 400)::INTEGER END AS d,
         CASE WHEN i % 7 = 3 THEN NULL ELSE TIMESTAMP '2024-01-01' + to_microseconds(i * 1001) END AS ts,
         CASE WHEN i % 7 = 3 THEN NULL ELSE TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) END AS tstz
  FROM range(5000) t(i) ORDER BY i`;
const SLOW = `
  SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE 'naïve ' || i END AS s,
         CASE WHEN i % 5 = 1 THEN NULL ELSE [i, i + 1]::FLOAT[] END AS l,
         (i / 8)::DECIMAL(10, 3) AS dec,
         [i * 4294967296, NULL]::BIGINT[] AS li
  FROM range(3000) t(i) ORDER BY i`;

describe('the Arrow fast path', () => {
  it('finds the non-public vector fields it relies on', async () => {
    const result = await connection.run('SELECT 1.5::DOUBLE AS x, NULL::BIGINT AS y, true AS z');
    const chunk = await result.fetchChunk();
    const [x, y, z] = [0, 1, 2].map((i) => chunk?.getColumnVector(i) as DuckDBVector);
    expect(rawItems(x as DuckDBVector, Float64Array), 'DuckDBDoubleVector.items moved').toBeInstanceOf(Float64Array);
    expect(rawItems(y as DuckDBVector, BigInt64Array), 'DuckDBBigIntVector.items moved').toBeInstanceOf(BigInt64Array);
    expect(rawBooleans(z as DuckDBVector), 'DuckDBBooleanVector.dataView moved').toBeInstanceOf(DataView);
    expect(rawValidity(x as DuckDBVector), 'DuckDBValidity.data moved').toBeNull();
    expect(rawValidity(y as DuckDBVector), 'DuckDBValidity.data moved').toBeInstanceOf(Uint8Array);
  });

  it('takes the fast path for every fixed-width type and agrees with the public values', async () => {
    const stats: ArrowStats = { fast: 0, fallback: 0 };
    const table = await resultToArrow(await connection.stream(FAST), undefined, stats);
    const chunks = Math.ceil(5000 / 2048);
    expect(stats, 'a fixed-width column fell back to the public path: the @duckdb/node-api internals changed').toEqual({ fast: 12 * chunks, fallback: 0 });
    expect(table.schema.fields.map((f) => String(f.type))).toEqual([
      'Int8', 'Int16', 'Int32', 'Int64', 'Uint8', 'Uint32', 'Float32', 'Float64', 'Bool', 'Date32<DAY>',
      'Timestamp<MICROSECOND, UTC>', 'Timestamp<MICROSECOND, UTC>',
    ]);
    const reference = (await connection.runAndReadAll(FAST)).getRowsJS();
    for (let r = 0; r < 5000; r++) {
      const row = table.get(r)?.toJSON() as Record<string, unknown>;
      const want = reference[r] as unknown[];
      const got = [row['i8'], row['i16'], row['i32'], row['i64'], row['u8'], row['u32'], row['f32'], row['f64'], row['b'],
        row['d'] === null ? null : new Date(row['d'] as number), row['ts'] === null ? null : new Date(row['ts'] as number),
        row['tstz'] === null ? null : new Date(row['tstz'] as number)];
      if (JSON.stringify(got, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) !== JSON.stringify(want, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))) {
        expect({ r, got }).toEqual({ r, got: want });
      }
    }
    expect(table.getChild('i8')?.nullCount).toBe(Math.floor((5000 - 3 + 6) / 7));
  });

  it('converts strings, lists and decimals through the public value API, exactly', async () => {
    const stats: ArrowStats = { fast: 0, fallback: 0 };
    const table = await resultToArrow(await connection.stream(SLOW), undefined, stats);
    expect(stats).toEqual({ fast: 0, fallback: 4 * 2 });
    expect(table.schema.fields.map((f) => String(f.type))).toEqual(['Utf8', 'List<Float32>', 'Float64', 'List<Int64>']);
    expect(Array.from(table.getChild('li')?.get(2999) as Iterable<bigint>)).toEqual([2999n * 4294967296n, null]);
    expect(table.getChild('s')?.get(1)).toBe('naïve 1');
    expect(table.getChild('s')?.get(0)).toBeNull();
    expect(Array.from(table.getChild('l')?.get(2999) as Iterable<number>)).toEqual([2999, 3000]);
    expect(table.getChild('l')?.get(1)).toBeNull();
    expect(table.getChild('dec')?.get(2999)).toBe(374.875);
  });

  it('gives the same Arrow data on the public path as on the fast path', async () => {
    const chunk = await (await connection.run(FAST)).fetchChunk();
    const types = (await connection.run(FAST)).columnTypes();
    types.forEach((type, i) => {
      const vector = chunk?.getColumnVector(i) as DuckDBVector;
      // A stand-in exposing only the public API forces the fallback.
      const opaque = { itemCount: vector.itemCount, getItem: (k: number) => vector.getItem(k) } as unknown as DuckDBVector;
      const fast = arrow.makeVector(vectorToArrow(vector, type, fieldType(i)));
      const slow = arrow.makeVector(vectorToArrow(opaque, type, fieldType(i)));
      expect([i, Array.from(slow)]).toEqual([i, Array.from(fast)]);
    });
    function fieldType(i: number): arrow.DataType {
      return [new arrow.Int8(), new arrow.Int16(), new arrow.Int32(), new arrow.Int64(), new arrow.Uint8(), new arrow.Uint32(),
        new arrow.Float32(), new arrow.Float64(), new arrow.Bool(), new arrow.DateDay(),
        new arrow.Timestamp(arrow.TimeUnit.MICROSECOND, 'UTC'), new arrow.Timestamp(arrow.TimeUnit.MICROSECOND, 'UTC')][i] as arrow.DataType;
    }
  });

  it('reads JS values column-wise with int64 as numbers and times as Dates', async () => {
    const chunk = await (await connection.run(`SELECT 9007199254740991::BIGINT a, NULL::BIGINT b, TIMESTAMP '1969-12-31 23:59:59.9995' c, [1, 2] d`)).fetchChunk();
    const types = (await connection.run(`SELECT 1::BIGINT, 1::BIGINT, TIMESTAMP '2020-01-01', [1, 2]`)).columnTypes();
    const values = types.map((type, i) => columnValues(chunk?.getColumnVector(i) as DuckDBVector, type)[0]);
    expect(values).toEqual([9007199254740991, null, new Date(-1), [1, 2]]);
  });
});
