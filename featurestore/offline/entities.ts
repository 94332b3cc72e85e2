/**
 * @module offline/entities
 * Entity rows for a dataset request: what kind of input they are, the relation the
 * point-in-time query reads them from, and the checks run on their columns before it does.
 * Files and queries are read in place by DuckDB; Arrow tables and row arrays are loaded into a
 * per-job table first (`entity-load.ts`).
 */
import { isAbsolute, resolve } from 'node:path';
import type { Table } from 'apache-arrow';
import { larderError } from '../../errors.ts';
import type { Session } from './duckdb.ts';
import type { EntityRelation } from './pit-sql.ts';
import { refuseReservedColumns, ROW_COLUMN, type PitPlan } from './plan.ts';
import { describeRelation, fileRelation, formatOfPath, matchingFiles, queryRelation } from './sources.ts';
import { quoteIdent } from './sql.ts';
import type { EntityInput, SourceColumn } from './store.ts';

export type EntityData =
  | { readonly kind: 'file'; readonly path: string; readonly format: 'parquet' | 'csv' }
  | { readonly kind: 'sql'; readonly query: string }
  | { readonly kind: 'arrow'; readonly table: Table }
  | { readonly kind: 'rows'; readonly rows: readonly Record<string, unknown>[] };

/** Duck-typed so that a Table from another copy of apache-arrow is recognised too. */
export function isArrowTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && 'schema' in value && 'batches' in value &&
    typeof (value as Table).numRows === 'number' && Array.isArray((value as Table).batches);
}

const QUERY_START = /^\s*(\(|select\b|with\b|from\b)/i;

/** Sorts an {@link EntityInput} into the four kinds Larder reads. */
export function classifyEntities(input: EntityInput, projectDir: string): EntityData {
  const file = (path: string): EntityData => {
    const absolute = isAbsolute(path) ? path : resolve(projectDir, path);
    return { kind: 'file', path: absolute, format: formatOfPath(path) };
  };
  if (typeof input === 'string') return QUERY_START.test(input) ? { kind: 'sql', query: input } : file(input);
  if (Array.isArray(input)) return { kind: 'rows', rows: input as readonly Record<string, unknown>[] };
  if (isArrowTable(input)) return { kind: 'arrow', table: input };
  if (typeof input === 'object' && input !== null) {
    if ('path' in input && typeof input.path === 'string') return file(input.path);
    if ('sql' in input && typeof input.sql === 'string') return { kind: 'sql', query: input.sql };
  }
  throw larderError('LARDER_E_INVALID_ENTITIES', {
    reason: 'pass a Parquet/CSV path, a SQL query, an Arrow table or an array of row objects',
  });
}

/** The relation the query reads entity rows from. `table` names the per-job table for loaded inputs. */
export function entityRelation(data: EntityData, plan: PitPlan, table: string): EntityRelation {
  switch (data.kind) {
    case 'file': {
      const stringKeys = plan.keys.filter((k) => k.type === 'VARCHAR').map((k) => k.name);
      return { relation: fileRelation(data.path, data.format, data.format === 'csv' ? stringKeys : []), numbered: false, description: `entity rows from ${data.path}` };
    }
    case 'sql':
      return { relation: queryRelation(data.query), numbered: false, description: 'entity rows from a query, in its order' };
    case 'arrow':
    case 'rows':
      return { relation: quoteIdent(table), numbered: true, description: `entity rows loaded into ${table} (${data.kind === 'arrow' ? 'Arrow table' : 'row objects'})` };
  }
}

const TIMESTAMP_LIKE = /^(TIMESTAMP|DATE|VARCHAR)/;

/**
 * Checks the entity columns against the plan: the timestamp column, every join key and every
 * request field an on-demand view reads must be there; no column may shadow an output
 * feature or use Larder's reserved prefix. Returns the columns.
 */
export async function checkEntityColumns(session: Session, data: EntityData, relation: EntityRelation, plan: PitPlan, refs: ReadonlyMap<string, string>): Promise<SourceColumn[]> {
  if (data.kind === 'file') {
    const files = await matchingFiles(session, data.path).catch(() => []);
    if (files.length === 0) throw larderError('LARDER_E_INVALID_ENTITIES', { reason: `no file matches ${data.path}` });
  }
  let described: SourceColumn[];
  try {
    described = await describeRelation(session, relation.relation);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0] ?? 'unreadable';
    throw larderError('LARDER_E_INVALID_ENTITIES', { reason: `could not read them: ${reason}` }, { cause: error });
  }
  const columns = relation.numbered ? described.filter((c) => c.name !== ROW_COLUMN) : described;
  const names = new Set(columns.map((c) => c.name));
  const required = [plan.timestampColumn, ...plan.keys.map((k) => k.name), ...plan.requestFields];
  const missing = [...new Set(required)].filter((name) => !names.has(name));
  if (missing.length > 0) {
    throw larderError('LARDER_E_INVALID_ENTITIES', {
      reason: `missing column(s) ${missing.join(', ')}; the entity rows have ${columns.map((c) => c.name).join(', ') || 'no columns'}`,
    }, { details: { missing, columns } });
  }
  const ts = columns.find((c) => c.name === plan.timestampColumn) as SourceColumn;
  if (!TIMESTAMP_LIKE.test(ts.type)) {
    throw larderError('LARDER_E_INVALID_ENTITIES', { reason: `column ${ts.name} is ${ts.type}; it must hold timestamps (or text that parses as one)` });
  }
  refuseReservedColumns(columns.map((c) => c.name));
  for (const column of columns) {
    const ref = refs.get(column.name);
    if (ref !== undefined) throw larderError('LARDER_E_FEATURE_NAME_CLASH', { column: column.name, first: 'the entity rows', second: ref });
  }
  return columns;
}
