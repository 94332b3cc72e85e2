/**
 * @module offline/aggregate-sql
 * Windowed aggregations in a point-in-time dataset (DESIGN §4): for each entity row (K, T) and
 * aggregation (fn, x, w, lag), the source events with the same K and
 * `T - lag - w <= event_ts < T - lag` (`last` without a window: every event before `T - lag`),
 * aggregated with nulls in x skipped; empty window → `count`/`countDistinct` 0, others null.
 * Written as CTEs that `pit-sql.ts` places in its query; the result is one row per distinct
 * (K, T) of the entity rows, joined back onto every entity row by equality.
 *
 * Algorithm — cost (entity rows + events) × log, never entity rows × events in a window:
 * 1. Query points: the distinct (K, T) of the entity rows (duplicates computed once); events:
 *    the source read once, keys and time cast, each distinct x evaluated once.
 * 2. count, sum, avg, stddev — prefix sums over one timeline per view: events grouped per
 *    (K, event_ts), plus a zero row per K at -infinity, sorted by (K, event_ts), then one global
 *    running sum (`sum(…) OVER (ROWS UNBOUNDED PRECEDING)`, a streaming window: several times
 *    cheaper here than a window partitioned by K) of the event count and, per x, of count(x),
 *    sum(x), and for stddev sum(x - c) and sum((x - c)²) with c a per-key center (the key's
 *    mean rounded to an integer). It relies on DuckDB keeping the sorted subquery's order into
 *    the streaming window (the engine sets preserve_insertion_order). Every distinct window edge
 *    `q = T - o` (o = lag, lag + w over all of the view's aggregations) is one
 *    `ASOF LEFT JOIN … ON K AND q > ts`, which finds the running total of everything before
 *    the first event of K at or after q; the zero row makes sure it lands in K's block. A
 *    window is the difference of its two edges' totals. Windows sharing an edge share the join.
 * 3. min, max, countDistinct — window functions with `RANGE` frames over the union of events
 *    and query points, ordered by `epoch_us * 2 + is_event`: a query point at q = T - lag is
 *    `2q`, so the frame `[2q - 2w, 2q - 1]` holds the events with `q - w <= ts < q` exactly and
 *    no query point contributes (its x is null). One union per view, every lag's query points
 *    in it, so all these aggregates share one sort.
 * 4. last — events with non-null x grouped per (K, event_ts) to the greatest x (ties at one
 *    instant), then `ASOF LEFT JOIN … q > ts`; with a window, a match older than `q - w` is null.
 *
 * Events outside every entity row's reach (after the latest `T - lag`, before the earliest
 * `T - lag - w`) are left out before any of this, so a dataset over a month of a half-year
 * source sorts a month and its windows, not the half year.
 *
 * Exactness: counts, min, max, countDistinct and last are exact. Integer sums are exact
 * (DuckDB sums BIGINT into HUGEINT, and a prefix difference of integers is exact), so integer
 * `sum` is exact and `avg` is the correctly rounded quotient. Float sums are differences of
 * running totals, exact only to rounding: the error is of the order of 1 ulp of the running
 * total (every key's events sorted before the window), not of the window's own sum. stddev is
 * computed in DOUBLE from centered sums (exact whenever x - c and its squares are integers
 * below 2^53, as for integer data such as minutes of delay), and a variance that rounding
 * pushes below zero is read as zero.
 */
import type { AggregationFn } from '../define/aggregations.ts';
import type { AggregationPlan, KeyColumn } from './plan.ts';
import { indent, qualified, quoteIdent, sqlLiteral, sqlType } from './sql.ts';

/** The column of the aggregation CTE that holds the entity row's time. */
export const AGG_TIME = '__larder_t';

const EVENT = '__larder_event_ts';
const ORDER = '__larder_ok';
const LAG = '__larder_lag';
const PREFIX_FNS: readonly AggregationFn[] = ['count', 'sum', 'avg', 'stddev'];
const FRAME_FNS: readonly AggregationFn[] = ['min', 'max', 'countDistinct'];

