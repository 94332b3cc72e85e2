/**
 * @module offline/schema-check
 * apply's check of definitions against the data: for every feature view, its source is
 * readable, its timestamp (and createdTimestamp) column exists and holds timestamps, its join
 * keys exist, and every feature column exists with a type the declared dtype can hold without
 * loss. All problems are listed, one issue each.
 *
 * Timestamp columns may be TIMESTAMP (any precision, with or without time zone) or DATE; a
 * VARCHAR column (CSV text DuckDB did not sniff as a time) is accepted when every non-null
 * value parses as a timestamp, which costs one scan of that column.
 *
 * Aggregation views have no feature columns: each aggregation's column or SQL expression is
 * bound by DuckDB against the source (`DESCRIBE SELECT (expr) FROM source`, no scan), which
 * reports an expression that does not parse or names a missing column
 * (`schema_bad_expression`); its type must suit the function (`schema_type_mismatch`):
 * numeric for sum/avg/stddev (integral for an integer sum), one the declared dtype can hold for
 * min/max/last, anything for countDistinct.
 */
import type { BatchSourceDef, FeatureViewDef } from '../define/definitions.ts';
import type { AggregationFn } from '../define/aggregations.ts';
import { dtypeName, t, type DType } from '../define/dtypes.ts';
import { viewEntities, type DefinitionIssue, type ProjectDefinitions } from '../define/project.ts';
import { isLarderError, reasonOf } from '../../errors.ts';
import type { Session } from './duckdb.ts';
import { describeSource, sourceRelation } from './sources.ts';
import { quoteIdent } from './sql.ts';
import type { SourceColumn } from './store.ts';

const SIGNED = ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT'];
const UNSIGNED = ['UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT'];

/** The element type of a LIST (`T[]`) or ARRAY (`T[n]`) type text, or undefined. */
function elementOf(type: string): string | undefined {
  const match = /^(.*)\[\d*\]$/.exec(type);
  return match?.[1];
}

function isTimestampType(type: string): boolean {
  return /^(TIMESTAMP|DATE$)/.test(type);
}

