/**
 * @module offline/pull
 * The pull behind materialization: per entity, the latest source row of a feature view inside a
 * time range (or every candidate row), streamed out of DuckDB in batches.
 *
 * Parameters: a view, `[start, end]` (start may be open) and, for incremental runs of views
 * whose source has a createdTimestamp, `createdAfter`. Output: one row per entity key with
 * the view's keys (cast to the entities' key dtypes), `event_ts`/`created_ts` as epoch ms and
 * the features cast to their declared dtypes (with `candidates`: one row per candidate row).
 *
 * The pick is DESIGN §4's point-in-time rule at `T = end`: candidates have
 * `start <= event_ts <= end` and, with a createdTimestamp, `created_ts <= end`; the greatest
 * `(event_ts, created_ts)` wins. With `createdAfter`, rows created after it also qualify when
 * their event time is before `start` (late arrivals), so a chain of incremental runs misses no
 * row that a single run would have picked; last-write-wins online keeps the freshest.
 *
 * It is one `GROUP BY` of the keys with `arg_max(struct, (event, created))`: the aggregate holds
 * one state per entity, never the source's rows, and DuckDB can spill it, so memory follows the
 * number of entities (and DuckDB's memory_limit), not the source's size. Rows with a null key,
 * event time or created time are never candidates (as in the join). Full ties (same key, event
 * and created time) are resolved arbitrarily.
 *
 * With `candidates`, the same filter without the `GROUP BY`: every candidate row, streamed as
 * DuckDB scans it. The pick is then left to the online store's last-write-wins, which keeps the
 * same row (materialize.ts uses this when entities rarely repeat, where the aggregation is most
 * of DuckDB's work and holds back the first row for the whole scan).
 */
import { DuckDBTypeId, type DuckDBDataChunk, type DuckDBResult, type DuckDBType, type DuckDBVector } from '@duckdb/node-api';
import type { FeatureViewDef } from '../define/definitions.ts';
import { duckdbTypeOf, type DType } from '../define/dtypes.ts';
import { viewEntities, type ProjectDefinitions } from '../define/project.ts';
import { columnValues, rawItems, rawValidity } from './arrow.ts';
import { aggregatePullSql } from './pull-aggregates.ts';
import type { Session } from './duckdb.ts';
import { describeRelation, sourceRelation } from './sources.ts';
import { indent, quoteIdent, sqlLiteral, sqlType } from './sql.ts';
import type { PulledBatch, PullRequest } from './store.ts';

export const EVENT_MS = '__larder_event_ms';
export const CREATED_MS = '__larder_created_ms';
const EVENT = '__larder_event_ts';
const CREATED = '__larder_created_ts';
const BEST = '__larder_best';

interface PullColumns { readonly keys: readonly { name: string; type: string }[]; readonly features: readonly { name: string; type: string }[] }

function columnsOf(request: PullRequest): PullColumns {
  const keys = viewEntities(request.view, request.project.entities)
    .flatMap((e) => Object.entries(e.joinKeys).map(([name, dtype]) => ({ name, type: duckdbTypeOf(dtype) })));
  const features = Object.entries(request.view.features).map(([name, dtype]) => ({ name, type: duckdbTypeOf(dtype as DType) }));
  return { keys, features };
}

const cast = (expr: string, type: string): string => `CAST(${expr} AS ${sqlType(type)})`;

/**
 * DuckDB's types of a source's timestamp and createdTimestamp columns, when known. A column of
 * type `TIMESTAMP` (naive, read as UTC) or `TIMESTAMP WITH TIME ZONE` is compared as it is, with
 * an instant of its own type; any other (DATE, other precisions, VARCHAR) is cast to
 * TIMESTAMPTZ. Casting a naive TIMESTAMP to TIMESTAMPTZ goes through ICU row by row even with
 * TimeZone UTC: ~0.25 CPU-s per 1M rows each time it is written, more than the rest of a
 * candidates pull's projection (docs/benchmarks.md, 2026-11-29). Same instants either way: the
 * session's TimeZone is UTC.
 */
export interface TimeTypes { readonly event?: string | undefined; readonly created?: string | undefined }

