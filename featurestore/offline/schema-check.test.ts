/** apply's schema check, source fingerprints and describeSource. */
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entity, featureView, fileSource, sqlSource } from '../define/definitions.ts';
import { t, type DType } from '../define/dtypes.ts';
import { buildProject } from '../define/project.ts';
import { createDuckDBOfflineStore } from './duckdb-store.ts';
import { canHold } from './schema-check.ts';
import type { OfflineStore } from './store.ts';
import { createFixture, type Fixture } from './test-support.ts';

let fixture: Fixture;
let store: OfflineStore;

beforeAll(async () => {
  fixture = await createFixture();
  store = await createDuckDBOfflineStore({ path: ':memory:', projectDir: fixture.dir });
});
afterAll(async () => {
  await store?.close();
  fixture?.cleanup();
});

describe('canHold', () => {
  const cases: [DType, string[], string[]][] = [
    [t.int64(), ['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'UINTEGER', 'USMALLINT', 'UTINYINT'], ['UBIGINT', 'HUGEINT', 'DOUBLE', 'VARCHAR', 'DECIMAL(18,3)']],
    [t.int32(), ['INTEGER', 'SMALLINT', 'TINYINT', 'USMALLINT', 'UTINYINT'], ['BIGINT', 'UINTEGER', 'FLOAT']],
    [t.float64(), ['DOUBLE', 'FLOAT', 'DECIMAL(10,2)', 'BIGINT', 'INTEGER', 'UBIGINT', 'HUGEINT', 'TINYINT'], ['VARCHAR', 'BOOLEAN']],
    [t.float32(), ['FLOAT', 'SMALLINT', 'TINYINT', 'UTINYINT', 'USMALLINT'], ['DOUBLE', 'INTEGER', 'BIGINT', 'DECIMAL(4,1)']],
    [t.string(), ['VARCHAR', 'UUID', "ENUM('a', 'b')"], ['INTEGER', 'BLOB']],
    [t.bool(), ['BOOLEAN'], ['INTEGER', 'VARCHAR']],
    [t.timestamp(), ['TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP_NS', 'TIMESTAMP_MS', 'TIMESTAMP_S', 'DATE'], ['VARCHAR', 'TIME', 'BIGINT']],
    [t.array(t.float32()), ['FLOAT[]', 'FLOAT[8]', 'SMALLINT[]'], ['DOUBLE[]', 'FLOAT', 'VARCHAR[]']],
    [t.array(t.string()), ['VARCHAR[]', 'UUID[3]'], ['INTEGER[]']],
  ];
  for (const [dtype, yes, no] of cases) {
    it(`${dtype.kind}${dtype.element ? `<${dtype.element.kind}>` : ''} holds ${yes.join(', ')}; not ${no.join(', ')}`, () => {
      for (const type of yes) expect([type, canHold(dtype, type)]).toEqual([type, true]);
      for (const type of no) expect([type, canHold(dtype, type)]).toEqual([type, false]);
    });
  }
});

describe('checkSchemas', () => {
  it('passes a project whose sources fit, CSV text timestamps included', async () => {
    await fixture.write('ok.csv', [{ name: 'id', type: 'VARCHAR' }, { name: 'ts', type: 'VARCHAR' }, { name: 'x', type: 'DOUBLE' }], [['a', '2024-01-01 00:00:00', 1.5]]);
    await fixture.write('ok.parquet', [{ name: 'id', type: 'VARCHAR' }, { name: 'day', type: 'DATE' }, { name: 'n', type: 'SMALLINT' }, { name: 'v', type: 'FLOAT[]' }], [['a', '2024-01-01', 3, '[1.0]']]);
    const id = entity('thing', { joinKeys: { id: t.string() } });
    const csv = fileSource('ok_csv', { path: 'ok.csv', timestamp: 'ts' });
    const pq = fileSource('ok_pq', { path: 'ok.parquet', timestamp: 'day' });
    const sql = sqlSource('ok_sql', { query: `SELECT id, day::TIMESTAMPTZ AS at, n::INTEGER AS n FROM 'ok.parquet'`, timestamp: 'at' });
    const { project } = buildProject([id, csv, pq, sql,
      featureView('a', { entities: [id], source: csv, features: { x: t.float64() } }),
      featureView('b', { entities: [id], source: pq, features: { n: t.float32(), v: t.array(t.float64()) } }),
      featureView('c', { entities: [id], source: sql, features: { n: t.int64() } }),
    ]);
    expect(await store.checkSchemas(project)).toEqual([]);
  });

  it('reports every problem, one issue each, naming view, column and both types', async () => {
    await fixture.write('bad.parquet', [
      { name: 'user', type: 'VARCHAR' }, { name: 'ts', type: 'BIGINT' }, { name: 'x', type: 'VARCHAR' },
      { name: 'y', type: 'DOUBLE' }, { name: 'z', type: 'INTEGER[]' },
    ], [['a', 1, 'one', 1.5, '[1]']]);
    await fixture.write('badtime.csv', [{ name: 'user_id', type: 'VARCHAR' }, { name: 'ts', type: 'VARCHAR' }, { name: 'c', type: 'VARCHAR' }], [['a', 'yesterday', 'x'], ['b', '2024-01-01', 'y']]);
    const user = entity('user', { joinKeys: { user_id: t.string() } });
    const bad = fileSource('bad', { path: 'bad.parquet', timestamp: 'ts', createdTimestamp: 'made' });
    const badTime = fileSource('bad_time', { path: 'badtime.csv', timestamp: 'ts', createdTimestamp: 'c' });
    const gone = fileSource('gone', { path: 'gone.parquet', timestamp: 'ts' });
    const broken = sqlSource('broken', { query: 'SELECT * FROM no_such_table', timestamp: 'ts' });
    const { project } = buildProject([user, bad, badTime, gone, broken,
      featureView('wide', { entities: [user], source: bad, features: { x: t.int64(), y: t.float32(), z: t.array(t.string()), w: t.bool() } }),
      featureView('late', { entities: [user], source: badTime, features: { c: t.string() } }),
      featureView('lost', { entities: [user], source: gone, features: { q: t.float64() } }),
      featureView('wrecked', { entities: [user], source: broken, features: { q: t.float64() } }),
    ]);
    const issues = await store.checkSchemas(project);
    expect(issues.map(({ code, path, message }) => ({ code, path, message }))).toEqual([
      { code: 'schema_type_mismatch', path: 'featureView:wide.source.timestamp', message: 'feature view wide: column ts is BIGINT in source bad but declared the timestamp' },
      { code: 'schema_missing_timestamp', path: 'featureView:wide.source.createdTimestamp', message: 'feature view wide: createdTimestamp column made is not in source bad' },
      { code: 'schema_missing_column', path: 'featureView:wide.entities.user_id', message: 'feature view wide: join key user_id of entity user is not in source bad' },
      { code: 'schema_type_mismatch', path: 'featureView:wide.features.x', message: 'feature view wide: column x is VARCHAR in source bad but declared int64' },
      { code: 'schema_type_mismatch', path: 'featureView:wide.features.y', message: 'feature view wide: column y is DOUBLE in source bad but declared float32' },
      { code: 'schema_type_mismatch', path: 'featureView:wide.features.z', message: 'feature view wide: column z is INTEGER[] in source bad but declared array<string>' },
      { code: 'schema_missing_column', path: 'featureView:wide.features.w', message: 'feature view wide: column w is not in source bad' },
      { code: 'schema_type_mismatch', path: 'featureView:late.source.timestamp', message: 'feature view late: column ts is VARCHAR in source bad_time and 1 value(s) are not timestamps' },
      { code: 'schema_type_mismatch', path: 'featureView:late.source.createdTimestamp', message: 'feature view late: column c is VARCHAR in source bad_time and 2 value(s) are not timestamps' },
      { code: 'source_unreadable', path: 'featureView:lost.source', message: `feature view lost: Source gone could not be read: no file matches ${join(fixture.dir, 'gone.parquet')}` },
      { code: 'source_unreadable', path: 'featureView:wrecked.source', message: 'feature view wrecked: Source broken could not be read: Catalog Error: Table with name no_such_table does not exist!' },
    ]);
    expect(issues.every((i) => i.severity === 'error')).toBe(true);
  });
});

describe('describeSource and fingerprintSource', () => {
  it('describes the columns DuckDB reads', async () => {
    await fixture.write('d.parquet', [{ name: 'id', type: 'VARCHAR' }, { name: 'ts', type: 'TIMESTAMPTZ' }, { name: 'v', type: 'FLOAT[]' }], []);
    expect(await store.describeSource(fileSource('d', { path: 'd.parquet', timestamp: 'ts' }))).toEqual([
      { name: 'id', type: 'VARCHAR' }, { name: 'ts', type: 'TIMESTAMP WITH TIME ZONE' }, { name: 'v', type: 'FLOAT[]' },
    ]);
  });

  it('lists the files a glob matches, sorted, relative to the project, with size and mtime', async () => {
    await fixture.write('parts/p2.parquet', [{ name: 'a', type: 'INTEGER' }], [[2]]);
    await fixture.write('parts/p1.parquet', [{ name: 'a', type: 'INTEGER' }], [[1], [3]]);
    utimesSync(join(fixture.dir, 'parts/p1.parquet'), 1_700_000_000, 1_700_000_000);
    const fp = await store.fingerprintSource(fileSource('parts', { path: 'parts/*.parquet', timestamp: 'ts' }));
    expect(fp.source).toBe('parts');
    expect(fp.files?.map((f) => f.path)).toEqual(['parts/p1.parquet', 'parts/p2.parquet']);
    expect(fp.files?.[0]?.mtimeMs).toBe(1_700_000_000_000);
    expect(fp.files?.every((f) => f.size > 0)).toBe(true);
    expect(await store.fingerprintSource(sqlSource('q', { query: 'SELECT 1', timestamp: 'ts' }))).toEqual({ source: 'q', query: 'SELECT 1' });
    await expect(store.fingerprintSource(fileSource('none', { path: 'none/*.parquet', timestamp: 'ts' }))).rejects.toThrow('Source none could not be read');
  });
});
