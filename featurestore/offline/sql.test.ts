import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entity, featureView, fileSource } from '../define/definitions.ts';
import { t } from '../define/dtypes.ts';
import { buildProject } from '../define/project.ts';
import { selectFeatures } from '../define/selection.ts';
import { pointInTimeSql } from './pit-sql.ts';
import { planPointInTime } from './plan.ts';
import { quoteIdent, sqlLiteral, sqlType } from './sql.ts';

describe('quoteIdent', () => {
  it('wraps names in double quotes and doubles embedded ones', () => {
    expect(quoteIdent('origin')).toBe('"origin"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteIdent('"; DROP TABLE x; --')).toBe('"""; DROP TABLE x; --"');
  });
  it('refuses empty names and NUL characters', () => {
    expect(() => quoteIdent('')).toThrow(/cannot be used/);
    expect(() => quoteIdent('a\u0000b')).toThrow(/cannot be used/);
  });
});

describe('sqlLiteral', () => {
  it('renders each kind of value', () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral('back\\slash')).toBe("'back\\slash'");
    expect(sqlLiteral(42)).toBe('42');
    expect(sqlLiteral(-1.5)).toBe('-1.5');
    expect(sqlLiteral(12345678901234567890n)).toBe('12345678901234567890');
    expect(sqlLiteral(true)).toBe('TRUE');
    expect(sqlLiteral(null)).toBe('NULL');
  });
  it('refuses what it cannot write exactly', () => {
    expect(() => sqlLiteral(Number.NaN)).toThrow(/finite/);
    expect(() => sqlLiteral(Infinity)).toThrow(/finite/);
    expect(() => sqlLiteral('a\u0000')).toThrow(/NUL/);
    expect(() => sqlLiteral({} as never)).toThrow(/cannot write/);
  });
  it('only lets known type names through', () => {
    expect(sqlType('DOUBLE')).toBe('DOUBLE');
    expect(sqlType('FLOAT[]')).toBe('FLOAT[]');
    expect(sqlType('TIMESTAMP WITH TIME ZONE')).toBe('TIMESTAMP WITH TIME ZONE');
    expect(() => sqlType('INT); DROP TABLE x; --')).toThrow(/not a DuckDB type/);
  });
});

describe('quoting, as results', () => {
  let instance: DuckDBInstance;
  beforeAll(async () => { instance = await DuckDBInstance.create(':memory:'); });
  afterAll(() => instance.closeSync());

  it('round-trips hostile names and values through DuckDB unchanged', async () => {
    const connection = await instance.connect();
    const hostile = ['"; DROP TABLE x; --', "'; DROP TABLE x; --", 'a"b\'c', 'back\\slash', 'ünï cødé 🚀', ' '];
    await connection.run('CREATE TABLE x (a INTEGER)');
    for (const text of hostile) {
      const reader = await connection.runAndReadAll(`SELECT ${sqlLiteral(text)} AS ${quoteIdent(text)}`);
      expect(reader.columnNames()).toEqual([text]);
      expect(reader.getRows()).toEqual([[text]]);
    }
    const tables = await connection.runAndReadAll(`SELECT count(*)::INTEGER FROM duckdb_tables() WHERE table_name = 'x'`);
    expect(tables.getRows()).toEqual([[1]]);
    connection.closeSync();
  });
});

describe('generated point-in-time SQL, as text', () => {
  const user = entity('user', { joinKeys: { user_id: t.string() } });
  const route = entity('route', { joinKeys: { origin: t.string(), dest: t.int64() } });
  const late = fileSource('late', { path: "data/it's; DROP TABLE x; --.csv", timestamp: 'ev', createdTimestamp: 'cr' });
  const daily = fileSource('daily', { path: '/abs/daily.parquet', timestamp: 'day' });
  const views = [
    featureView('user_late', { entities: [user], source: late, features: { x: t.float64() } }),
    featureView('route_daily', { entities: [route], source: daily, ttl: '2d', features: { n: t.int64(), tags: t.array(t.string()) } }),
  ];
  const { project, issues } = buildProject([user, route, late, daily, ...views]);
  const plan = planPointInTime(project, selectFeatures(project, { features: ['user_late:x', 'route_daily:n', 'route_daily:tags'] }), 'event_timestamp');
  const sql = pointInTimeSql(plan, { relation: `read_parquet('/e.parquet')`, numbered: false, description: 'test rows' }, '/proj');

  it('plans without definition issues', () => expect(issues).toEqual([]));

  it('uses ASOF joins, one per view, with the key and time conditions', () => {
    expect(sql.match(/ASOF LEFT JOIN/g)).toHaveLength(2);
    expect(sql).toContain(`ON "e"."user_id" = "v0"."user_id" AND "e"."event_timestamp" >= "v0"."__larder_avail"`);
    expect(sql).toContain(`ON "e"."origin" = "v1"."origin" AND "e"."dest" = "v1"."dest" AND "e"."event_timestamp" >= "v1"."__larder_event_ts"`);
    expect(sql).not.toMatch(/ROW_NUMBER\(\) OVER \(PARTITION/i);
  });

  it('applies the ttl as a post-filter that nulls stale matches, never as a WHERE on entity rows', () => {
    expect(sql).toContain(`CASE WHEN "v1"."__larder_event_ts" >= "e"."event_timestamp" - to_milliseconds(172800000) THEN "v1"."n" END AS "n"`);
    expect(sql).toContain(`CASE WHEN "v1"."__larder_event_ts" >= "e"."event_timestamp" - to_milliseconds(172800000) THEN "v1"."tags" END AS "tags"`);
    expect(sql).not.toContain('"v1"."__larder_event_ts" >= "e"."event_timestamp" - to_milliseconds(172800000) AND');
  });

  it('casts keys, times and features to the declared types and keeps input order', () => {
    expect(sql).toContain(`SELECT * REPLACE (CAST("event_timestamp" AS TIMESTAMPTZ) AS "event_timestamp", CAST("user_id" AS VARCHAR) AS "user_id", CAST("origin" AS VARCHAR) AS "origin", CAST("dest" AS BIGINT) AS "dest")`);
    expect(sql).toContain(`CAST("tags" AS VARCHAR[]) AS "tags"`);
    expect(sql).toContain('row_number() OVER () - 1 AS "__larder_row"');
    expect(sql.trimEnd().endsWith('ORDER BY "e"."__larder_row"')).toBe(true);
  });

  it('escapes a hostile file path as one string literal, reading string keys of CSVs as text', () => {
    expect(sql).toContain(`read_csv('/proj/data/it''s; DROP TABLE x; --.csv', types = {'user_id': 'VARCHAR'})`);
    expect(sql).toContain(`read_parquet('/abs/daily.parquet')`);
  });

  it('orders created-timestamp rows by availability and keeps only the best so far', () => {
    expect(sql).toContain('greatest(CAST("ev" AS TIMESTAMPTZ), CAST("cr" AS TIMESTAMPTZ)) AS "__larder_avail"');
    expect(sql).toContain('WINDOW "w" AS (PARTITION BY "user_id" ORDER BY "__larder_avail", "__larder_event_ts", "__larder_created_ts" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)');
    expect(sql).toContain('QUALIFY "__larder_event_ts" >= max("__larder_event_ts") OVER "w"');
  });
});
