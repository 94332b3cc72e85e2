/** Point-in-time retrieval end to end: entity inputs, order, output types, Parquet, hashes. */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectFeatures } from '../define/selection.ts';
import { createDuckDBOfflineStore } from './duckdb-store.ts';
import type { EntityInput, OfflineStore } from './store.ts';
import { createFixture, prng, writeFlights, type Fixture } from './test-support.ts';

let fixture: Fixture;
let store: OfflineStore;
let flights: Awaited<ReturnType<typeof writeFlights>>;

beforeAll(async () => {
  fixture = await createFixture();
  flights = await writeFlights(fixture);
  store = await createDuckDBOfflineStore({ path: join(fixture.dir, '.larder/offline.duckdb'), projectDir: fixture.dir, threads: 2, memoryLimit: '1GB' });
});
afterAll(async () => {
  await store?.close();
  fixture?.cleanup();
});

const at = (iso: string) => new Date(iso);
const entityRows = [
  { origin: 'SFO', dest: 'JFK', event_timestamp: at('2024-01-01T12:30:00Z'), label: 1 },
  { origin: 'SFO', dest: 'JFK', event_timestamp: at('2024-01-01T13:30:00Z'), label: 2 },
  { origin: 'LAX', dest: 'JFK', event_timestamp: at('2024-01-04T00:00:00Z'), label: 3 },
  { origin: 'SFO', dest: 'JFK', event_timestamp: at('2024-01-01T12:30:00Z'), label: 1 },
  { origin: 'BOS', dest: 'JFK', event_timestamp: at('2024-01-02T00:00:00Z'), label: 5 },
];
const expected = [
  { origin: 'SFO', dest: 'JFK', event_timestamp: at('2024-01-01T12:30:00Z'), label: 1, avg_delay: 1.5, late_v: 2 },
  { origin: 'SFO', dest: 'JFK', event_timestamp: at('2024-01-01T13:30:00Z'), label: 2, avg_delay: 1.5, late_v: 1 },
  { origin: 'LAX', dest: 'JFK', event_timestamp: at('2024-01-04T00:00:00Z'), label: 3, avg_delay: null, late_v: null },
  { origin: 'SFO', dest: 'JFK', event_timestamp: at('2024-01-01T12:30:00Z'), label: 1, avg_delay: 1.5, late_v: 2 },
  { origin: 'BOS', dest: 'JFK', event_timestamp: at('2024-01-02T00:00:00Z'), label: 5, avg_delay: null, late_v: null },
];
const features = ['origin_daily:avg_delay', 'route_late:late_v'];

