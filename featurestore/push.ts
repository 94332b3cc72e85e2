/**
 * @module push
 * `store.push(source, rows, { to })`: rows the application pushes for real-time features. Every
 * row is checked against the push source's schema first — all problems in one error, nothing
 * written on a bad batch. Online, each row is written to every feature view on that source
 * (last-write-wins by event time, then created time); offline, the batch becomes one new Parquet
 * file under `.larder/push/<source>/` that later datasets read point-in-time correctly.
 *
 * Aggregation views on the source are not written by a push: a pushed event changes windows,
 * not one value, so their online values come from materialization (push `to: 'both'`, then
 * `materializeIncremental` recomputes the entities the new events touch).
 */
import { larderError } from '../errors.ts';
import type { FeatureViewDef, PushSourceDef } from './define/definitions.ts';
import { dtypeName, type DType } from './define/dtypes.ts';
import { viewEntities, type ProjectDefinitions } from './define/project.ts';
import { coerceToDType } from './on-demand-row.ts';
import type { OfflineStore } from './offline/store.ts';
import type { OnlineRow, OnlineStore, WriteResult } from './online/store.ts';
import { entityKeyOf, onlineLayout } from './online-layout.ts';

export type PushTarget = 'online' | 'offline' | 'both';

export interface PushOptions {
  /** Where rows go (default `online`). */
  readonly to?: PushTarget;
  readonly signal?: AbortSignal;
}

export interface PushResult {
  readonly source: string;
  readonly rows: number;
  /** Per view on the source: rows written, and rows older than what was stored (unchanged). */
  readonly online?: readonly ({ readonly view: string } & WriteResult)[];
  /** The Parquet file the rows were appended as. */
  readonly offline?: { readonly path: string };
}

export interface PushContext {
  readonly projectName: string;
  readonly project: ProjectDefinitions;
  readonly online: () => Promise<OnlineStore>;
  readonly offline: OfflineStore;
}

interface Problem { readonly path: string; readonly message: string }

function checkValue(value: unknown, dtype: DType): unknown {
  const coerced = coerceToDType(value, dtype);
  // coerceToDType rounds (for compute results); a pushed 4.5 for an int64 column is a mistake.
  if ((dtype.kind === 'int64' || dtype.kind === 'int32') && (typeof value === 'number' || typeof value === 'string') && Number(value) !== coerced) {
    throw new Error(`${String(value)} is not a ${dtypeName(dtype)}`);
  }
  return coerced;
}

/** The views that read `source`, by name (a rebuilt project may hold other objects). */
export function viewsOnSource(project: ProjectDefinitions, source: string): FeatureViewDef[] {
  return [...project.views.values()].filter((v) => v.source.name === source);
}

/**
 * Every row checked and coerced to the schema: unknown columns, ill-typed values, missing
 * timestamps and join keys (of the views on the source) are all reported at once.
 * A missing createdTimestamp is filled with `now`: the row became known when it was pushed.
 */
export function validatePushRows(project: ProjectDefinitions, source: PushSourceDef, rows: unknown, now: Date): Record<string, unknown>[] {
  if (!Array.isArray(rows)) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `push to ${source.name}: rows must be an array of objects` });
  const required = new Set([source.timestamp]);
  for (const view of viewsOnSource(project, source.name)) {
    for (const entity of viewEntities(view, project.entities)) for (const key of Object.keys(entity.joinKeys)) required.add(key);
  }
  const problems: Problem[] = [];
  const out = rows.map((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push({ path: `rows[${i}]`, message: 'is not an object' });
      return {};
    }
    const input = raw as Record<string, unknown>;
    for (const column of Object.keys(input)) {
      if (!Object.hasOwn(source.schema, column)) problems.push({ path: `rows[${i}].${column}`, message: `column ${column} is not in the schema of ${source.name}` });
    }
    const row: Record<string, unknown> = {};
    for (const [column, dtype] of Object.entries(source.schema)) {
      let value = input[column];
      if ((value === undefined || value === null) && column === source.createdTimestamp) value = now;
      if (value === undefined || value === null) {
        if (required.has(column)) problems.push({ path: `rows[${i}].${column}`, message: `${column} is missing` });
        row[column] = null;
        continue;
      }
      try {
        row[column] = checkValue(value, dtype);
      } catch (error) {
        problems.push({ path: `rows[${i}].${column}`, message: (error as Error).message });
      }
    }
    return row;
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).map((p) => `${p.path}: ${p.message}`);
    const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
    throw larderError('LARDER_E_INVALID_REQUEST', {
      reason: `${problems.length} problem(s) in rows pushed to ${source.name}, nothing written: ${shown.join('; ')}${more}`,
    }, { details: problems });
  }
  return out;
}

/**
 * Pushes rows to a push source.
 * @throws LARDER_E_UNKNOWN_SOURCE, LARDER_E_INVALID_REQUEST (every bad row; nothing written),
 *   LARDER_E_ONLINE_UNAVAILABLE, LARDER_E_IO
 * @example await push(ctx, 'trip_events', [{ driver_id: 1, speed: 42.5, ts: new Date() }], { to: 'both' });
 */
export async function push(ctx: PushContext, sourceName: string, rows: readonly Record<string, unknown>[], options: PushOptions = {}): Promise<PushResult> {
  const source = ctx.project.sources.get(sourceName);
  if (!source || source.type !== 'push') throw larderError('LARDER_E_UNKNOWN_SOURCE', { name: sourceName });
  const to = options.to ?? 'online';
  if (to !== 'online' && to !== 'offline' && to !== 'both') {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `push to must be online, offline or both, not ${String(to)}` });
  }
  const checked = validatePushRows(ctx.project, source, rows, new Date());
  if (options.signal?.aborted) throw larderError('LARDER_E_ABORTED', { what: `push to ${sourceName}` }, { cause: options.signal.reason });
  if (checked.length === 0) return { source: sourceName, rows: 0 };

  let offline: PushResult['offline'];
  if (to !== 'online') offline = { path: await ctx.offline.appendPushed(source, checked, options.signal) };
  let online: ({ view: string } & WriteResult)[] | undefined;
  if (to !== 'offline') {
    const store = await ctx.online();
    online = [];
    for (const view of viewsOnSource(ctx.project, sourceName)) {
      if (view.aggregations !== undefined) continue;
      const layout = onlineLayout(ctx.projectName, view);
      const onlineRows: OnlineRow[] = checked.map((row) => ({
        entityKey: entityKeyOf(view, ctx.project.entities, row) as string,
        values: layout.features.map((f) => row[f.name] ?? null),
        eventTs: (row[source.timestamp] as Date).getTime(),
        createdTs: source.createdTimestamp === undefined ? null : (row[source.createdTimestamp] as Date).getTime(),
      }));
      const result = await store.write(layout, onlineRows, options.signal === undefined ? {} : { signal: options.signal });
      online.push({ view: view.name, ...result });
    }
  }
  return { source: sourceName, rows: checked.length, ...(online === undefined ? {} : { online }), ...(offline === undefined ? {} : { offline }) };
}
