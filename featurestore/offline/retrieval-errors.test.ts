/** Bad entity rows, unreadable sources, failing queries, injection attempts and aborts. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLarderError, type LarderError } from '../../errors.ts';
import { entity, featureView, fileSource, sqlSource } from '../define/definitions.ts';
import { t } from '../define/dtypes.ts';
import { buildProject, type ProjectDefinitions } from '../define/project.ts';
import { selectFeatures } from '../define/selection.ts';
import { createDuckDBOfflineStore } from './duckdb-store.ts';
import type { EntityInput, OfflineStore } from './store.ts';
import { createFixture, writeFlights, type Fixture } from './test-support.ts';

let fixture: Fixture;
let store: OfflineStore;
let flights: Awaited<ReturnType<typeof writeFlights>>;

beforeAll(async () => {
  fixture = await createFixture();
  flights = await writeFlights(fixture);
  store = await createDuckDBOfflineStore({ path: join(fixture.dir, 'offline.duckdb'), projectDir: fixture.dir });
});
afterAll(async () => {
  await store?.close();
  fixture?.cleanup();
});

const T0 = new Date('2024-01-01T12:00:00Z');

async function failure(promise: Promise<unknown>): Promise<LarderError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!isLarderError(error)) throw new Error(`expected a LarderError, got ${String(error)}`);
  return error;
}

function rows(project: ProjectDefinitions, features: string[], entities: EntityInput, timestampColumn?: string) {
  const selection = selectFeatures(project, { features });
  return store.getHistoricalFeatures({ project, selection, entities, ...(timestampColumn === undefined ? {} : { timestampColumn }) }).toRows();
}

describe('entity rows that do not fit', () => {
  it('lists every missing column at once', async () => {
    const error = await failure(rows(flights.project, ['route_late:late_v'], [{ label: 1 }]));
    expect(error.code).toBe('LARDER_E_INVALID_ENTITIES');
    expect(error.message).toBe('Invalid entity rows: missing column(s) event_timestamp, origin, dest; the entity rows have label');
    expect(error.details).toMatchObject({ missing: ['event_timestamp', 'origin', 'dest'] });
  });

  it('uses the configured timestamp column', async () => {
    const result = await rows(flights.project, ['origin_daily:n_flights'], [{ origin: 'SFO', at: T0 }], 'at');
    expect(result).toEqual([{ origin: 'SFO', at: T0, n_flights: 10 }]);
  });

  it('refuses a timestamp column that holds no times', async () => {
    const error = await failure(rows(flights.project, ['origin_daily:n_flights'], [{ origin: 'SFO', event_timestamp: 1 }]));
    expect(error.message).toBe('Invalid entity rows: column event_timestamp is BIGINT; it must hold timestamps (or text that parses as one)');
  });

  it('refuses an entity column that would shadow a feature', async () => {
    const error = await failure(rows(flights.project, ['origin_daily:n_flights'], [{ origin: 'SFO', event_timestamp: T0, n_flights: 3 }]));
    expect(error.code).toBe('LARDER_E_FEATURE_NAME_CLASH');
    expect(error.message).toBe('Output column n_flights would come from both the entity rows and origin_daily:n_flights; pass fullFeatureNames: true');
  });

  it('refuses column names in the reserved __larder_ namespace', async () => {
    const error = await failure(rows(flights.project, ['origin_daily:n_flights'], [{ origin: 'SFO', event_timestamp: T0, __larder_row: 3 }]));
    expect(error.message).toContain('__larder_row start with __larder_');
  });

  it('refuses values it cannot load, and inputs it does not know', async () => {
    const mixed = await failure(rows(flights.project, ['origin_daily:n_flights'], [{ origin: 'SFO', event_timestamp: T0 }, { origin: 7, event_timestamp: T0 }]));
    expect(mixed.message).toBe('Invalid entity rows: column origin mixes string and int values');
    expect(() => rows(flights.project, ['origin_daily:n_flights'], 42 as never)).toThrow(/pass a Parquet\/CSV path/);
  });

  it('names an entity file that does not exist', async () => {
    const error = await failure(rows(flights.project, ['origin_daily:n_flights'], 'missing/entities.parquet'));
    expect(error.message).toBe(`Invalid entity rows: no file matches ${join(fixture.dir, 'missing/entities.parquet')}`);
  });
});

describe('sources and queries that fail', () => {
  const origin = entity('origin', { joinKeys: { origin: t.string() } });
  const project = (source: ReturnType<typeof fileSource> | ReturnType<typeof sqlSource>, features = { x: t.float64() }) =>
    buildProject([origin, source, featureView('v', { entities: [origin], source, features })]).project;

  it('names a file source whose files are missing', async () => {
    const error = await failure(rows(project(fileSource('gone', { path: 'data/gone-*.parquet', timestamp: 'ts' })), ['v:x'], [{ origin: 'SFO', event_timestamp: T0 }]));
    expect(error.code).toBe('LARDER_E_SOURCE_UNREADABLE');
    expect(error.message).toBe(`Source gone could not be read: no file matches ${join(fixture.dir, 'data/gone-*.parquet')}`);
  });

  it('names a SQL source whose query fails, keeping the query error as the cause', async () => {
    const broken = sqlSource('broken', { query: `SELECT * FROM read_parquet('data/nope.parquet')`, timestamp: 'ts' });
    const error = await failure(rows(project(broken), ['v:x'], [{ origin: 'SFO', event_timestamp: T0 }]));
    expect(error.code).toBe('LARDER_E_SOURCE_UNREADABLE');
    expect(error.message).toMatch(/^Source broken could not be read: IO Error: No files found that match the pattern/);
    expect(isLarderError(error.cause) && error.cause.code).toBe('LARDER_E_QUERY_FAILED');
  });

  it('wraps a failing query with its SQL and cause, and leaves no half-written file', async () => {
    await fixture.write('data/text.parquet', [{ name: 'origin', type: 'VARCHAR' }, { name: 'ts', type: 'TIMESTAMP' }, { name: 'x', type: 'VARCHAR' }], [['SFO', '2024-01-01 00:00:00', 'abc']]);
    const p = project(fileSource('text', { path: 'data/text.parquet', timestamp: 'ts' }), { x: t.int64() } as never);
    const out = join(fixture.dir, 'failed/out.parquet');
    const job = store.getHistoricalFeatures({ project: p, selection: selectFeatures(p, { features: ['v:x'] }), entities: [{ origin: 'SFO', event_timestamp: T0 }] });
    const error = await failure(job.toParquet(out));
    expect(error.code).toBe('LARDER_E_QUERY_FAILED');
    expect(error.message).toMatch(/^DuckDB query failed: Conversion Error: Could not convert string 'abc' to INT64/);
    expect((error.details as { sql: string }).sql).toContain(job.sql());
    expect(error.cause).toBeInstanceOf(Error);
    expect(readdirSync(join(fixture.dir, 'failed'))).toEqual([]);
    // Streamed results can fail while chunks are fetched; those are wrapped the same way.
    for (const read of [() => job.toRows(), () => job.toArrow()]) {
      const streamed = await failure(read());
      expect(streamed.code).toBe('LARDER_E_QUERY_FAILED');
      expect(streamed.message).toMatch(/Could not convert string 'abc' to INT64/);
    }
  });
});

describe('injection attempts', () => {
  it('reads a file named like SQL and columns named with quotes as plain names', async () => {
    const hostileFile = `data/it's'); DROP TABLE x; --.csv`;
    const when = 'when "it" happened';
    await fixture.write(hostileFile, [{ name: 'origin', type: 'VARCHAR' }, { name: when, type: 'TIMESTAMP' }, { name: 'x', type: 'DOUBLE' }], [['SFO', '2024-01-01 00:00:00', 4.5]]);
    const origin = entity('origin', { joinKeys: { origin: t.string() } });
    const source = fileSource('hostile', { path: hostileFile, timestamp: when });
    const { project, issues } = buildProject([origin, source, featureView('v', { entities: [origin], source, features: { x: t.float64() } })]);
    expect(issues).toEqual([]);
    const label = `la"bel'; DROP TABLE x; --`;
    const result = await rows(project, ['v:x'], [{ origin: 'SFO', 'at "t"': T0, [label]: 'kept' }], 'at "t"');
    expect(result).toEqual([{ origin: 'SFO', 'at "t"': T0, [label]: 'kept', x: 4.5 }]);
    expect(await store.checkSchemas(project)).toEqual([]);
  });
});

describe('aborting', () => {
  const origin = entity('origin', { joinKeys: { origin: t.string() } });
  const heavy = sqlSource('heavy', {
    query: `SELECT (i % 100000)::VARCHAR AS origin, TIMESTAMP '2020-01-01' + to_seconds(i) AS ts, i::DOUBLE AS x FROM range(3000000000) t(i)`,
    timestamp: 'ts',
  });
  const { project } = buildProject([origin, heavy, featureView('heavy_view', { entities: [origin], source: heavy, features: { x: t.float64() } })]);
  const selection = selectFeatures(project, { features: ['heavy_view:x'] });

  it('rejects at once when the signal is already aborted', async () => {
    const job = store.getHistoricalFeatures({ project, selection, entities: [{ origin: '1', event_timestamp: T0 }], signal: AbortSignal.abort() });
    expect((await failure(job.toArrow())).code).toBe('LARDER_E_ABORTED');
  });

  it('interrupts a running query', async () => {
    const controller = new AbortController();
    const job = store.getHistoricalFeatures({ project, selection, entities: [{ origin: '1', event_timestamp: T0 }], signal: controller.signal });
    const started = Date.now();
    setTimeout(() => controller.abort(), 300);
    const error = await failure(job.toParquet(join(fixture.dir, 'aborted.parquet')));
    expect(error.code).toBe('LARDER_E_ABORTED');
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(readdirSync(fixture.dir).filter((f) => f.startsWith('aborted'))).toEqual([]);
  });
});

describe('a closed store', () => {
  it('refuses new work', async () => {
    const other = await createDuckDBOfflineStore({ path: ':memory:', projectDir: fixture.dir });
    await other.close();
    await expect(other.describeSource(flights.dailySource)).rejects.toThrow('the offline store is closed');
  });
});
