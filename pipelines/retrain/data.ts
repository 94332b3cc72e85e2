/**
 * @module pipelines/retrain/data
 * Reading a recorded dataset back for training and evaluation, and splitting it by time: the
 * holdout is always the latest rows (a model is judged on the future it will serve, never on
 * rows shuffled in from its own training period), and so is the early-stopping slice.
 */
import type { Table } from 'apache-arrow';
import { larderError } from '../../errors.ts';
import { resultToArrow } from '../../featurestore/offline/arrow.ts';
import { DuckDBEngine, type Session } from '../../featurestore/offline/duckdb.ts';
import { fileRelation, formatOfPath } from '../../featurestore/offline/sources.ts';
import { quoteIdent } from '../../featurestore/offline/sql.ts';
import type { FeatureColumns } from '../../registry/models/feeds.ts';
import type { ModelFeature } from '../../registry/models/serving-spec.ts';

/** A dataset file as an Arrow table, ordered by event time (ties keep file order). */
export async function readDataset(path: string, timestampColumn: string, projectDir: string, signal?: AbortSignal): Promise<Table> {
  const engine = await DuckDBEngine.open({ path: ':memory:', projectDir });
  try {
    return await engine.withSession((session) => readFileTable(session, path, timestampColumn), signal);
  } finally {
    engine.close();
  }
}

/** A Parquet/CSV file as an Arrow table in `session`, ordered by a column or (default) as stored. */
export async function readFileTable(session: Session, path: string, orderBy?: string): Promise<Table> {
  const order = orderBy === undefined ? '' : ` ORDER BY ${quoteIdent(orderBy)}`;
  const sql = `SELECT * FROM ${fileRelation(path, formatOfPath(path))}${order}`;
  return resultToArrow(await session.stream(sql), () => session.checkAborted('reading a dataset'));
}

/**
 * A dataset file as a training table: numeric, boolean and timestamp features arrive as DOUBLE
 * with NaN for missing (booleans 0/1, timestamps epoch ms — the serving spec's rules, applied in
 * DuckDB), so the frame takes them straight from Arrow's buffers; strings, the label and the
 * event time are left as stored. Ordered by event time.
 */
export async function readTrainingTable(
  path: string, features: readonly ModelFeature[], keep: readonly string[], timestampColumn: string, projectDir: string, signal?: AbortSignal,
): Promise<Table> {
  const engine = await DuckDBEngine.open({ path: ':memory:', projectDir });
  try {
    return await engine.withSession(async (session) => {
      const columns = features.map((f) => {
        const c = quoteIdent(f.name);
        if (f.dtype === 'string') return c;
        const value = f.dtype === 'timestamp' ? `epoch_ms(${c})` : f.dtype === 'bool' ? `CAST(${c} AS INTEGER)` : c;
        return `coalesce(CAST(${value} AS DOUBLE), 'NaN'::DOUBLE) AS ${c}`;
      });
      const names = new Set(features.map((f) => f.name));
      const rest = [...new Set([...keep, timestampColumn])].filter((k) => !names.has(k)).map(quoteIdent);
      const sql = `SELECT ${[...columns, ...rest].join(', ')} FROM ${fileRelation(path, formatOfPath(path))} ORDER BY ${quoteIdent(timestampColumn)}`;
      return resultToArrow(await session.stream(sql), () => session.checkAborted('reading a dataset'));
    }, signal);
  } finally {
    engine.close();
  }
}

/** Event times as epoch ms, one per row; a row without one is refused. */
export function eventTimes(table: Table, timestampColumn: string): Float64Array {
  const column = table.getChild(timestampColumn);
  if (column === null) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `the dataset has no '${timestampColumn}' column` });
  const out = new Float64Array(table.numRows);
  let i = 0;
  for (const value of column) {
    const ms = value instanceof Date ? value.getTime() : Number(value);
    if (!Number.isFinite(ms)) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `row ${i} has no '${timestampColumn}'` });
    out[i++] = ms;
  }
  return out;
}

/** Row indices `[0, cut)` and `[cut, n)` of a time-ordered table. */
export interface TimeSplit {
  readonly before: Int32Array;
  readonly after: Int32Array;
  /** The first instant of the later part (epoch ms), or null when it is empty. */
  readonly from: number | null;
}

function range(start: number, end: number): Int32Array {
  const out = new Int32Array(Math.max(0, end - start));
  for (let i = 0; i < out.length; i++) out[i] = start + i;
  return out;
}

/**
 * Splits time-ordered rows at `from` (epoch ms), or else so that the later part holds about
 * `fraction` of them, never cutting between rows of the same instant.
 */
export function splitByTime(times: Float64Array, options: { from?: number; fraction?: number }): TimeSplit {
  const n = times.length;
  let cut: number;
  if (options.from !== undefined) {
    const from = options.from;
    cut = times.findIndex((t) => t >= from);
    if (cut < 0) cut = n;
  } else {
    cut = Math.min(n, Math.max(0, Math.floor(n * (1 - (options.fraction ?? 0.2)))));
    while (cut > 0 && cut < n && times[cut - 1] === times[cut]) cut--;
  }
  return { before: range(0, cut), after: range(cut, n), from: cut < n ? times[cut]! : null };
}

/**
 * Feature columns of an Arrow table, by name, for `LoadedModel.predict`. Columns with nulls go
 * through the vector's iterator (which yields null), never `toArray()` (which yields 0).
 */
export function tableColumns(table: Table, names: readonly string[], rows?: Int32Array): FeatureColumns {
  const out: Record<string, ArrayLike<unknown>> = {};
  for (const name of names) {
    const column = table.getChild(name);
    if (column === null) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `the dataset has no column '${name}'` });
    const values: unknown[] = Array.from(column);
    out[name] = rows === undefined ? values : Array.from(rows, (r) => values[r]);
  }
  return out;
}
