/**
 * @module offline/sources
 * How batch sources (and entity files) are read: as DuckDB relations over the files in place
 * (`read_parquet`, `read_csv`) or as the user's query, never pulled into JS.
 */
import { readdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { larderError, reasonOf } from '../../errors.ts';
import type { BatchSourceDef, FileSourceDef, PushSourceDef } from '../define/definitions.ts';
import { duckdbTypeOf } from '../define/dtypes.ts';
import type { Session } from './duckdb.ts';
import { quoteIdent, sqlLiteral } from './sql.ts';
import type { SourceColumn } from './store.ts';

/** A file source's path (or glob) made absolute against the project folder. */
export function sourcePath(source: FileSourceDef, projectDir: string): string {
  return isAbsolute(source.path) ? source.path : resolve(projectDir, source.path);
}

export function formatOfPath(path: string): 'parquet' | 'csv' {
  return /\.(csv|tsv)(\.gz|\.zst)?$/i.test(path) ? 'csv' : 'parquet';
}

/**
 * `read_parquet(…)` or `read_csv(…)` over a path or glob. `varcharColumns` are read from CSV
 * as text, so string keys such as `007` keep their leading zeros instead of being sniffed as
 * numbers.
 */
export function fileRelation(path: string, format: 'parquet' | 'csv', varcharColumns: readonly string[] = []): string {
  if (format === 'parquet') return `read_parquet(${sqlLiteral(path)})`;
  if (varcharColumns.length === 0) return `read_csv(${sqlLiteral(path)})`;
  const types = varcharColumns.map((c) => `${sqlLiteral(c)}: 'VARCHAR'`).join(', ');
  return `read_csv(${sqlLiteral(path)}, types = {${types}})`;
}

/** A user query as a subquery: trailing semicolons removed, on its own lines so `--` comments stay closed. */
export function queryRelation(query: string): string {
  return `(\n${query.trim().replace(/;+\s*$/, '')}\n)`;
}

/** The folder pushed rows of a push source are appended to, one Parquet file per push. */
export function pushDirOf(projectDir: string, sourceName: string): string {
  return join(projectDir, '.larder', 'push', sourceName);
}

/** The Parquet files pushed so far (sorted; temp files of pushes in progress are not listed). */
export function pushedFiles(projectDir: string, sourceName: string): string[] {
  const dir = pushDirOf(projectDir, sourceName);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw larderError('LARDER_E_SOURCE_UNREADABLE', { source: sourceName, reason: reasonOf(error) }, { cause: error });
  }
  return names.filter((n) => n.endsWith('.parquet') && !n.startsWith('.')).sort().map((n) => join(dir, n));
}

/**
 * A push source as a relation: an empty row set typed by its schema (so a source nothing was
 * pushed to yet reads as empty, not as an error), the pushed files and the declared batch files,
 * unioned by column name. The files are listed now: one relation reads one snapshot.
 */
function pushRelation(source: PushSourceDef, projectDir: string): string {
  const typed = Object.entries(source.schema).map(([name, dtype]) => `CAST(NULL AS ${duckdbTypeOf(dtype)}) AS ${quoteIdent(name)}`);
  const parts = [`SELECT ${typed.join(', ')} WHERE false`];
  const files = pushedFiles(projectDir, source.name);
  if (files.length > 0) parts.push(`SELECT * FROM read_parquet([${files.map(sqlLiteral).join(', ')}], union_by_name = true)`);
  if (source.batchPath !== undefined) {
    const path = isAbsolute(source.batchPath) ? source.batchPath : resolve(projectDir, source.batchPath);
    parts.push(`SELECT * FROM ${fileRelation(path, formatOfPath(path))}`);
  }
  return `(\n${parts.join('\nUNION ALL BY NAME\n')}\n)`;
}

/** The relation a batch source is read as. */
export function sourceRelation(source: BatchSourceDef, projectDir: string, varcharColumns: readonly string[] = []): string {
  if (source.type === 'sql') return queryRelation(source.query);
  if (source.type === 'push') return pushRelation(source, projectDir);
  return fileRelation(sourcePath(source, projectDir), source.format, varcharColumns);
}

/** The files a path or glob matches, as DuckDB's readers would see them. */
export async function matchingFiles(session: Session, pattern: string): Promise<string[]> {
  const rows = await session.rows(`SELECT file FROM glob(${sqlLiteral(pattern)}) ORDER BY file`);
  return rows.map((r) => String(r['file']));
}

/** `LARDER_E_SOURCE_UNREADABLE` unless a file source matches at least one file. */
export async function assertSourceFiles(session: Session, source: BatchSourceDef, projectDir: string): Promise<void> {
  if (source.type === 'sql' || (source.type === 'push' && source.batchPath === undefined)) return;
  const path = source.type === 'file' ? sourcePath(source, projectDir) : resolve(projectDir, source.batchPath as string);
  const files = await matchingFiles(session, path).catch(() => []);
  if (files.length === 0) {
    const reason = `no file matches ${path}`;
    throw larderError('LARDER_E_SOURCE_UNREADABLE', { source: source.name, reason }, { details: { reason } });
  }
}

/** The columns of a relation, as DuckDB reads them. */
export async function describeRelation(session: Session, relation: string): Promise<SourceColumn[]> {
  const rows = await session.rows(`DESCRIBE SELECT * FROM ${relation}`);
  return rows.map((r) => ({ name: String(r['column_name']), type: String(r['column_type']) }));
}

/** Describes a source, reporting any failure as `LARDER_E_SOURCE_UNREADABLE` naming it. */
export async function describeSource(session: Session, source: BatchSourceDef, projectDir: string): Promise<SourceColumn[]> {
  await assertSourceFiles(session, source, projectDir);
  try {
    return await describeRelation(session, sourceRelation(source, projectDir));
  } catch (error) {
    if (session.signal?.aborted) throw error;
    const reason = reasonOf((error as { cause?: unknown }).cause ?? error).split('\n')[0] ?? 'unknown error';
    throw larderError('LARDER_E_SOURCE_UNREADABLE', { source: source.name, reason }, { cause: error, details: { reason } });
  }
}