describe('entity inputs', () => {
  const inputs: [string, () => Promise<EntityInput>][] = [
    ['row objects', async () => entityRows],
    ['an Arrow table', async () => new arrow.Table({
      origin: arrow.vectorFromArray(entityRows.map((r) => r.origin)),
      dest: arrow.vectorFromArray(entityRows.map((r) => r.dest), new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32())),
      event_timestamp: arrow.vectorFromArray(entityRows.map((r) => r.event_timestamp), new arrow.TimestampMillisecond()),
      label: arrow.vectorFromArray(new Int32Array(entityRows.map((r) => r.label))),
    })],
    ['a Parquet path relative to the project', async () => {
      await fixture.write('entities.parquet', cols, entityRows.map(values));
      return 'entities.parquet';
    }],
    ['a CSV path, absolute, as { path }', async () => ({ path: await fixture.write('entities.csv', cols, entityRows.map(values)) })],
    ['a SQL query', async () => {
      await fixture.write('entities2.parquet', cols, entityRows.map(values));
      return `SELECT * FROM read_parquet('entities2.parquet') ORDER BY label DESC`;
    }],
    ['{ sql }', async () => ({ sql: `FROM read_csv('entities.csv')` })],
  ];
  const cols = [{ name: 'origin', type: 'VARCHAR' }, { name: 'dest', type: 'VARCHAR' }, { name: 'event_timestamp', type: 'TIMESTAMP' }, { name: 'label', type: 'BIGINT' }];
  const values = (r: (typeof entityRows)[number]) => [r.origin, r.dest, r.event_timestamp, r.label];

  for (const [name, make] of inputs) {
    it(`reads ${name}, keeping every row, in order, with its columns`, async () => {
      const selection = selectFeatures(flights.project, { features });
      const rows = await store.getHistoricalFeatures({ project: flights.project, selection, entities: await make() }).toRows();
      const want = name === 'a SQL query' ? [4, 2, 1, 0, 3].map((i) => expected[i]) : expected;
      expect(rows).toEqual(want);
      expect(Object.keys(rows[0] ?? {})).toEqual(['origin', 'dest', 'event_timestamp', 'label', 'avg_delay', 'late_v']);
    });
  }

  it('keeps the order of 20k shuffled rows from a multi-row-group Parquet file, labels untouched', async () => {
    const rand = prng(7);
    const n = 20_000;
    const rows = Array.from({ length: n }, (_, i) => [
      rand() < 0.5 ? 'SFO' : 'LAX', 'JFK', `2024-01-0${1 + Math.floor(rand() * 3)} 0${Math.floor(rand() * 9)}:00:00`, `label-${(i * 7919) % n}`, i,
    ]);
    await fixture.write('big.parquet', [
      { name: 'origin', type: 'VARCHAR' }, { name: 'dest', type: 'VARCHAR' }, { name: 'event_timestamp', type: 'TIMESTAMP' },
      { name: 'tag', type: 'VARCHAR' }, { name: 'pos', type: 'INTEGER' },
    ], rows, { rowGroupSize: 2048 });
    const selection = selectFeatures(flights.project, { features: ['origin_daily:n_flights'] });
    const table = await store.getHistoricalFeatures({ project: flights.project, selection, entities: 'big.parquet' }).toArrow();
    expect(table.numRows).toBe(n);
    expect(Array.from(table.getChild('pos')?.toArray() as Int32Array)).toEqual(rows.map((r) => r[4]));
    expect(table.getChild('tag')?.toArray()).toEqual(rows.map((r) => r[3]));
  });

  it('reads time zones in CSV timestamps and treats naive ones as UTC', async () => {
    await fixture.write('tz.csv', [{ name: 'origin', type: 'VARCHAR' }, { name: 'event_timestamp', type: 'VARCHAR' }], [
      ['SFO', '2024-01-02T01:00:00+02:00'], ['SFO', '2024-01-01T23:00:00Z'],
    ]);
    await fixture.write('naive.csv', [{ name: 'origin', type: 'VARCHAR' }, { name: 'event_timestamp', type: 'VARCHAR' }], [
      ['SFO', '2024-01-01 23:00:00'], ['SFO', '2024-01-02 00:00:00'],
    ]);
    const selection = selectFeatures(flights.project, { features: ['origin_daily:n_flights'] });
    const tz = await store.getHistoricalFeatures({ project: flights.project, selection, entities: 'tz.csv' }).toRows();
    expect(tz).toEqual([
      { origin: 'SFO', event_timestamp: at('2024-01-01T23:00:00Z'), n_flights: 10 },
      { origin: 'SFO', event_timestamp: at('2024-01-01T23:00:00Z'), n_flights: 10 },
    ]);
    const naive = await store.getHistoricalFeatures({ project: flights.project, selection, entities: 'naive.csv' }).toRows();
    expect(naive.map((r) => r['n_flights'])).toEqual([10, 20]);
  });
});

