/**
 * @module offline/push-append
 * Appends pushed rows to a push source's offline files: the rows go through a DuckDB appender
 * into a temp table, are copied to a hidden temp Parquet file in the source's push folder and
 * renamed to their final name, so a reader lists either the whole file or nothing of it.
 * File names start with the push time and a random part, so listing them sorts by push order.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBDataChunk, JSToDuckDBValueConverter, type DuckDBType } from '@duckdb/node-api';
import { isLarderError, larderError, reasonOf } from '../../errors.ts';
import type { PushSourceDef } from '../define/definitions.ts';
import { duckdbTypeOf, type DType } from '../define/dtypes.ts';
import type { Session } from './duckdb.ts';
import { pushDirOf } from './sources.ts';
import { quoteIdent, sqlLiteral } from './sql.ts';

/**
 * Writes `rows` (already validated and coerced to the schema: Dates, numbers, …) as one new
 * Parquet file under the push folder and returns its path.
 */
export async function appendPushedRows(session: Session, projectDir: string, source: PushSourceDef, rows: readonly Record<string, unknown>[]): Promise<string> {
  const dir = pushDirOf(projectDir, source.name);
  const name = `${new Date().toISOString().replace(/[-:.]/g, '')}-${process.pid}-${randomBytes(6).toString('hex')}.parquet`;
  const target = join(dir, name);
  const temp = join(dir, `.${name}.tmp`);
  const table = `__larder_push_${randomBytes(6).toString('hex')}`;
  const columns = Object.entries(source.schema) as [string, DType][];
  try {
    await mkdir(dir, { recursive: true });
    await session.run(`CREATE TEMP TABLE ${quoteIdent(table)} (${columns.map(([c, d]) => `${quoteIdent(c)} ${duckdbTypeOf(d)}`).join(', ')})`);
    const appender = await session.connection.createAppender(table);
    try {
      const types: DuckDBType[] = Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i));
      // DuckDB data chunks hold at most 2048 rows.
      for (let start = 0; start < rows.length; start += 2048) {
        const slice = rows.slice(start, start + 2048);
        const chunk = DuckDBDataChunk.create(types, slice.length);
        columns.forEach(([column], i) => chunk.setColumnValuesConverted(i, slice.map((r) => r[column] ?? null) as never[], JSToDuckDBValueConverter));
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    await session.run(`COPY ${quoteIdent(table)} TO ${sqlLiteral(temp)} (FORMAT parquet)`);
    await rename(temp, target);
    return target;
  } catch (error) {
    await rm(temp, { force: true });
    if (isLarderError(error)) throw error;
    throw larderError('LARDER_E_IO', { path: target, reason: reasonOf(error) }, { cause: error });
  } finally {
    await session.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`).catch(() => undefined);
  }
}
