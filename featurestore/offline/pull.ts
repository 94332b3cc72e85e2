/**
 * @module offline/pull
 * The pull behind materialization: per entity, the latest source row of a feature view inside a
 * time range, streamed out of DuckDB in batches.
 *
 * Parameters: a view, `[start, end]` (start may be open) and, for incremental runs of views
 * whose source has a createdTimestamp, `createdAfter`. Output: one row per entity key with
 * the view's keys (cast to the entities' key dtypes), `event_ts`/`created_ts` as epoch ms and
 * the features cast to their declared dtypes.
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
 */
import { DuckDBTypeId, type DuckDBDataChunk, type DuckDBResult, type DuckDBType, type DuckDBVector } from '@duckdb/node-api';
import type { FeatureViewDef } from '../define/definitions.ts';
import { duckdbTypeOf, type DType } from '../define/dtypes.ts';
import { viewEntities, type ProjectDefinitions } from '../define/project.ts';
import { columnValues, rawItems, rawValidity } from './arrow.ts';
import { aggregatePullSql } from './pull-aggregates.ts';
import type { Session } from './duckdb.ts';
import { sourceRelation } from './sources.ts';
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
const instant = (date: Date): string => cast(`epoch_ms(${sqlLiteral(date.getTime())})`, 'TIMESTAMPTZ');

/** The pull query; also used to count its rows. */
export function pullSql(request: PullRequest, projectDir: string): string {
  if (request.view.aggregations !== undefined) return aggregatePullSql(request, projectDir);
  const { view } = request;
  const { source } = view;
  const { keys, features } = columnsOf(request);
  const created = source.createdTimestamp;
  const projected = [
    ...keys.map((k) => `${cast(quoteIdent(k.name), k.type)} AS ${quoteIdent(k.name)}`),
    `${cast(quoteIdent(source.timestamp), 'TIMESTAMPTZ')} AS ${quoteIdent(EVENT)}`,
    ...(created === undefined ? [] : [`${cast(quoteIdent(created), 'TIMESTAMPTZ')} AS ${quoteIdent(CREATED)}`]),
    ...features.map((f, i) => `${cast(quoteIdent(f.name), f.type)} AS ${quoteIdent(`__larder_f${i}`)}`),
  ];
  const stringKeys = keys.filter((k) => k.type === 'VARCHAR').map((k) => k.name);
  const relation = sourceRelation(source, projectDir, source.type === 'file' && source.format === 'csv' ? stringKeys : []);
  const ev = quoteIdent(EVENT);
  const cr = quoteIdent(CREATED);
  const end = instant(request.end);
  const where = [
    ...keys.map((k) => `${quoteIdent(k.name)} IS NOT NULL`),
    `${ev} IS NOT NULL`,
    `${ev} <= ${end}`,
    ...(created === undefined ? [] : [`${cr} IS NOT NULL`, `${cr} <= ${end}`]),
  ];
  if (request.start !== null) {
    const from = `${ev} >= ${instant(request.start)}`;
    where.push(created !== undefined && request.createdAfter !== undefined ? `(${from} OR ${cr} > ${instant(request.createdAfter)})` : from);
  }
  const packed = [
    ...features.map((_, i) => `${quoteIdent(`f${i}`)} := ${quoteIdent(`__larder_f${i}`)}`),
    `"e" := ${ev}`,
    ...(created === undefined ? [] : [`"c" := ${cr}`]),
  ];
  const order = created === undefined ? ev : `(${ev}, ${cr})`;
  const keyList = keys.map((k) => quoteIdent(k.name)).join(', ');
  const best = quoteIdent(BEST);
  const out = [
    ...keys.map((k) => quoteIdent(k.name)),
    `epoch_ms(struct_extract(${best}, 'e')) AS ${quoteIdent(EVENT_MS)}`,
    ...(created === undefined ? [] : [`epoch_ms(struct_extract(${best}, 'c')) AS ${quoteIdent(CREATED_MS)}`]),
    ...features.map((f, i) => `struct_extract(${best}, ${sqlLiteral(`f${i}`)}) AS ${quoteIdent(f.name)}`),
  ];
  const inner = `SELECT ${projected.join(',\n       ')}\nFROM ${relation}`;
  return `-- Larder materialization pull: per entity of ${view.name}, the latest row of source ${source.name}\n` +
    `-- with ${request.start === null ? '' : 'start <= '}event_ts <= end${created === undefined ? '' : ' and created_ts <= end'}` +
    ` (the point-in-time pick at T = end).\n` +
    `SELECT ${out.join(',\n       ')}\nFROM (\n` +
    `  SELECT ${keyList}, arg_max(struct_pack(${packed.join(', ')}), ${order}) AS ${best}\n` +
    `  FROM (\n${indent(inner, 4)}\n  )\n  WHERE ${where.join('\n    AND ')}\n  GROUP BY ${keyList}\n)`;
}

/** How many entities the pull would yield (for progress and ETA). */
export async function countLatest(session: Session, request: PullRequest, projectDir: string): Promise<number> {
  const rows = await session.rows(`SELECT count(*) AS n FROM (\n${pullSql(request, projectDir)}\n)`);
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
  const sql = pullSql(request, projectDir);
  const { keys, features } = columnsOf(request);
  const created = request.view.source.createdTimestamp !== undefined;
  const batchRows = Math.max(1, request.batchRows ?? 50_000);
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
    return out;
  };
  // The next chunk is always being fetched (on DuckDB's thread) while this one is gathered and
  // while the consumer works on a yielded batch; a settled fetch is awaited before the session
  // can close.
  const fetch = (): Promise<DuckDBDataChunk | null | { failed: unknown }> => result.fetchChunk().catch((error: unknown) => ({ failed: error }));
  let next = fetch();
  try {
    for (;;) {
      session.checkAborted('materialization pull');
      const chunk = await next;
      if (chunk !== null && 'failed' in chunk) throw session.queryError(chunk.failed, sql);
      if (!chunk || chunk.rowCount === 0) break;
      next = fetch();
      for (let c = 0; c < columns.length; c++) (columns[c] as GatheredColumn).add(chunk.getColumnVector(c));
      length += chunk.rowCount;
      if (length >= batchRows) yield flush();
    }
    if (length > 0) yield flush();
  } finally {
    await next;
  }
}