/** A time column as compared and packed, and an instant to compare it with. */
function timeColumn(column: string, type: string | undefined): { expr: string; instant: (date: Date) => string } {
  const ms = (date: Date): string => `epoch_ms(${sqlLiteral(date.getTime())})`;
  if (type === 'TIMESTAMP') return { expr: quoteIdent(column), instant: ms };
  const tz = (date: Date): string => cast(ms(date), 'TIMESTAMPTZ');
  if (type === 'TIMESTAMP WITH TIME ZONE') return { expr: quoteIdent(column), instant: tz };
  return { expr: cast(quoteIdent(column), 'TIMESTAMPTZ'), instant: tz };
}

/** The types of the time columns of `request`'s source, as the pull reads it; {} when DuckDB cannot say. */
export async function timeTypesOf(session: Session, request: PullRequest, projectDir: string): Promise<TimeTypes> {
  const { source } = request.view;
  if (request.view.aggregations !== undefined) return {};
  try {
    const columns = await describeRelation(session, pullRelation(request, projectDir));
    const typeOf = (name: string | undefined): string | undefined => name === undefined ? undefined : columns.find((c) => c.name === name)?.type;
    return { event: typeOf(source.timestamp), created: typeOf(source.createdTimestamp) };
  } catch (error) {
    if (session.signal?.aborted) throw error;
    return {}; // the pull itself reports what is wrong with the source
  }
}

/** The source as the pull reads it: CSV string keys read as text (leading zeros kept). */
function pullRelation(request: PullRequest, projectDir: string): string {
  const { source } = request.view;
  const stringKeys = columnsOf(request).keys.filter((k) => k.type === 'VARCHAR').map((k) => k.name);
  return sourceRelation(source, projectDir, source.type === 'file' && source.format === 'csv' ? stringKeys : []);
}

/** The candidate rows of the pick: the source's rows, projected and cast, that pass the range filter. */
function candidates(request: PullRequest, projectDir: string, times: TimeTypes): { sql: string; keys: PullColumns['keys']; features: PullColumns['features']; created: boolean } {
  const { view } = request;
  const { source } = view;
  const { keys, features } = columnsOf(request);
  const created = source.createdTimestamp;
  const event = timeColumn(source.timestamp, times.event);
  const made = created === undefined ? undefined : timeColumn(created, times.created);
  const projected = [
    ...keys.map((k) => `${cast(quoteIdent(k.name), k.type)} AS ${quoteIdent(k.name)}`),
    `${event.expr} AS ${quoteIdent(EVENT)}`,
    ...(made === undefined ? [] : [`${made.expr} AS ${quoteIdent(CREATED)}`]),
    ...features.map((f, i) => `${cast(quoteIdent(f.name), f.type)} AS ${quoteIdent(`__larder_f${i}`)}`),
  ];
  const relation = pullRelation(request, projectDir);
  const ev = quoteIdent(EVENT);
  const cr = quoteIdent(CREATED);
  const where = [
    ...keys.map((k) => `${quoteIdent(k.name)} IS NOT NULL`),
    `${ev} IS NOT NULL`,
    `${ev} <= ${event.instant(request.end)}`,
    ...(made === undefined ? [] : [`${cr} IS NOT NULL`, `${cr} <= ${made.instant(request.end)}`]),
  ];
  if (request.start !== null) {
    const from = `${ev} >= ${event.instant(request.start)}`;
    where.push(made !== undefined && request.createdAfter !== undefined ? `(${from} OR ${cr} > ${made.instant(request.createdAfter)})` : from);
  }
  const inner = `SELECT ${projected.join(',\n       ')}\nFROM ${relation}`;
  return { sql: `SELECT *\nFROM (\n${indent(inner, 2)}\n)\nWHERE ${where.join('\n  AND ')}`, keys, features, created: created !== undefined };
}

/**
 * The pull query (grouped, or the candidates with `request.candidates`); also used to count its
 * rows. `times` (from {@link timeTypesOf}) spares casts of time columns; the rows are the same.
 */
