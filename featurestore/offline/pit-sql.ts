/**
 * @module offline/pit-sql
 * Writes a {@link PitPlan} as one DuckDB query: the point-in-time join of DESIGN §4.
 *
 * Parameters: the entity relation (a file reader, a query, or a loaded table) and the plan.
 * Output: every entity row once, in input order (`ORDER BY __larder_row`), with its columns
 * (keys cast to the entity's key dtype, the timestamp column to TIMESTAMPTZ), then one column
 * per requested feature, cast to its declared dtype.
 *
 * Per view V and entity row (K, T):
 * - without `createdTimestamp`: `ASOF LEFT JOIN` on K and `T >= event_ts` picks the row with
 *   the greatest event_ts <= T;
 * - with `createdTimestamp`: a row is usable from `avail = greatest(event_ts, created_ts)`.
 *   Walking each key's rows in order of `avail`, a row that does not beat every row before
 *   it on (event_ts, created_ts) can never be the best candidate (the row that beats it was
 *   available earlier), so it is dropped, as are all but the last of rows sharing one `avail`.
 *   What remains rises in (event_ts, created_ts) as `avail` rises, so `ASOF … T >= avail`
 *   picks the best row among those with event_ts <= T and created_ts <= T. (Matching on
 *   created_ts alone would be wrong for late-arriving rows.)
 * - ttl: ASOF takes one inequality, so the ttl is a post-filter that nulls a match whose
 *   event_ts < T - ttl — never a WHERE, which would drop entity rows. It is exact because the
 *   candidate set only grows with T: if the best candidate is too old, all are.
 * Null keys or a null T match nothing. Two source rows with the same key, event_ts and
 * created_ts ("full ties") are resolved arbitrarily.
 *
 * Aggregation views (`view.aggregations`) are computed by `aggregate-sql.ts` for each distinct
 * (K, T) and joined on equality; a row with a null key or T gets an empty window (count 0,
 * others null). A ttl does not apply to them offline: each aggregate is computed at T itself
 * (online, the ttl bounds the age of a materialized aggregate).
 */
import { AGG_TIME, aggregationResultName, aggregationSql, countsEmptyAsZero } from './aggregate-sql.ts';
import { indent, quoteIdent, qualified, sqlLiteral, sqlType } from './sql.ts';
import { ROW_COLUMN, type PitPlan, type ViewPlan } from './plan.ts';
import { sourceRelation } from './sources.ts';

const EVENT = '__larder_event_ts';
const CREATED = '__larder_created_ts';
const AVAIL = '__larder_avail';
const ENTITY_CTE = '__larder_entity_rows';

export interface EntityRelation {
  /** FROM-clause text: `read_parquet(…)`, `(query)` or a loaded table's quoted name. */
  readonly relation: string;
  /** True when the relation already carries `__larder_row` (tables Larder loaded). */
  readonly numbered: boolean;
  /** A line for the SQL's header saying where the rows come from. */
  readonly description: string;
}

/** `base` also selects `__larder_row` and the hidden inputs of on-demand views. */
export type PitMode = 'final' | 'base';

export function viewCteName(view: ViewPlan): string {
  return `__larder_fv_${view.name}`;
}

function cast(expr: string, type: string): string {
  return `CAST(${expr} AS ${sqlType(type)})`;
}

function entityCte(plan: PitPlan, entities: EntityRelation): string {
  const replaced = new Map<string, string>([[plan.timestampColumn, 'TIMESTAMPTZ']]);
  for (const key of plan.keys) replaced.set(key.name, key.type);
  const replace = [...replaced].map(([name, type]) => `${cast(quoteIdent(name), type)} AS ${quoteIdent(name)}`).join(', ');
  const rowNumber = entities.numbered ? '' : `,\n       row_number() OVER () - 1 AS ${quoteIdent(ROW_COLUMN)}`;
  return `${quoteIdent(ENTITY_CTE)} AS (\n  -- ${entities.description}\n` +
    `  SELECT * REPLACE (${replace})${rowNumber}\n  FROM ${entities.relation}\n)`;
}