describe('output types', () => {
  it('casts every feature to its declared dtype, in Arrow and as JS values', async () => {
    const selection = selectFeatures(flights.project, { features: ['origin_daily'] });
    const job = store.getHistoricalFeatures({ project: flights.project, selection, entities: entityRows.slice(0, 1) });
    const table = await job.toArrow();
    const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
    expect(types).toEqual({
      origin: 'Utf8', dest: 'Utf8', event_timestamp: 'Timestamp<MICROSECOND, UTC>', label: 'Int64',
      avg_delay: 'Float64', n_flights: 'Int64', n_small: 'Int32', share: 'Float32', hub: 'Bool',
      emb: 'List<Float32>', updated: 'Timestamp<MICROSECOND, UTC>',
    });
    expect(table.getChild('n_flights')?.get(0)).toBe(10n);
    expect(table.getChild('hub')?.get(0)).toBe(true);
    expect(Array.from(table.getChild('emb')?.get(0) as Iterable<number>)).toEqual([1, 2]);
    expect(table.getChild('updated')?.get(0)).toBe(Date.UTC(2024, 0, 1, 6));
    expect(await job.toRows()).toEqual([{
      origin: 'SFO', dest: 'JFK', event_timestamp: at('2024-01-01T12:30:00Z'), label: 1,
      avg_delay: 1.5, n_flights: 10, n_small: 1, share: 0.25, hub: true, emb: [1, 2], updated: at('2024-01-01T06:00:00Z'),
    }]);
  });

  it('names columns view__feature with fullFeatureNames', async () => {
    const selection = selectFeatures(flights.project, { features, fullFeatureNames: true });
    const [row] = await store.getHistoricalFeatures({ project: flights.project, selection, entities: entityRows.slice(0, 1) }).toRows();
    expect(row).toMatchObject({ origin_daily__avg_delay: 1.5, route_late__late_v: 2 });
  });

  it('returns an empty table with the full schema for zero entity rows', async () => {
    const selection = selectFeatures(flights.project, { features });
    await fixture.write('none.parquet', [{ name: 'origin', type: 'VARCHAR' }, { name: 'dest', type: 'VARCHAR' }, { name: 'event_timestamp', type: 'TIMESTAMP' }], []);
    const table = await store.getHistoricalFeatures({ project: flights.project, selection, entities: 'none.parquet' }).toArrow();
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['origin', 'dest', 'event_timestamp', 'avg_delay', 'late_v']);
  });
});

describe('toParquet', () => {
  const selection = () => selectFeatures(flights.project, { features });

  it('writes atomically and returns the same content hash as contentHashOf, run after run', async () => {
    const out = join(fixture.dir, 'out/train.parquet');
    const job = store.getHistoricalFeatures({ project: flights.project, selection: selection(), entities: entityRows });
    const first = await job.toParquet(out);
    expect(first.rows).toBe(entityRows.length);
    expect(first.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await store.contentHashOf(out)).toEqual(first);
    expect(await job.toParquet(out)).toEqual(first);
    expect(readdirSync(join(fixture.dir, 'out'))).toEqual(['train.parquet']);
    const reread = await fixture.connection.runAndReadAll(`SELECT label::INTEGER, late_v::INTEGER FROM read_parquet('${out}')`);
    expect(reread.getRows()).toEqual(expected.map((r) => [r.label, r.late_v]));
  });

  it('gives a different hash when only the row order or one value differs', async () => {
    const base = await store.getHistoricalFeatures({ project: flights.project, selection: selection(), entities: entityRows }).toParquet(join(fixture.dir, 'out/a.parquet'));
    const swapped = [entityRows[1], entityRows[0], ...entityRows.slice(2)] as typeof entityRows;
    const reordered = await store.getHistoricalFeatures({ project: flights.project, selection: selection(), entities: swapped }).toParquet(join(fixture.dir, 'out/b.parquet'));
    const changed = entityRows.map((r, i) => (i === 4 ? { ...r, label: 6 } : r));
    const edited = await store.getHistoricalFeatures({ project: flights.project, selection: selection(), entities: changed }).toParquet(join(fixture.dir, 'out/c.parquet'));
    expect(new Set([base.contentHash, reordered.contentHash, edited.contentHash]).size).toBe(3);
  });

  it('computes the same hash in another process', async () => {
    const out = join(fixture.dir, 'out/train.parquet');
    const mine = await store.contentHashOf(out);
    const script = `import { createDuckDBOfflineStore } from ${JSON.stringify(join(import.meta.dirname, 'duckdb-store.ts'))};
      const s = await createDuckDBOfflineStore({ path: ':memory:', projectDir: '.' });
      process.stdout.write(JSON.stringify(await s.contentHashOf(${JSON.stringify(out)}))); await s.close();`;
    const theirs = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' });
    expect(JSON.parse(theirs)).toEqual(mine);
  });
});
