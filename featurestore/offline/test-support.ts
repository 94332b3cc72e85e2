/**
 * @module offline/test-support
 * Shared by the offline store's tests (not shipped in the public entry): temp project folders,
 * writing CSV/Parquet fixtures with a separate DuckDB connection, and a seeded PRNG.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent, sqlLiteral, sqlType } from './sql.ts';

/** mulberry32: small, fast, seeded. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Fixture {
  readonly dir: string;
  readonly connection: DuckDBConnection;
  /** Writes rows to `name` (.csv or .parquet) under the fixture folder, with the given column types. */
  write(name: string, columns: readonly { name: string; type: string }[], rows: readonly (readonly unknown[])[]): Promise<string>;
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
    async write(name, columns, rows) {
      const path = join(dir, name);
      const csv = [columns.map((c) => c.name).join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
      if (name.endsWith('.csv')) { writeFileSync(path, csv); return path; }
      const staging = join(dir, `.staging-${n++}.csv`);
      writeFileSync(staging, csv);
      const select = columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${sqlType(c.type)}) AS ${quoteIdent(c.name)}`).join(', ');
      await connection.run(`COPY (SELECT ${select} FROM read_csv(${sqlLiteral(staging)}, all_varchar = true, header = true)) TO ${sqlLiteral(path)} (FORMAT parquet)`);
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