function viewCte(view: ViewPlan, projectDir: string): string {
  const source = view.source;
  const stringKeys = view.keys.filter((k) => k.type === 'VARCHAR').map((k) => k.name);
  const columns = [
    ...view.keys.map((k) => `${cast(quoteIdent(k.name), k.type)} AS ${quoteIdent(k.name)}`),
    `${cast(quoteIdent(source.timestamp), 'TIMESTAMPTZ')} AS ${quoteIdent(EVENT)}`,
    ...(source.createdTimestamp === undefined ? [] : [
      `${cast(quoteIdent(source.createdTimestamp), 'TIMESTAMPTZ')} AS ${quoteIdent(CREATED)}`,
      `greatest(${cast(quoteIdent(source.timestamp), 'TIMESTAMPTZ')}, ${cast(quoteIdent(source.createdTimestamp), 'TIMESTAMPTZ')}) AS ${quoteIdent(AVAIL)}`,
    ]),
    ...view.features.map((f) => `${cast(quoteIdent(f.name), f.type)} AS ${quoteIdent(f.name)}`),
  ];
  const notNull = [source.timestamp, ...(source.createdTimestamp === undefined ? [] : [source.createdTimestamp])]
    .map((c) => `${quoteIdent(c)} IS NOT NULL`).join(' AND ');
  const select = `SELECT ${columns.join(',\n       ')}\nFROM ${sourceRelation(source, projectDir, source.type === 'file' && source.format === 'csv' ? stringKeys : [])}\nWHERE ${notNull}`;
  const about = `-- ${view.name}: source ${source.name}${view.ttlMs === undefined ? '' : `, ttl ${view.ttlMs} ms`}` +
    `${source.createdTimestamp === undefined ? '' : `, created ${source.createdTimestamp}`}`;
  if (source.createdTimestamp === undefined) return `${quoteIdent(viewCteName(view))} AS (\n  ${about}\n${indent(select)}\n)`;

  const partition = view.keys.map((k) => quoteIdent(k.name)).join(', ');
  const order = [AVAIL, EVENT, CREATED].map(quoteIdent).join(', ');
  return `${quoteIdent(viewCteName(view))} AS (\n  ${about}\n` +
    `  -- keep the rows that beat every row available before them on (event, created): the best row at each availability time\n` +
    `  SELECT * FROM (\n${indent(select, 4)}\n  )\n` +
    `  WINDOW "w" AS (PARTITION BY ${partition} ORDER BY ${order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)\n` +
    `  QUALIFY ${quoteIdent(EVENT)} >= max(${quoteIdent(EVENT)}) OVER "w"\n` +
    `      AND lead(${quoteIdent(AVAIL)}) OVER "w" IS DISTINCT FROM ${quoteIdent(AVAIL)}\n)`;
}

/** A view's feature as seen by entity row `e`: null when the match is older than the ttl. */
function featureExpr(plan: PitPlan, view: ViewPlan, feature: string): string {
  const value = qualified(view.alias, feature);
  if (view.aggregations !== undefined) {
    const a = view.aggregations.find((x) => x.feature === feature);
    return a !== undefined && countsEmptyAsZero(a.fn) ? `coalesce(${value}, ${cast('0', a.type)})` : value;
  }
  if (view.ttlMs === undefined) return value;
  const t = qualified('e', plan.timestampColumn);
  return `CASE WHEN ${qualified(view.alias, EVENT)} >= ${t} - to_milliseconds(${sqlLiteral(view.ttlMs)}) THEN ${value} END`;
}

