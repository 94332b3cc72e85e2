/**
 * @module offline/entity-load
 * Loads an Arrow table or an array of row objects into a per-job DuckDB table, column-wise
 * through the appender in vector-sized chunks, with a `__larder_row` column holding each
 * row's position. Values are converted once, column by column; no per-row SQL.
 */
import * as arrow from 'apache-arrow';
import {
  BIGINT, BOOLEAN, DOUBLE, DuckDBDataChunk, FLOAT, INTEGER, JSToDuckDBValueConverter, LIST, SMALLINT, TIMESTAMPTZ, DATE,
  TINYINT, UBIGINT, UINTEGER, USMALLINT, UTINYINT, VARCHAR, type DuckDBType,
} from '@duckdb/node-api';
import { larderError } from '../../errors.ts';
import type { Session } from './duckdb.ts';
import { refuseReservedColumns, ROW_COLUMN } from './plan.ts';
import { quoteIdent, sqlType } from './sql.ts';

/** DuckDB's vector size: the most rows one data chunk holds. */
const CHUNK = 2048;

interface LoadColumn {
  readonly name: string;
  readonly type: DuckDBType;
  /** The JS values of rows [start, end), as the JS→DuckDB converter expects them. */
  readonly values: (start: number, end: number) => unknown[];
}