/** Whether a column of DuckDB type `type` fits the declared dtype without loss (see DESIGN and the table below). */
export function canHold(dtype: DType, type: string): boolean {
  const t = type.toUpperCase();
  switch (dtype.kind) {
    case 'int64': return ['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'UINTEGER', 'USMALLINT', 'UTINYINT'].includes(t);
    case 'int32': return ['INTEGER', 'SMALLINT', 'TINYINT', 'USMALLINT', 'UTINYINT'].includes(t);
    case 'float64': return t === 'DOUBLE' || t === 'FLOAT' || t.startsWith('DECIMAL') || SIGNED.includes(t) || UNSIGNED.includes(t);
    // Exact in a float32's 24-bit mantissa; DOUBLE would lose precision.
    case 'float32': return ['FLOAT', 'SMALLINT', 'TINYINT', 'USMALLINT', 'UTINYINT'].includes(t);
    case 'string': return t === 'VARCHAR' || t === 'UUID' || t.startsWith('ENUM');
    case 'bool': return t === 'BOOLEAN';
    case 'timestamp': return isTimestampType(t);
    case 'array': {
      const element = elementOf(t);
      return element !== undefined && dtype.element !== undefined && canHold(dtype.element, element);
    }
  }
}

interface Described { columns?: SourceColumn[]; error?: string }

/** Runs the schema check for every feature view of `project`. */
export async function checkSchemas(session: Session, project: ProjectDefinitions, projectDir: string): Promise<DefinitionIssue[]> {
  const issues: DefinitionIssue[] = [];
  const bySource = new Map<string, Promise<Described>>();
  const describe = (source: BatchSourceDef): Promise<Described> => {
    let found = bySource.get(source.name);
    if (!found) {
      found = describeSource(session, source, projectDir).then(
        (columns) => ({ columns }),
        (error: unknown) => {
          if (isLarderError(error) && error.code === 'LARDER_E_ABORTED') throw error;
          return { error: isLarderError(error) && error.code === 'LARDER_E_SOURCE_UNREADABLE' ? error.message : reasonOf(error) };
        },
      );
      bySource.set(source.name, found);
    }
    return found;
  };
  for (const view of project.views.values()) {
    const { columns, error } = await describe(view.source);
    if (!columns) {
      issues.push({ code: 'source_unreadable', path: `featureView:${view.name}.source`, message: `feature view ${view.name}: ${error ?? 'source unreadable'}`, severity: 'error' });
      continue;
    }
    await checkView(session, view, columns, project, projectDir, issues);
  }
  return issues;
}

async function checkView(session: Session, view: FeatureViewDef, columns: readonly SourceColumn[], project: ProjectDefinitions, projectDir: string, issues: DefinitionIssue[]): Promise<void> {
  const source = view.source;
  const byName = new Map(columns.map((c) => [c.name, c.type]));
  const error = (code: string, path: string, message: string): void => {
    issues.push({ code, path: `featureView:${view.name}.${path}`, message: `feature view ${view.name}: ${message}`, severity: 'error' });
  };
  const timeColumns: [string, string | undefined][] = [['timestamp', source.timestamp], ['createdTimestamp', source.createdTimestamp]];
  for (const [role, column] of timeColumns) {
    if (column === undefined) continue;
    const type = byName.get(column);
    if (type === undefined) {
      error('schema_missing_timestamp', `source.${role}`, `${role} column ${column} is not in source ${source.name}`);
    } else if (type === 'VARCHAR') {
      const bad = await unparsedTimestamps(session, source, column, projectDir);
      if (bad > 0) error('schema_type_mismatch', `source.${role}`, `column ${column} is VARCHAR in source ${source.name} and ${bad} value(s) are not timestamps`);
    } else if (!isTimestampType(type)) {
      error('schema_type_mismatch', `source.${role}`, `column ${column} is ${type} in source ${source.name} but declared the ${role}`);
    }
  }
  for (const entity of viewEntities(view, project.entities)) {
    for (const key of Object.keys(entity.joinKeys)) {
      if (!byName.has(key)) error('schema_missing_column', `entities.${key}`, `join key ${key} of entity ${entity.name} is not in source ${source.name}`);
    }
  }
  if (view.aggregations !== undefined) {
    await checkAggregations(session, view, projectDir, error);
    return;
  }
  for (const [name, dtype] of Object.entries(view.features)) {
    const type = byName.get(name);
    if (type === undefined) error('schema_missing_column', `features.${name}`, `column ${name} is not in source ${source.name}`);
    else if (!canHold(dtype, type)) error('schema_type_mismatch', `features.${name}`, `column ${name} is ${type} in source ${source.name} but declared ${dtypeName(dtype)}`);
  }
}

const INTEGRAL = [...SIGNED, ...UNSIGNED];

/** Whether an aggregate of `fn` over a value of DuckDB type `type` gives what `dtype` declares. */
function aggregationFits(fn: AggregationFn, dtype: DType, type: string): boolean {
  const numeric = canHold(t.float64(), type);
  switch (fn) {
    case 'count':
    case 'countDistinct': return true;
    case 'avg':
    case 'stddev': return numeric;
    case 'sum': return numeric && (dtype.kind === 'float64' || dtype.kind === 'float32' || INTEGRAL.includes(type.toUpperCase()));
    case 'min':
    case 'max':
    case 'last': return canHold(dtype, type);
  }
}

async function checkAggregations(session: Session, view: FeatureViewDef, projectDir: string, error: (code: string, path: string, message: string) => void): Promise<void> {
  const relation = sourceRelation(view.source, projectDir);
  for (const [name, a] of Object.entries(view.aggregations ?? {})) {
    if (a.expr === undefined) continue;
    let type: string;
    try {
      const [row] = await session.rows(`DESCRIBE SELECT (${a.expr}) AS "x" FROM ${relation}`);
      type = String(row?.['column_type']);
    } catch (e) {
      if (session.signal?.aborted) throw e;
      const reason = reasonOf((e as { cause?: unknown }).cause ?? e).split('\n')[0] ?? 'unknown error';
      error('schema_bad_expression', `aggregations.${name}`, `aggregation ${name}: ${a.expr} is not a valid expression over source ${view.source.name}: ${reason}`);
      continue;
    }
    if (!aggregationFits(a.fn, a.dtype, type)) {
      error('schema_type_mismatch', `aggregations.${name}`, `aggregation ${name}: agg.${a.fn}(${a.expr}) is ${type} in source ${view.source.name}, which cannot give ${dtypeName(a.dtype)}`);
    }
  }
}

async function unparsedTimestamps(session: Session, source: BatchSourceDef, column: string, projectDir: string): Promise<number> {
  const c = quoteIdent(column);
  const [row] = await session.rows(`SELECT count(*) AS n FROM ${sourceRelation(source, projectDir)} WHERE ${c} IS NOT NULL AND TRY_CAST(${c} AS TIMESTAMPTZ) IS NULL`);
  return Number(row?.['n'] ?? 0);
}