export function pullSql(request: PullRequest, projectDir: string, times: TimeTypes = {}): string {
  if (request.view.aggregations !== undefined) return aggregatePullSql(request, projectDir);
  const { view } = request;
  const { sql, keys, features, created } = candidates(request, projectDir, times);
  const ev = quoteIdent(EVENT);
  const cr = quoteIdent(CREATED);
  const range = `${request.start === null ? '' : 'start <= '}event_ts <= end${created ? ' and created_ts <= end' : ''}`;
  if (request.candidates === true) {
    const out = [
      ...keys.map((k) => quoteIdent(k.name)),
      `epoch_ms(${ev}) AS ${quoteIdent(EVENT_MS)}`,
      ...(created ? [`epoch_ms(${cr}) AS ${quoteIdent(CREATED_MS)}`] : []),
      ...features.map((f, i) => `${quoteIdent(`__larder_f${i}`)} AS ${quoteIdent(f.name)}`),
    ];
    return `-- Larder materialization pull, candidates: every row of source ${view.source.name} for ${view.name}\n` +
      `-- with ${range}, not grouped (last-write-wins online keeps the latest per entity).\n` +
      `SELECT ${out.join(',\n       ')}\nFROM (\n${indent(sql, 2)}\n)`;
  }
  const packed = [
    ...features.map((_, i) => `${quoteIdent(`f${i}`)} := ${quoteIdent(`__larder_f${i}`)}`),
    `"e" := ${ev}`,
    ...(created ? [`"c" := ${cr}`] : []),
  ];
  const order = created ? `(${ev}, ${cr})` : ev;
  const keyList = keys.map((k) => quoteIdent(k.name)).join(', ');
  const best = quoteIdent(BEST);
  const out = [
    ...keys.map((k) => quoteIdent(k.name)),
    `epoch_ms(struct_extract(${best}, 'e')) AS ${quoteIdent(EVENT_MS)}`,
    ...(created ? [`epoch_ms(struct_extract(${best}, 'c')) AS ${quoteIdent(CREATED_MS)}`] : []),
    ...features.map((f, i) => `struct_extract(${best}, ${sqlLiteral(`f${i}`)}) AS ${quoteIdent(f.name)}`),
  ];
  return `-- Larder materialization pull: per entity of ${view.name}, the latest row of source ${view.source.name}\n` +
    `-- with ${range} (the point-in-time pick at T = end).\n` +
    `SELECT ${out.join(',\n       ')}\nFROM (\n` +
    `  SELECT ${keyList}, arg_max(struct_pack(${packed.join(', ')}), ${order}) AS ${best}\n` +
    `  FROM (\n${indent(sql, 4)}\n  )\n  GROUP BY ${keyList}\n)`;
}

/** How many rows the pull would yield: entities, or candidate rows with `request.candidates` (for progress and ETA). */
export async function countLatest(session: Session, request: PullRequest, projectDir: string): Promise<number> {
  const rows = await session.rows(`SELECT count(*) AS n FROM (\n${pullSql(request, projectDir, await timeTypesOf(session, request, projectDir))}\n)`);
  return Number(rows[0]?.['n'] ?? 0);
}

/** Raw value arrays of the numeric DuckDB types a pulled column can hold numbers in. */
const NUMERIC: Partial<Record<DuckDBTypeId, abstract new (...args: never[]) => ArrayLike<number | bigint> & ArrayBufferView>> = {
  [DuckDBTypeId.DOUBLE]: Float64Array, [DuckDBTypeId.FLOAT]: Float32Array, [DuckDBTypeId.BIGINT]: BigInt64Array,
  [DuckDBTypeId.INTEGER]: Int32Array, [DuckDBTypeId.SMALLINT]: Int16Array, [DuckDBTypeId.TINYINT]: Int8Array,
  [DuckDBTypeId.UINTEGER]: Uint32Array, [DuckDBTypeId.USMALLINT]: Uint16Array, [DuckDBTypeId.UTINYINT]: Uint8Array,
};

/**
 * One column of a batch, gathered chunk by chunk. While every value so far is a non-null number
 * the column is a Float64Array, filled straight from the vectors' raw arrays; at the first chunk
 * that is not (nulls, or a type without raw numbers) it turns into a plain array of JS values.
 * Plain arrays of boxed numbers, grown by push, cost the pull more than DuckDB itself did.
 */
class GatheredColumn {
  readonly #type: DuckDBType;
  readonly #capacity: number;
  #numbers: Float64Array | null = null;
  #values: unknown[] | null = null;
  #length = 0;

  constructor(type: DuckDBType, capacity: number) {
    this.#type = type;
    this.#capacity = capacity;
    this.#reset();
  }

