/**
 * @module validation/test-support
 * Shared by the validation tests: a DuckDB engine on a temp folder and seeded samples of the
 * real data (flights, emoji labels).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBEngine, type Session } from '../featurestore/offline/duckdb.ts';
import { sqlLiteral } from '../featurestore/offline/sql.ts';

export const FLIGHTS = fileURLToPath(new URL('../node_modules/vega-datasets/data/flights-3m.parquet', import.meta.url));

/** Deterministic pseudo-random numbers (mulberry32). */
export { mulberry32 as rng } from '../random.ts';

export function emojiLabels(locale: string): { label: string; emoji: string }[] {
  const file = fileURLToPath(new URL(`../node_modules/emojibase-data/${locale}/data.json`, import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { label: string; emoji: string }[]).map((e) => ({ label: e.label, emoji: e.emoji }));
}

export interface TestDb { engine: DuckDBEngine; session: Session; dir: string; close(): void }

export async function openTestDb(): Promise<TestDb> {
  const dir = mkdtempSync(join(tmpdir(), 'larder-validation-'));
  const engine = await DuckDBEngine.open({ path: ':memory:', projectDir: dir, tempDirectory: join(dir, 'spill') });
  const session = await engine.session();
  return {
    engine, session, dir,
    close() { session.close(); engine.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** A seeded sample of the flights data as table `name` (`n` rows, deterministic order by date). */
export async function flightsSample(session: Session, name: string, n: number): Promise<void> {
  await session.run(`SELECT setseed(0.42)`);
  await session.run(
    `CREATE OR REPLACE TABLE "${name}" AS SELECT * FROM read_parquet(${sqlLiteral(FLIGHTS)}) USING SAMPLE reservoir(${n} ROWS) REPEATABLE (7) ORDER BY date, origin, destination, delay, distance`,
  );
}