const cast = (expr: string, type: string): string => `CAST(${expr} AS ${sqlType(type)})`;
const interval = (ms: number): string => `to_milliseconds(${sqlLiteral(ms)})`;
const minus = (ts: string, ms: number): string => (ms === 0 ? ts : `${ts} - ${interval(ms)}`);

/**
 * The plain `GROUP BY` aggregate of one function, before the cast to the feature's dtype: `x` is
 * the value expression (absent for `count`), `eventTs` the event time (`last` orders by it), and
 * `where` an optional condition (the window) applied as a `FILTER`. Nulls in x are skipped; no
 * rows give null for every function but `count`/`countDistinct` (0). The same numbers as the
 * windowed engine in this module, computed the direct way: for materialization at one instant
 * and for baselines.
 * @example groupAggregateSql('avg', '"delay"', '"ts"', '"ts" >= TIMESTAMPTZ \'2024-01-01\'') // avg("delay") FILTER (WHERE "ts" >= …)
 */
export function groupAggregateSql(fn: AggregationFn, x: string | undefined, eventTs: string, where?: string): string {
  const v = x ?? 'NULL';
  const filter = (...conditions: (string | undefined)[]): string => {
    const all = conditions.filter((c): c is string => c !== undefined);
    return all.length === 0 ? '' : ` FILTER (WHERE ${all.join(' AND ')})`;
  };
  switch (fn) {
    case 'count': return `count(*)${filter(where)}`;
    case 'countDistinct': return `count(DISTINCT ${v})${filter(where)}`;
    case 'sum': return `sum(${v})${filter(where)}`;
    case 'avg': return `avg(${v})${filter(where)}`;
    case 'min': return `min(${v})${filter(where)}`;
    case 'max': return `max(${v})${filter(where)}`;
    case 'stddev': return `stddev_samp(${v})${filter(where)}`;
    case 'last': return `arg_max(${v}, (${eventTs}, ${v}))${filter(`${v} IS NOT NULL`, where)}`;
  }
}

export interface AggregationSqlInput {
  /** Names the CTEs (`__larder_a<part>_<tag>`); unique per view in one query. */
  readonly tag: string;
  readonly keys: readonly KeyColumn[];
  /** FROM-clause text of the entity rows (keys already cast, time as TIMESTAMPTZ). */
  readonly entities: string;
  readonly timestampColumn: string;
  /** FROM-clause text of the source. */
  readonly source: string;
  readonly sourceTimestamp: string;
  readonly aggregations: readonly AggregationPlan[];
}

export interface AggregationSql {
  /** `name AS (…)` CTE texts, in dependency order. */
  readonly ctes: readonly string[];
  /** The CTE with one row per distinct (K, T): the keys, {@link AGG_TIME}, then one column per feature. */
  readonly result: string;
}

/** The quoted name of the CTE holding the result for `tag`. */
export function aggregationResultName(tag: string): string {
  return quoteIdent(`__larder_a_${tag}`);
}

/**
 * Conditions keeping only the events some window of some entity row can read: before the latest
 * `T - lag`, and (when every aggregation has a window) from the earliest `T - lag - w` on. Prefix
 * sums stay right, since both edges of every window lie inside the kept range.
 */
function eventRange(input: AggregationSqlInput, points: string): string[] {
  const at = cast(quoteIdent(input.sourceTimestamp), 'TIMESTAMPTZ');
  const minLag = Math.min(...input.aggregations.map((a) => a.lagMs));
  const conditions = [`${at} < (SELECT ${minus(`max(${quoteIdent(AGG_TIME)})`, minLag)} FROM ${points})`];
  if (input.aggregations.every((a) => a.windowMs !== null)) {
    const reach = Math.max(...input.aggregations.map((a) => a.lagMs + (a.windowMs as number)));
    conditions.push(`${at} >= (SELECT ${minus(`min(${quoteIdent(AGG_TIME)})`, reach)} FROM ${points})`);
  }
  return conditions;
}

