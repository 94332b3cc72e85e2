/**
 * @module offline/fingerprint
 * What a dataset manifest records to tell later whether it can be rebuilt exactly: source
 * fingerprints (files with size and mtime, or the query text) and a content hash of the
 * written Parquet rows.
 *
 * The content hash is computed by DuckDB over the file: every row is hashed together with its
 * position (`hash(file_row_number, c1, c2, …)`) and the row hashes are XOR-ed, so the result
 * depends on the order of rows and on every value, and not on row groups, compression or
 * which process wrote the file. The row count and the column names and types are mixed in
 * with SHA-256. DuckDB's `hash()` is stable for a DuckDB version; an engine upgrade may change
 * every hash (a rebuild then reports a mismatch rather than a false match).
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { larderError, reasonOf } from '../../errors.ts';
import type { BatchSourceDef } from '../define/definitions.ts';
import type { Session } from './duckdb.ts';
import { describeRelation, matchingFiles, pushedFiles, sourcePath } from './sources.ts';
import { quoteIdent, sqlLiteral } from './sql.ts';
import type { SourceFingerprint } from './store.ts';

const POSITION = 'file_row_number';

/** The content hash of a Parquet file's rows, as `toParquet` returns it. */
export async function contentHash(session: Session, parquetPath: string): Promise<{ rows: number; contentHash: string }> {
  const files = await matchingFiles(session, parquetPath).catch(() => []);
  if (files.length !== 1) throw larderError('LARDER_E_IO', { path: parquetPath, reason: files.length === 0 ? 'no such Parquet file' : 'a glob, not one file' });
  const relation = `read_parquet(${sqlLiteral(parquetPath)})`;
  const columns = await describeRelation(session, relation);
  const values = columns.map((c) => quoteIdent(c.name)).join(', ');
  // A column already named file_row_number would shadow the reader's position column.
  const sql = columns.some((c) => c.name === POSITION)
    ? `SELECT count(*) AS n, bit_xor(hash("__larder_pos", ${values})) AS h FROM (SELECT *, row_number() OVER () AS "__larder_pos" FROM ${relation})`
    : `SELECT count(*) AS n, bit_xor(hash(${POSITION}, ${values})) AS h FROM read_parquet(${sqlLiteral(parquetPath)}, file_row_number = true)`;
  const [row] = await session.rows(columns.length === 0 ? `SELECT count(*) AS n, 0 AS h FROM ${relation}` : sql);
  const rows = Number(row?.['n'] ?? 0);
  const xor = BigInt((row?.['h'] as bigint | number | null | undefined) ?? 0).toString(16);
  const digest = createHash('sha256')
    .update(`larder-content-v1\n${JSON.stringify(columns.map((c) => [c.name, c.type]))}\n${rows}\n${xor}`)
    .digest('hex');
  return { rows, contentHash: digest };
}

/** A portable path: relative to the project folder when inside it, with `/` separators. */
function portable(path: string, projectDir: string): string {
  const rel = relative(projectDir, path);
  const shown = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  return shown.split(sep).join('/');
}

export async function fingerprintSource(session: Session, source: BatchSourceDef, projectDir: string): Promise<SourceFingerprint> {
  if (source.type === 'sql') return { source: source.name, query: source.query };
  // A push source: its pushed files (none yet is fine) and its declared batch files.
  const pattern = source.type === 'file' ? sourcePath(source, projectDir)
    : source.batchPath === undefined ? undefined : resolve(projectDir, source.batchPath);
  const files = [
    ...(source.type === 'push' ? pushedFiles(projectDir, source.name) : []),
    ...(pattern === undefined ? [] : await matchingFiles(session, pattern).catch(() => [])),
  ];
  if (files.length === 0 && pattern !== undefined) throw larderError('LARDER_E_SOURCE_UNREADABLE', { source: source.name, reason: `no file matches ${pattern}` });
  const stats = await Promise.all(files.map(async (file) => {
    try {
      const s = await stat(file);
      return { path: portable(file, projectDir), size: s.size, mtimeMs: Math.floor(s.mtimeMs) };
    } catch (error) {
      throw larderError('LARDER_E_SOURCE_UNREADABLE', { source: source.name, reason: reasonOf(error) }, { cause: error });
    }
  }));
  stats.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { source: source.name, files: stats };
}