/** Creates `table` and appends the columns, `rows` rows long. */
async function load(session: Session, table: string, columns: readonly LoadColumn[], rows: number): Promise<void> {
  refuseReservedColumns(columns.map((c) => c.name));
  const defs = [...columns.map((c) => `${quoteIdent(c.name)} ${sqlType(c.type.toString())}`), `${quoteIdent(ROW_COLUMN)} BIGINT`];
  await session.run(`CREATE TEMP TABLE ${quoteIdent(table)} (${defs.join(', ')})`);
  const appender = await session.connection.createAppender(table);
  const types = [...columns.map((c) => c.type), BIGINT];
  try {
    for (let start = 0; start < rows; start += CHUNK) {
      if (start % (CHUNK * 64) === 0) session.checkAborted('loading entity rows');
      const end = Math.min(rows, start + CHUNK);
      const chunk = DuckDBDataChunk.create(types, end - start);
      columns.forEach((c, i) => {
        try {
          chunk.setColumnValuesConverted(i, c.values(start, end) as never[], JSToDuckDBValueConverter);
        } catch (error) {
          throw larderError('LARDER_E_INVALID_ENTITIES', { reason: `column ${c.name} (rows ${start}–${end - 1}): ${(error as Error).message}` }, { cause: error });
        }
      });
      const positions: number[] = new Array<number>(end - start);
      for (let r = start; r < end; r++) positions[r - start] = r;
      chunk.setColumnValuesConverted(columns.length, positions as never[], JSToDuckDBValueConverter);
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

// ---- Arrow tables ---------------------------------------------------------------------------

function duckTypeOfArrow(type: arrow.DataType, column: string): DuckDBType {
  if (arrow.DataType.isInt(type)) {
    const signed = { 8: TINYINT, 16: SMALLINT, 32: INTEGER, 64: BIGINT } as const;
    const unsigned = { 8: UTINYINT, 16: USMALLINT, 32: UINTEGER, 64: UBIGINT } as const;
    return (type.isSigned ? signed : unsigned)[type.bitWidth];
  }
  if (arrow.DataType.isFloat(type)) return type.precision === arrow.Precision.DOUBLE ? DOUBLE : FLOAT;
  if (arrow.DataType.isBool(type)) return BOOLEAN;
  if (arrow.DataType.isUtf8(type) || arrow.DataType.isLargeUtf8(type)) return VARCHAR;
  if (arrow.DataType.isDictionary(type)) return duckTypeOfArrow(type.dictionary, column);
  if (arrow.DataType.isTimestamp(type)) return TIMESTAMPTZ;
  if (arrow.DataType.isDate(type)) return DATE;
  if (arrow.DataType.isNull(type)) return VARCHAR;
  if (arrow.DataType.isList(type)) return LIST(duckTypeOfArrow(type.children[0]?.type ?? new arrow.Null(), column));
  throw larderError('LARDER_E_INVALID_ENTITIES', { reason: `column ${column} has Arrow type ${String(type)}, which Larder cannot load; cast it to a number, string, bool, timestamp or list` });
}

/** An Arrow value as the JS→DuckDB converter wants it (Dates for time, arrays for lists). */
function jsOfArrow(type: arrow.DataType): (value: unknown) => unknown {
  if (arrow.DataType.isTimestamp(type) || arrow.DataType.isDate(type)) {
    return (v) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(Number(v)));
  }
  if (arrow.DataType.isList(type)) {
    const inner = jsOfArrow(type.children[0]?.type ?? new arrow.Null());
    return (v) => (v === null || v === undefined ? null : Array.from(v as Iterable<unknown>, inner));
  }
  return (v) => v ?? null;
}

export async function loadArrowTable(session: Session, table: string, data: arrow.Table): Promise<void> {
  const fields = data.schema.fields;
  // Record batches, and where each starts, so values are read per batch without chunk lookups.
  const batches = data.batches;
  const starts: number[] = [];
  let offset = 0;
  for (const b of batches) { starts.push(offset); offset += b.numRows; }
  const columns: LoadColumn[] = fields.map((field, ci) => {
    const convert = jsOfArrow(field.type);
    return {
      name: field.name,
      type: duckTypeOfArrow(field.type, field.name),
      values: (start, end) => {
        const out: unknown[] = new Array<unknown>(end - start);
        let b = 0;
        while (b + 1 < batches.length && (starts[b + 1] as number) <= start) b++;
        for (let r = start; r < end; b++) {
          const batch = batches[b] as arrow.RecordBatch;
          const vector = batch.getChildAt(ci) as arrow.Vector;
          const base = starts[b] as number;
          const stop = Math.min(end, base + batch.numRows);
          for (; r < stop; r++) out[r - start] = convert(vector.get(r - base));
        }
        return out;
      },
    };
  });
  await load(session, table, columns, data.numRows);
}

// ---- Row objects ----------------------------------------------------------------------------

type Kind = 'int' | 'float' | 'bigint' | 'string' | 'bool' | 'date' | 'array' | 'null';

function kindOf(value: unknown): Kind | 'other' {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'number': return Number.isSafeInteger(value) ? 'int' : 'float';
    case 'bigint': return 'bigint';
    case 'string': return 'string';
    case 'boolean': return 'bool';
    default: return value instanceof Date ? 'date' : Array.isArray(value) ? 'array' : 'other';
  }
}

/** The DuckDB type that holds every value of a column; `LARDER_E_INVALID_ENTITIES` when none does. */
function inferType(values: Iterable<unknown>, column: string): DuckDBType {
  const kinds = new Set<Kind>();
  const elements: unknown[] = [];
  for (const v of values) {
    const kind = kindOf(v);
    if (kind === 'other') throw larderError('LARDER_E_INVALID_ENTITIES', { reason: `column ${column} holds a ${Object.prototype.toString.call(v)}; use numbers, strings, booleans, Dates or arrays` });
    if (kind === 'null') continue;
    kinds.add(kind);
    if (kind === 'array') for (const e of v as unknown[]) elements.push(e);
  }
  const numeric = [...kinds].every((k) => k === 'int' || k === 'float' || k === 'bigint');
  if (kinds.size === 0) return VARCHAR;
  if (numeric) return kinds.has('float') ? DOUBLE : BIGINT;
  if (kinds.size === 1) {
    const [only] = kinds;
    if (only === 'string') return VARCHAR;
    if (only === 'bool') return BOOLEAN;
    if (only === 'date') return TIMESTAMPTZ;
    if (only === 'array') return LIST(inferType(elements, `${column}[]`));
  }
  throw larderError('LARDER_E_INVALID_ENTITIES', { reason: `column ${column} mixes ${[...kinds].join(' and ')} values` });
}

export async function loadRowObjects(session: Session, table: string, rows: readonly Record<string, unknown>[]): Promise<void> {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw larderError('LARDER_E_INVALID_ENTITIES', { reason: 'each entity row must be a plain object' });
    }
    for (const key of Object.keys(row)) if (!seen.has(key)) { seen.add(key); names.push(key); }
  }
  const columns: LoadColumn[] = names.map((name) => {
    const column = function* (): Iterable<unknown> { for (const row of rows) yield row[name]; };
    const type = inferType(column(), name);
    const float = type === DOUBLE;
    return {
      name,
      type,
      values: (start, end) => {
        const out: unknown[] = new Array<unknown>(end - start);
        for (let r = start; r < end; r++) {
          const v = (rows[r] as Record<string, unknown>)[name];
          out[r - start] = v === undefined ? null : float && typeof v === 'bigint' ? Number(v) : v;
        }
        return out;
      },
    };
  });
  await load(session, table, columns, rows.length);
}
