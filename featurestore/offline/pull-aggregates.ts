/**
 * @module offline/pull-aggregates
 * The materialization pull of an aggregation view: each aggregate as of `T = end`, for the
 * entities whose values may have changed since `start`.
 *
 * Values: for aggregation (fn, x, w, lag) and entity K, the events of K with
 * `T - lag - w <= event_ts < T - lag` (DESIGN §4; `last` without a window: all events before
 * `T - lag`), aggregated as offline: nulls in x skipped, empty window → count 0 and null
 * otherwise, `last` = newest non-null x (ties at one instant: the greatest value). One scan of
 * the events in the widest window, one `GROUP BY` of the keys, each aggregate with its own
 * `FILTER`, so the cost follows the events read, not entities × window.
 *
 * Entities: with `start` null, every entity with an event at or before `end`; otherwise those
 * with an event in `[start - lag - w, end]` for some aggregation (`[start - lag, end]` for a
 * windowless `last`): a value can only change between two instants if an event entered or left
 * one of its windows in between, so the others keep what an earlier run wrote. Entities in the
 * set whose windows are empty get `0`/null, which is how a value that aged out is cleared.
 *
 * Output has the shape of `pull.ts`'s: the keys, `__larder_event_ms` (= `end`: the instant the
 * aggregates describe, which reads report the age of), `__larder_created_ms` (also `end`) when the
 * source declares a createdTimestamp, then the features in order, cast to their dtypes. The
 * createdTimestamp does not otherwise apply to aggregations (see define/aggregations.ts).
 */
import type { AggregationDef } from '../define/aggregations.ts';
import type { FeatureViewDef } from '../define/definitions.ts';
import { duckdbTypeOf, type DType } from '../define/dtypes.ts';
import { parseDuration } from '../define/duration.ts';
import { viewEntities } from '../define/project.ts';
import { groupAggregateSql } from './aggregate-sql.ts';
import { sourceRelation } from './sources.ts';
import { indent, quoteIdent, sqlLiteral, sqlType } from './sql.ts';
import type { PullRequest } from './store.ts';

const EVENT = '__larder_event_ts';
const EVENT_MS = '__larder_event_ms';
const CREATED_MS = '__larder_created_ms';
const cast = (expr: string, type: string): string => `CAST(${expr} AS ${sqlType(type)})`;
const at = (ms: number): string => cast(`epoch_ms(${sqlLiteral(ms)})`, 'TIMESTAMPTZ');
const x = (i: number): string => quoteIdent(`__larder_x${i}`);

interface Window {
  /** Window start (inclusive) as epoch ms, or null for all history. */
  readonly from: number | null;
  /** Window end (exclusive) as epoch ms. */
  readonly to: number;
}

function windowOf(a: AggregationDef, end: number): Window {
  const to = end - (a.lag === undefined ? 0 : parseDuration(a.lag));
  return { from: a.window === undefined ? null : to - parseDuration(a.window), to };
}

/** How far before `start` an event can still change a value between `start` and `end`; null: any. */
function reachBack(aggregations: readonly AggregationDef[]): number {
  return Math.max(...aggregations.map((a) => (a.lag === undefined ? 0 : parseDuration(a.lag)) + (a.window === undefined ? 0 : parseDuration(a.window))));
}

/** One aggregate over its window's events, before the cast to the feature's dtype. */
function aggregateSql(a: AggregationDef, i: number, w: Window): string {
  const ev = quoteIdent(EVENT);
  const inWindow = [...(w.from === null ? [] : [`${ev} >= ${at(w.from)}`]), `${ev} < ${at(w.to)}`].join(' AND ');
  return groupAggregateSql(a.fn, a.expr === undefined ? undefined : x(i), ev, inWindow);
}

/** The pull query of an aggregation view (see the module header). */
export function aggregatePullSql(request: PullRequest, projectDir: string): string {
  const view: FeatureViewDef = request.view;
  const { source } = view;
  const aggregations = Object.entries(view.aggregations ?? {});
  const keys = viewEntities(view, request.project.entities)
    .flatMap((e) => Object.entries(e.joinKeys).map(([name, dtype]) => ({ name, type: duckdbTypeOf(dtype) })));
  const end = request.end.getTime();
  const windows = aggregations.map(([, a]) => windowOf(a, end));
  const ev = quoteIdent(EVENT);
  const keyList = keys.map((k) => quoteIdent(k.name)).join(', ');
  const stringKeys = keys.filter((k) => k.type === 'VARCHAR').map((k) => k.name);
  const relation = sourceRelation(source, projectDir, source.type === 'file' && source.format === 'csv' ? stringKeys : []);
  const projected = [
    ...keys.map((k) => `${cast(quoteIdent(k.name), k.type)} AS ${quoteIdent(k.name)}`),
    `${cast(quoteIdent(source.timestamp), 'TIMESTAMPTZ')} AS ${ev}`,
    ...aggregations.map(([, a], i) => (a.expr === undefined ? `NULL AS ${x(i)}` : `(${a.expr}) AS ${x(i)}`)),
  ];
  const valid = [...keys.map((k) => `${quoteIdent(k.name)} IS NOT NULL`), `${ev} IS NOT NULL`, `${ev} <= ${at(end)}`];
  const affected = request.start === null ? valid : [...valid, `${ev} >= ${at(request.start.getTime() - reachBack(aggregations.map(([, a]) => a)))}`];
  const scanFrom = windows.some((w) => w.from === null) ? null : Math.min(...windows.map((w) => w.from as number));
  const scanned = [...valid, ...(scanFrom === null ? [] : [`${ev} >= ${at(scanFrom)}`]), `${ev} < ${at(Math.max(...windows.map((w) => w.to)))}`];
  const values = aggregations.map(([, a], i) => `${aggregateSql(a, i, windows[i] as Window)} AS ${x(i)}`);
  const out = [
    ...keys.map((k) => `a.${quoteIdent(k.name)}`),
    `${sqlLiteral(end)}::BIGINT AS ${quoteIdent(EVENT_MS)}`,
    ...(source.createdTimestamp === undefined ? [] : [`${sqlLiteral(end)}::BIGINT AS ${quoteIdent(CREATED_MS)}`]),
    ...aggregations.map(([name, a], i) => {
      const value = a.fn === 'count' || a.fn === 'countDistinct' ? `coalesce(g.${x(i)}, 0)` : `g.${x(i)}`;
      return `${cast(value, duckdbTypeOf(view.features[name] as DType))} AS ${quoteIdent(name)}`;
    }),
  ];
  const on = keys.map((k) => `a.${quoteIdent(k.name)} = g.${quoteIdent(k.name)}`).join(' AND ');
  return `-- Larder materialization pull: aggregation view ${view.name} as of ${request.end.toISOString()}` +
    `${request.start === null ? '' : `, entities with events since ${request.start.toISOString()} minus the widest window`}\n` +
    `WITH events AS (\n${indent(`SELECT ${projected.join(',\n       ')}\nFROM ${relation}`, 2)}\n),\n` +
    `affected AS (SELECT DISTINCT ${keyList} FROM events WHERE ${affected.join(' AND ')}),\n` +
    `grouped AS (\n  SELECT ${keyList},\n         ${values.join(',\n         ')}\n  FROM events\n  WHERE ${scanned.join('\n    AND ')}\n  GROUP BY ${keyList}\n)\n` +
    `SELECT ${out.join(',\n       ')}\nFROM affected a LEFT JOIN grouped g ON ${on}`;
}