  #reset(): void {
    this.#length = 0;
    const numeric = NUMERIC[this.#type.typeId] !== undefined;
    this.#numbers = numeric ? new Float64Array(this.#capacity) : null;
    this.#values = numeric ? null : [];
  }

  add(vector: DuckDBVector): void {
    const n = vector.itemCount;
    let numbers = this.#numbers;
    if (numbers !== null) {
      const ctor = NUMERIC[this.#type.typeId];
      const items = ctor === undefined || rawValidity(vector) !== null ? undefined : rawItems(vector, ctor);
      if (items !== undefined) {
        if (this.#length + n > numbers.length) {
          const grown = new Float64Array(Math.max(2 * numbers.length, this.#length + n));
          grown.set(numbers.subarray(0, this.#length));
          numbers = this.#numbers = grown;
        }
        if (items instanceof BigInt64Array) {
          for (let i = 0, at = this.#length; i < n; i++) numbers[at + i] = Number(items[i]);
        } else {
          numbers.set(items as ArrayLike<number>, this.#length);
        }
        this.#length += n;
        return;
      }
      this.#values = Array.from(numbers.subarray(0, this.#length));
      this.#numbers = null;
    }
    const values = this.#values as unknown[];
    const column = columnValues(vector, this.#type);
    for (let i = 0; i < n; i++) values.push(column[i]);
    this.#length += n;
  }

  /** The gathered values; the column starts over empty. */
  take(): ArrayLike<unknown> {
    const out = this.#numbers !== null ? this.#numbers.subarray(0, this.#length) : this.#values as unknown[];
    this.#reset();
    return out;
  }
}

/** Streams the pull in batches of about `batchRows`; the session must stay open while iterating. */
export async function* pullLatest(session: Session, request: PullRequest, projectDir: string): AsyncGenerator<PulledBatch> {
  const sql = pullSql(request, projectDir, await timeTypesOf(session, request, projectDir));
  const { keys, features } = columnsOf(request);
  const created = request.view.source.createdTimestamp !== undefined;
  const batchRows = Math.max(1, request.batchRows ?? 50_000);
  let limit = Math.max(1, request.firstBatchRows ?? batchRows);
  let result: DuckDBResult;
  try {
    result = await session.stream(sql);
  } catch (error) {
    throw session.queryError(error, sql);
  }
  const types = result.columnTypes();
  const offsets = { event: keys.length, created: keys.length + 1, features: keys.length + (created ? 2 : 1) };
  // DuckDB chunks hold at most 2048 rows, so a batch rarely outgrows this.
  const columns = types.map((type) => new GatheredColumn(type, Math.min(batchRows, 1 << 20) + 2048));
  const keyNames = keys.map((k) => k.name);
  let length = 0;
  const flush = (): PulledBatch => {
    const taken = columns.map((column) => column.take());
    const out: PulledBatch = {
      length,
      keyNames,
      keys: taken.slice(0, keys.length),
      eventTs: taken[offsets.event] as ArrayLike<number>,
      createdTs: created ? taken[offsets.created] as ArrayLike<number> : null,
      features: taken.slice(offsets.features, offsets.features + features.length),
    };
    length = 0;
    limit = batchRows;
    return out;
  };
  // The next chunk is always being fetched (on DuckDB's thread) while this one is gathered and
  // while the consumer works on a yielded batch; a settled fetch is awaited before the session
  // can close.
  const fetch = (): Promise<DuckDBDataChunk | null | { failed: unknown }> => result.fetchChunk().catch((error: unknown) => ({ failed: error }));
  let next = fetch();
  let finished = false;
  try {
    for (;;) {
      session.checkAborted('materialization pull');
      const chunk = await next;
      if (chunk !== null && 'failed' in chunk) throw session.queryError(chunk.failed, sql);
      if (!chunk || chunk.rowCount === 0) break;
      next = fetch();
      for (let c = 0; c < columns.length; c++) (columns[c] as GatheredColumn).add(chunk.getColumnVector(c));
      length += chunk.rowCount;
      if (length >= limit) yield flush();
    }
    if (length > 0) yield flush();
    finished = true;
  } finally {
    // A consumer that stops early leaves DuckDB's streaming query parked on its worker threads,
    // which then sit out the next query (a grouped pull ran on one core of two); interrupting
    // ends it.
    if (!finished) session.connection.interrupt();
    await next;
  }
}