function aggregationCtes(plan: PitPlan, view: ViewPlan, index: number, projectDir: string): string[] {
  const source = view.source;
  const stringKeys = view.keys.filter((k) => k.type === 'VARCHAR').map((k) => k.name);
  const { ctes } = aggregationSql({
    tag: String(index), keys: view.keys, entities: quoteIdent(ENTITY_CTE), timestampColumn: plan.timestampColumn,
    source: sourceRelation(source, projectDir, source.type === 'file' && source.format === 'csv' ? stringKeys : []),
    sourceTimestamp: source.timestamp, aggregations: view.aggregations ?? [],
  });
  return [`-- ${view.name}: windowed aggregations of source ${source.name}\n${ctes[0] as string}`, ...ctes.slice(1)];
}

function aggregationJoin(plan: PitPlan, view: ViewPlan, index: number): string {
  const on = view.keys.map((k) => `${qualified('e', k.name)} = ${qualified(view.alias, k.name)}`);
  on.push(`${qualified('e', plan.timestampColumn)} = ${qualified(view.alias, AGG_TIME)}`);
  return `LEFT JOIN ${aggregationResultName(String(index))} AS ${quoteIdent(view.alias)}\n  ON ${on.join(' AND ')}`;
}

function asofJoin(plan: PitPlan, view: ViewPlan): string {
  const on = view.keys.map((k) => `${qualified('e', k.name)} = ${qualified(view.alias, k.name)}`);
  const time = view.source.createdTimestamp === undefined ? EVENT : AVAIL;
  on.push(`${qualified('e', plan.timestampColumn)} >= ${qualified(view.alias, time)}`);
  return `ASOF LEFT JOIN ${quoteIdent(viewCteName(view))} AS ${quoteIdent(view.alias)}\n  ON ${on.join(' AND ')}`;
}

/** The point-in-time query for `plan` over `entities`. */
export function pointInTimeSql(plan: PitPlan, entities: EntityRelation, projectDir: string, mode: PitMode = 'final'): string {
  const select: string[] = [mode === 'base' ? `"e".*` : `"e".* EXCLUDE (${quoteIdent(ROW_COLUMN)})`];
  for (const out of plan.outputs) {
    if (out.kind !== 'batch') continue;
    const view = plan.views[out.view] as ViewPlan;
    select.push(`${featureExpr(plan, view, out.feature)} AS ${quoteIdent(out.column)}`);
  }
  if (mode === 'base') {
    for (const { inputs } of plan.onDemand) {
      for (const input of inputs) {
        select.push(input.kind === 'request'
          ? `${cast(qualified('e', input.field), input.type)} AS ${quoteIdent(input.hidden)}`
          : `${featureExpr(plan, plan.views[input.view] as ViewPlan, input.feature)} AS ${quoteIdent(input.hidden)}`);
      }
    }
  }
  const header = [
    `-- Larder point-in-time join (DESIGN §4): ${plan.views.length} feature view(s) onto the entity rows.`,
    `-- Per view: the source row with the same keys and the greatest event time <= the row's ${plan.timestampColumn}`,
    `-- (ASOF JOIN); a ttl nulls matches older than T - ttl; createdTimestamp hides rows not yet created at T.`,
    ...(plan.views.some((v) => v.aggregations !== undefined)
      ? [`-- Aggregation views: prefix sums + ASOF at each window edge, RANGE frames for min/max/countDistinct (aggregate-sql.ts).`] : []),
    ...(plan.onDemand.length === 0 ? [] :
      [`-- On-demand views ${plan.onDemand.map((o) => o.odfv.name).join(', ')} are then computed in JS on every row.`]),
  ];
  const ctes = [entityCte(plan, entities), ...plan.views.flatMap((v, i) => (v.aggregations === undefined ? [viewCte(v, projectDir)] : aggregationCtes(plan, v, i, projectDir)))];
  return `${header.join('\n')}\nWITH\n${ctes.join(',\n')}\nSELECT\n  ${select.join(',\n  ')}\n` +
    `FROM ${quoteIdent(ENTITY_CTE)} AS "e"\n${plan.views.map((v, i) => (v.aggregations === undefined ? asofJoin(plan, v) : aggregationJoin(plan, v, i))).join('\n')}\n` +
    `ORDER BY ${qualified('e', ROW_COLUMN)}`;
}
