/**
 * @module offline/test-support
 * Shared by the offline store's tests (not shipped in the public entry): temp project folders,
 * writing CSV/Parquet fixtures with a separate DuckDB connection, and a seeded PRNG.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { entity, featureView, fileSource, onDemandView, requestSource } from '../define/definitions.ts';
import { t } from '../define/dtypes.ts';
import { buildProject } from '../define/project.ts';
import { quoteIdent, sqlLiteral, sqlType } from './sql.ts';

/** mulberry32: small, fast, seeded. */
export { mulberry32 as prng } from '../../random.ts';

export interface Fixture {
  readonly dir: string;
  readonly connection: DuckDBConnection;
  /** Writes rows to `name` (.csv or .parquet) under the fixture folder, with the given column types. */
  write(name: string, columns: readonly { name: string; type: string }[], rows: readonly (readonly unknown[])[], options?: { rowGroupSize?: number }): Promise<string>;
  cleanup(): void;
}

/** `2024-01-01 05:00:00.001`: a naive UTC timestamp as CSV text. */
export function naive(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return naive(value.getTime());
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export async function createFixture(prefix = 'larder-offline-'): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`LOAD icu; SET TimeZone = 'UTC'`);
  let n = 0;
  return {
    dir,
    connection,
    async write(name, columns, rows, options = {}) {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      const csv = [columns.map((c) => c.name).join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
      if (name.endsWith('.csv')) { writeFileSync(path, csv); return path; }
      const staging = join(dir, `.staging-${n++}.csv`);
      writeFileSync(staging, csv);
      const select = columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${sqlType(c.type)}) AS ${quoteIdent(c.name)}`).join(', ');
      await connection.run(`COPY (SELECT ${select} FROM read_csv(${sqlLiteral(staging)}, all_varchar = true, header = true)) TO ${sqlLiteral(path)} (FORMAT parquet${options.rowGroupSize ? `, ROW_GROUP_SIZE ${sqlLiteral(options.rowGroupSize)}` : ''})`);
      rmSync(staging);
      return path;
    },
    cleanup() {
      connection.closeSync();
      instance.closeSync();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A small flights project: a daily view with every dtype, a late-arriving route view, an on-demand view. */
export async function writeFlights(fixture: Fixture) {
  await fixture.write('data/daily.parquet', [
    { name: 'origin', type: 'VARCHAR' }, { name: 'day', type: 'TIMESTAMP' }, { name: 'avg_delay', type: 'DOUBLE' },
    { name: 'n_flights', type: 'BIGINT' }, { name: 'n_small', type: 'INTEGER' }, { name: 'share', type: 'FLOAT' },
    { name: 'hub', type: 'BOOLEAN' }, { name: 'emb', type: 'FLOAT[]' }, { name: 'updated', type: 'TIMESTAMP' },
  ], [
    ['SFO', '2024-01-01 00:00:00', 1.5, 10, 1, 0.25, true, '[1.0, 2.0]', '2024-01-01 06:00:00'],
    ['SFO', '2024-01-02 00:00:00', 2.5, 20, 2, 0.5, false, '[3.0]', '2024-01-02 06:00:00'],
    ['LAX', '2024-01-01 00:00:00', 3.5, 30, 3, null, true, null, null],
  ]);
  await fixture.write('data/route.csv', [
    { name: 'origin', type: 'VARCHAR' }, { name: 'dest', type: 'VARCHAR' }, { name: 'ev', type: 'TIMESTAMP' },
    { name: 'cr', type: 'TIMESTAMP' }, { name: 'late_v', type: 'BIGINT' },
  ], [
    ['SFO', 'JFK', '2024-01-01 12:00:00', '2024-01-01 13:00:00', 1],
    ['SFO', 'JFK', '2024-01-01 10:00:00', '2024-01-01 10:00:00', 2],
  ]);
  const origin = entity('origin', { joinKeys: { origin: t.string() } });
  const route = entity('route', { joinKeys: { origin: t.string(), dest: t.string() } });
  const dailySource = fileSource('daily_source', { path: 'data/daily.parquet', timestamp: 'day' });
  const routeSource = fileSource('route_source', { path: 'data/route.csv', timestamp: 'ev', createdTimestamp: 'cr' });
  const originDaily = featureView('origin_daily', {
    entities: [origin], source: dailySource, ttl: '2d',
    features: {
      avg_delay: t.float64(), n_flights: t.int64(), n_small: t.int32(), share: t.float32(), hub: t.bool(),
      emb: t.array(t.float32()), updated: t.timestamp(),
    },
  });
  const routeLate = featureView('route_late', { entities: [route], source: routeSource, features: { late_v: t.int64() } });
  const clock = requestSource('clock', { schema: { sched_dep: t.timestamp() } });
  const timeOfDay = onDemandView('time_of_day', {
    inputs: [clock, originDaily],
    features: { hour: t.int64(), busy: t.bool(), delay_x2: t.float64() },
    compute: (row) => ({ hour: row.sched_dep.getUTCHours(), busy: (row.n_flights ?? 0) > 15, delay_x2: row.avg_delay === null ? null : row.avg_delay * 2 }),
  });
  const built = buildProject([origin, route, dailySource, routeSource, originDaily, routeLate, clock, timeOfDay]);
  if (built.issues.length > 0) throw new Error(JSON.stringify(built.issues));
  return { project: built.project, origin, route, dailySource, routeSource, originDaily, routeLate, clock, timeOfDay };
}