/** The CTEs computing `aggregations` for every distinct (K, T) of `entities` (see the module header). */
export function aggregationSql(input: AggregationSqlInput): AggregationSql {
  const { tag, keys, aggregations } = input;
  const name = (part: string): string => `__larder_a${part}_${tag}`; // part '' is the result: aggregationResultName
  const keyNames = keys.map((k) => quoteIdent(k.name));
  const keyList = keyNames.join(', ');
  const ev = quoteIdent(EVENT);
  const t = quoteIdent(AGG_TIME);

  // Each distinct expression is evaluated once, as __larder_x<i>.
  const exprIndex = new Map<string, number>();
  for (const a of aggregations) if (a.expr !== undefined && !exprIndex.has(a.expr)) exprIndex.set(a.expr, exprIndex.size);
  const xName = (a: AggregationPlan): string => `__larder_x${exprIndex.get(a.expr as string) as number}`;
  const xs = [...exprIndex].map(([expr, i]) => `(${expr}) AS ${quoteIdent(`__larder_x${i}`)}`);

  const ctes: string[] = [];
  const cte = (part: string, body: string, materialized = false): string => {
    ctes.push(`${quoteIdent(name(part))} AS ${materialized ? 'MATERIALIZED ' : ''}(\n${indent(body)}\n)`);
    return quoteIdent(name(part));
  };
  const notNullKeys = keyNames.map((k) => `${k} IS NOT NULL`);
  const points = cte('q',
    `-- the distinct (keys, time) of the entity rows: each is computed once\n` +
    `SELECT DISTINCT ${keyList}, ${quoteIdent(input.timestampColumn)} AS ${t}\nFROM ${input.entities}\n` +
    `WHERE ${[...notNullKeys, `${quoteIdent(input.timestampColumn)} IS NOT NULL`].join(' AND ')}`, true);
  const events = cte('e',
    `-- the source's events: keys, event time and each aggregated expression, evaluated once\n` +
    `SELECT ${[...keys.map((k) => `${cast(quoteIdent(k.name), k.type)} AS ${quoteIdent(k.name)}`), `${cast(quoteIdent(input.sourceTimestamp), 'TIMESTAMPTZ')} AS ${ev}`, ...xs].join(',\n       ')}\n` +
    `FROM ${input.source}\nWHERE ${[...notNullKeys, `${quoteIdent(input.sourceTimestamp)} IS NOT NULL`, ...eventRange(input, points)].join(' AND ')}`, true);

  const joins: string[] = [];
  const values = new Map<string, string>();
  const on = (alias: string, edge: string): string =>
    [...keys.map((k) => `${qualified('q', k.name)} = ${qualified(alias, k.name)}`), `${edge} > ${qualified(alias, EVENT)}`].join(' AND ');
  const q = qualified('q', AGG_TIME);

  // 2. Prefix sums over one timeline, one ASOF join per distinct window edge.
  const prefix = aggregations.filter((a) => PREFIX_FNS.includes(a.fn));
  if (prefix.length > 0) {
    const needs = new Map<string, Set<'n' | 's' | 'c'>>();
    for (const a of prefix) {
      if (a.expr === undefined) continue;
      const set = needs.get(xName(a)) ?? new Set();
      set.add('n');
      if (a.fn === 'sum' || a.fn === 'avg') set.add('s');
      if (a.fn === 'stddev') set.add('c');
      needs.set(xName(a), set);
    }
    const centered = [...needs].filter(([, s]) => s.has('c')).map(([x]) => x);
    let from = events;
    if (centered.length > 0) {
      const centers = cte('c',
        `-- per-key centers for stddev's sums of squares: fewer digits lost when they are differenced\n` +
        `SELECT ${keyList}, ${centered.map((x) => `coalesce(round(avg(CAST(${quoteIdent(x)} AS DOUBLE))), 0) AS ${quoteIdent(`${x}_c`)}`).join(', ')}\n` +
        `FROM ${events}\nGROUP BY ${keyList}`);
      from = `${events} JOIN ${centers} USING (${keyList})`;
    }
    // A zero row per key at -infinity starts every key's block of the global running sum with a
    // row an ASOF join always finds, so both edges of a window read the same key's block.
        const grouped: string[] = [`count(*) AS "n"`];
    for (const [x, set] of needs) {
      const v = quoteIdent(x);
      grouped.push(`count(${v}) AS ${quoteIdent(`${x}_n`)}`);
      if (set.has('s')) grouped.push(`sum(${v}) AS ${quoteIdent(`${x}_s`)}`);
      if (set.has('c')) {
        const d = `(CAST(${v} AS DOUBLE) - ${quoteIdent(`${x}_c`)})`;
        grouped.push(`sum(${d}) AS ${quoteIdent(`${x}_cs`)}`, `sum(${d} * ${d}) AS ${quoteIdent(`${x}_cq`)}`);
      }
    }
    const sums = grouped.map((g) => g.slice(g.lastIndexOf(' AS ') + 4));
    const timeline = cte('p',
      `-- running sums over (key, event time) groups sorted by key then time: within a key's block,\n` +
      `-- the difference of two rows' sums is the sum of the events between them. One global\n` +
      `-- streaming sum (the subquery's order is kept: preserve_insertion_order) costs far less\n` +
      `-- than a partitioned window.\n` +
      `SELECT ${keyList}, ${ev}, ${sums.map((s) => `sum(${s}) OVER (ROWS UNBOUNDED PRECEDING) AS ${s}`).join(', ')}\n` +
      `FROM (\n  SELECT * FROM (\n    SELECT ${keyList}, ${ev}, ${grouped.join(', ')}\n    FROM ${from}\n    GROUP BY ${keyList}, ${ev}\n` +
      `    UNION ALL\n    SELECT DISTINCT ${keyList}, '-infinity'::TIMESTAMPTZ, ${sums.map(() => '0').join(', ')}\n    FROM ${events}\n  )\n  ORDER BY ${keyList}, ${ev}\n)`, true);

    const edges = new Map<number, string>();
    const edge = (offset: number): string => {
      let alias = edges.get(offset);
      if (alias === undefined) {
        alias = `b${edges.size}`;
        edges.set(offset, alias);
        joins.push(`ASOF LEFT JOIN ${timeline} AS ${quoteIdent(alias)} ON ${on(alias, minus(q, offset))}`);
      }
      return alias;
    };
    for (const a of prefix) {
      const hi = edge(a.lagMs);
      const lo = edge(a.lagMs + (a.windowMs as number));
      const diff = (column: string): string => `(coalesce(${qualified(hi, column)}, 0) - coalesce(${qualified(lo, column)}, 0))`;
      if (a.fn === 'count') { values.set(a.feature, diff('n')); continue; }
      const x = xName(a);
      const n = diff(`${x}_n`);
      switch (a.fn) {
        case 'sum': values.set(a.feature, `CASE WHEN ${n} > 0 THEN ${diff(`${x}_s`)} END`); break;
        case 'avg': values.set(a.feature, `CASE WHEN ${n} > 0 THEN CAST(${diff(`${x}_s`)} AS DOUBLE) / ${n} END`); break;
        default: {
          const s = diff(`${x}_cs`);
          values.set(a.feature, `CASE WHEN ${n} >= 2 THEN sqrt(greatest((${diff(`${x}_cq`)} - ${s} * ${s} / ${n}) / (${n} - 1), 0)) END`);
        }
      }
    }
  }

  // 3. RANGE frames over events ∪ query points, all lags in one union.
  const framed = aggregations.filter((a) => FRAME_FNS.includes(a.fn));
  if (framed.length > 0) {
    const lags = [...new Set(framed.map((a) => a.lagMs))];
    const frameXs = [...new Set(framed.map(xName))];
    const columns = framed.map((a, i) => {
      const w = 2 * 1000 * (a.windowMs as number); // the order key counts half-microseconds
      const call = a.fn === 'countDistinct' ? `count(DISTINCT ${quoteIdent(xName(a))})` : `${a.fn}(${quoteIdent(xName(a))})`;
      return `${call} OVER (PARTITION BY ${keyList} ORDER BY ${quoteIdent(ORDER)} RANGE BETWEEN ${sqlLiteral(w)} PRECEDING AND 1 PRECEDING) AS "f${i}"`;
    });
    const lagValues = lags.map((l, i) => `(${sqlLiteral(i)}, ${sqlLiteral(l)})`).join(', ');
    const union =
      `SELECT ${keyList}, NULL AS ${t}, NULL AS ${quoteIdent(LAG)}, epoch_us(${ev}) * 2 + 1 AS ${quoteIdent(ORDER)}, ${frameXs.map(quoteIdent).join(', ')}\nFROM ${events}\n` +
      `UNION ALL\n` +
      `SELECT ${keyList}, ${t}, "l"."i", epoch_us(${t} - to_milliseconds("l"."ms")) * 2, ${frameXs.map((x) => `NULL AS ${quoteIdent(x)}`).join(', ')}\n` +
      `FROM ${points} CROSS JOIN (VALUES ${lagValues}) AS "l"("i", "ms")`;
    const windowed = `SELECT ${keyList}, ${t}, ${quoteIdent(LAG)}, ${columns.join(',\n       ')}\nFROM (\n${indent(union)}\n)\nQUALIFY ${t} IS NOT NULL`;
    const picked = framed.map((a, i) => (lags.length === 1 ? `"f${i}"` : `any_value("f${i}") FILTER (WHERE ${quoteIdent(LAG)} = ${sqlLiteral(lags.indexOf(a.lagMs))})`) + ` AS "f${i}"`);
    const frames = cte('r',
      `-- min/max/countDistinct: RANGE frames over events (2·µs + 1) and query points (2·µs of T - lag)\n` +
      (lags.length === 1
        ? windowed
        : `SELECT ${keyList}, ${t}, ${picked.join(', ')}\nFROM (\n${indent(windowed)}\n)\nGROUP BY ${keyList}, ${t}`));
    joins.push(`LEFT JOIN ${frames} AS "r" ON ${[...keys.map((k) => `${qualified('q', k.name)} = ${qualified('r', k.name)}`), `${q} = ${qualified('r', AGG_TIME)}`].join(' AND ')}`);
    framed.forEach((a, i) => values.set(a.feature, qualified('r', `f${i}`)));
  }

  // 4. last: the newest non-null value before T - lag, one ASOF join per (expression, lag).
  const lasts = aggregations.filter((a) => a.fn === 'last');
  const newest = new Map<string, string>();
  const lastJoins = new Map<string, string>();
  for (const a of lasts) {
    const x = xName(a);
    let table = newest.get(x);
    if (table === undefined) {
      table = cte(`l${newest.size}`,
        `-- newest value per (key, instant); ties at one instant: the greatest\n` +
        `SELECT ${keyList}, ${ev}, max(${quoteIdent(x)}) AS "v"\nFROM ${events}\nWHERE ${quoteIdent(x)} IS NOT NULL\nGROUP BY ${keyList}, ${ev}`);
      newest.set(x, table);
    }
    const joinKey = `${x}/${a.lagMs}`;
    let alias = lastJoins.get(joinKey);
    if (alias === undefined) {
      alias = `l${lastJoins.size}`;
      lastJoins.set(joinKey, alias);
      joins.push(`ASOF LEFT JOIN ${table} AS ${quoteIdent(alias)} ON ${on(alias, minus(q, a.lagMs))}`);
    }
    const v = qualified(alias, 'v');
    values.set(a.feature, a.windowMs === null ? v : `CASE WHEN ${qualified(alias, EVENT)} >= ${minus(q, a.lagMs + a.windowMs)} THEN ${v} END`);
  }

  const select = [...keys.map((k) => qualified('q', k.name)), q,
    ...aggregations.map((a) => `${cast(values.get(a.feature) as string, a.type)} AS ${quoteIdent(a.feature)}`)];
  const result = cte('', `SELECT ${select.join(',\n       ')}\nFROM ${points} AS "q"\n${joins.join('\n')}`);
  return { ctes, result };
}

/** Whether an aggregation's value for an empty window (or an unmatched entity row) is 0 rather than null. */
export function countsEmptyAsZero(fn: AggregationFn): boolean {
  return fn === 'count' || fn === 'countDistinct';
}
