/** The engine: settings, spill folder, no file lock, error wrapping. */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLarderError } from '../../errors.ts';
import { fileSource } from '../define/definitions.ts';
import { DuckDBEngine } from './duckdb.ts';
import { createDuckDBOfflineStore } from './duckdb-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'larder-engine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DuckDBEngine', () => {
  it('applies memory limit, threads, UTC and the project folder to every session', async () => {
    const engine = await DuckDBEngine.open({ path: join(dir, 'a/offline.duckdb'), projectDir: dir, memoryLimit: '512MB', threads: 1 });
    const [row] = await engine.withSession((s) => s.rows(
      `SELECT current_setting('memory_limit') AS mem, current_setting('threads') AS threads, current_setting('TimeZone') AS tz, current_setting('file_search_path') AS search`,
    ));
    expect(row).toEqual({ mem: '488.2 MiB', threads: 1n, tz: 'UTC', search: dir });
    engine.close();
  });

  it('spills into a private folder beside the database path and removes it on close', async () => {
    const engine = await DuckDBEngine.open({ path: join(dir, 'b/offline.duckdb'), projectDir: dir });
    const spill = readdirSync(join(dir, 'b'));
    expect(spill).toHaveLength(1);
    expect(spill[0]).toMatch(/^\.larder-spill-/);
    const [row] = await engine.withSession((s) => s.rows(`SELECT current_setting('temp_directory') AS temp`));
    expect(row?.['temp']).toBe(join(dir, 'b', spill[0] as string));
    engine.close();
    expect(readdirSync(join(dir, 'b'))).toEqual([]);
  });

  it('keeps a temp directory it was given', async () => {
    const given = join(dir, 'given-tmp');
    const engine = await DuckDBEngine.open({ path: ':memory:', projectDir: dir, tempDirectory: given });
    engine.close();
    expect(existsSync(given)).toBe(true);
  });

  it('takes no lock on the database path: two stores (or processes) on one path both work', async () => {
    const path = join(dir, 'shared/offline.duckdb');
    const [one, two] = await Promise.all([1, 2].map(() => createDuckDBOfflineStore({ path, projectDir: dir })));
    const source = fileSource('s', { path: 'nothing-*.parquet', timestamp: 'ts' });
    for (const store of [one, two]) await expect(store?.fingerprintSource(source)).rejects.toThrow('Source s could not be read');
    await Promise.all([one?.close(), two?.close()]);
  });

  it('wraps DuckDB failures with the SQL and the original error', async () => {
    const engine = await DuckDBEngine.open({ path: ':memory:', projectDir: dir });
    const error = await engine.withSession((s) => s.run('SELECT * FROM nowhere')).catch((e: unknown) => e);
    expect(isLarderError(error) && error.code).toBe('LARDER_E_QUERY_FAILED');
    expect((error as Error).message).toBe('DuckDB query failed: Catalog Error: Table with name nowhere does not exist!');
    expect((error as { details: unknown }).details).toEqual({ sql: 'SELECT * FROM nowhere' });
    expect((error as Error).cause).toBeInstanceOf(Error);
    engine.close();
  });
});
