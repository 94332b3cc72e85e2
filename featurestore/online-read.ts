/**
 * @module online-read
 * `getOnlineFeatures`: the latest feature values of some entities, for serving. Resolves the
 * request like a dataset (`selectFeatures`), checks every entity row first (join keys, request
 * fields; all problems in one error), reads every view for every row in one online round trip,
 * decides each value's status at read time (ttl, defaults) and runs on-demand views with the
 * same per-row compute as offline. The response is the `/v1/features` shape (DESIGN §3.5).
 */
import { larderError } from '../errors.ts';
import type { EntityDef, FeatureViewDef, OnDemandViewDef, ServiceItem } from './define/definitions.ts';
import { dtypeName, type DType } from './define/dtypes.ts';
import type { ProjectDefinitions } from './define/project.ts';
import { selectFeatures, type FeatureSelection } from './define/selection.ts';
import { computeOnDemandRow, coerceToDType } from './on-demand-row.ts';
import { encodeEntityKey } from './online/entity-key.ts';
import type { OnlineStore, ReadRequest, StoredRow } from './online/store.ts';
import { onlineLayout, viewJoinKeys } from './online-layout.ts';

export interface OnlineFeaturesRequest {
  /** `'view:feature'` refs, whole views or projections; or name a `service`. */
  readonly features?: readonly (ServiceItem | string)[];
  readonly service?: string;
  /** One object per row: the join keys of every view read, plus request fields for on-demand views. */
  readonly entities: readonly Record<string, unknown>[];
  /** Name output columns `view__feature` instead of `feature`. */
  readonly fullFeatureNames?: boolean;
  readonly signal?: AbortSignal;
  /** The read time that ttls are measured from (default: now). For tests and replays. */
  readonly now?: Date | number;
  /** Bound of the online read in ms (default: the store's, 50 ms for Redis). */
  readonly timeoutMs?: number;
}

/** How a served value came to be (DESIGN §3.5). */
export type FeatureStatus = 'PRESENT' | 'NULL_VALUE' | 'NOT_FOUND' | 'OUTSIDE_MAX_AGE' | 'DEFAULTED';

/** Every status, in a fixed order (the index of a status in per-feature count arrays). */
export const FEATURE_STATUSES: readonly FeatureStatus[] = ['PRESENT', 'NULL_VALUE', 'NOT_FOUND', 'OUTSIDE_MAX_AGE', 'DEFAULTED'];

export interface OnlineFeatureRow {
  /** By output column. Timestamps are Dates, integers numbers. */
  readonly values: Record<string, unknown>;
  readonly statuses: Record<string, FeatureStatus>;
  /** The stored row's event time; null when nothing was stored and for on-demand features. */
  readonly eventTimestamps: Record<string, Date | null>;
}

/** The `/v1/features` response: output column names, and one row per entity row, in order. */
export interface OnlineFeaturesResponse {
  readonly features: string[];
  readonly rows: OnlineFeatureRow[];
}

export interface OnlineReadContext {
  readonly projectName: string;
  readonly project: ProjectDefinitions;
  readonly online: OnlineStore;
  readonly timeoutMs?: number;
}

interface Problem { readonly path: string; readonly message: string }

/** A join key or request field value as its dtype holds it; throws an Error saying why not. */
function coerceInput(value: unknown, dtype: DType): unknown {
  const coerced = coerceToDType(value, dtype);
  // coerceToDType rounds what compute returns; an input key of 4.5 for an int64 is a mistake.
  if ((dtype.kind === 'int64' || dtype.kind === 'int32') && (typeof value === 'number' || typeof value === 'string') && Number(value) !== coerced) {
    throw new Error(`${String(value)} is not a ${dtypeName(dtype)}`);
  }
  return coerced;
}

function joinKeyDTypes(views: FeatureSelection['views'], entities: ReadonlyMap<string, EntityDef>): Map<string, DType> {
  const out = new Map<string, DType>();
  for (const { view } of views) {
    for (const e of view.entities) {
      const def = typeof e === 'string' ? entities.get(e) : e;
      for (const [key, dtype] of Object.entries(def?.joinKeys ?? {})) if (!out.has(key)) out.set(key, dtype);
    }
  }
  return out;
}

function requestFieldDTypes(onDemand: readonly OnDemandViewDef[]): Map<string, DType> {
  const out = new Map<string, DType>();
  for (const odfv of onDemand) {
    for (const input of odfv.inputs) {
      if (input.kind === 'source') for (const [field, dtype] of Object.entries(input.schema)) if (!out.has(field)) out.set(field, dtype);
    }
  }
  return out;
}

/** Every entity row with its join keys and request fields coerced; all problems at once. */
function checkEntities(entities: unknown, keys: ReadonlyMap<string, DType>, fields: ReadonlyMap<string, DType>): Record<string, unknown>[] {
  if (!Array.isArray(entities)) throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'entities must be an array of objects' });
  const problems: Problem[] = [];
  const rows = entities.map((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push({ path: `entities[${i}]`, message: 'is not an object' });
      return {};
    }
    const row: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
    const check = (name: string, dtype: DType, kind: string, nullable: boolean): void => {
      const value = row[name];
      if (value === undefined || (value === null && !nullable)) {
        problems.push({ path: `entities[${i}].${name}`, message: `${kind} ${name} is missing` });
        return;
      }
      try {
        row[name] = coerceInput(value, dtype);
      } catch (error) {
        problems.push({ path: `entities[${i}].${name}`, message: `${kind} ${name}: ${(error as Error).message}` });
      }
    };
    for (const [name, dtype] of keys) check(name, dtype, 'join key', false);
    for (const [name, dtype] of fields) if (!keys.has(name)) check(name, dtype, 'request field', true);
    return row;
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).map((p) => p.message.includes(p.path) ? p.message : `${p.path}: ${p.message}`);
    const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `${problems.length} problem(s) in entities: ${shown.join('; ')}${more}` }, { details: problems });
  }
  return rows;
}

/** A stored feature as on-demand views see it: as offline would give it (no default; null when missing or stale). */
function freshValue(stored: StoredRow | null, index: number, ttlMs: number | null, now: number): unknown {
  if (stored === null || (ttlMs !== null && now - stored.eventTs > ttlMs)) return null;
  return stored.values[index] ?? null;
}

/** Everything about a read that depends only on what is asked for, not on the rows. */
interface ReadPlan {
  readonly selection: FeatureSelection;
  readonly keyTypes: ReadonlyMap<string, DType>;
  readonly fieldTypes: ReadonlyMap<string, DType>;
  readonly views: readonly FeatureViewDef[];
  readonly layouts: readonly ReturnType<typeof onlineLayout>[];
  readonly joinKeys: readonly (readonly string[])[];
  readonly outputsByView: ReadonlyMap<string, readonly FeatureSelection['columns'][number][]>;
  /** Every stored feature asked for: which view (index) and which value of its stored row. */
  readonly slots: readonly BatchSlot[];
  /**
   * Every output column, in request order, set to null: a response row's three objects start as
   * copies of it. A copy keeps the template's hidden class, so filling it is a store to an
   * existing property; adding 20 properties one by one to `{}` cost 4× more per row.
   */
  readonly template: Readonly<Record<string, null>>;
}

interface BatchSlot {
  readonly view: number;
  readonly index: number;
  readonly column: string;
  readonly defaultValue: unknown;
  readonly ttlMs: number | null;
}

/** Plans by project (definitions are frozen once loaded), then by what was asked for. */
const plans = new WeakMap<ProjectDefinitions, Map<string, ReadPlan>>();

function buildPlan(ctx: OnlineReadContext, request: OnlineFeaturesRequest): ReadPlan {
  const selection = selectFeatures(ctx.project, {
    ...(request.features === undefined ? {} : { features: request.features }),
    ...(request.service === undefined ? {} : { service: request.service }),
    fullFeatureNames: request.fullFeatureNames ?? false,
  });
  const views = selection.views.map(({ view }) => view);
  const layouts = views.map((view) => onlineLayout(ctx.projectName, view));
  const outputsByView = new Map<string, FeatureSelection['columns'][number][]>();
  for (const col of selection.columns) outputsByView.set(col.view, [...(outputsByView.get(col.view) ?? []), col]);
  const featureIndex = layouts.map((layout) => new Map(layout.features.map((f, i) => [f.name, i])));
  const slots = views.flatMap((view, v) => (outputsByView.get(view.name) ?? []).map((col): BatchSlot => ({
    view: v, index: featureIndex[v]!.get(col.feature) as number, column: col.column,
    defaultValue: col.dtype.defaultValue, ttlMs: layouts[v]!.ttlMs,
  })));
  return {
    selection, views, layouts, outputsByView, slots,
    template: Object.fromEntries(selection.columns.map((col) => [col.column, null])),
    keyTypes: joinKeyDTypes(selection.views, ctx.project.entities),
    fieldTypes: requestFieldDTypes(selection.onDemand),
    joinKeys: views.map((view) => viewJoinKeys(view, ctx.project.entities)),
  };
}

/**
 * The read plan, cached when the request names a service or string refs (a serving process asks
 * the same few questions again and again); requests with definition objects are planned afresh.
 */
function readPlan(ctx: OnlineReadContext, request: OnlineFeaturesRequest): ReadPlan {
  const refs = request.features;
  if (refs !== undefined && !refs.every((f) => typeof f === 'string')) return buildPlan(ctx, request);
  const key = `${ctx.projectName}\u0000${request.service ?? ''}\u0000${(refs as readonly string[] | undefined)?.join('\u0001') ?? ''}\u0000${request.fullFeatureNames === true}`;
  let byKey = plans.get(ctx.project);
  if (byKey === undefined) { byKey = new Map(); plans.set(ctx.project, byKey); }
  let plan = byKey.get(key);
  if (plan === undefined) {
    plan = buildPlan(ctx, request);
    if (byKey.size < 1000) byKey.set(key, plan);
  }
  return plan;
}

/**
 * Reads the latest feature values of each entity row, in one online round trip.
 * @throws LARDER_E_UNKNOWN_FEATURE / _VIEW / _SERVICE, LARDER_E_FEATURE_NAME_CLASH, LARDER_E_INVALID_REQUEST
 *   (every bad entity row listed), LARDER_E_ONLINE_UNAVAILABLE, LARDER_E_ON_DEMAND_FAILED
 * @example await getOnlineFeatures(ctx, { service: 'delay_model', entities: [{ origin: 'SFO' }] });
 */
export async function getOnlineFeatures(ctx: OnlineReadContext, request: OnlineFeaturesRequest): Promise<OnlineFeaturesResponse> {
  const { selection, keyTypes, fieldTypes, views, layouts, joinKeys, outputsByView, slots, template } = readPlan(ctx, request);
  const rows = checkEntities(request.entities, keyTypes, fieldTypes);
  const now = request.now === undefined ? Date.now() : typeof request.now === 'number' ? request.now : request.now.getTime();
  if (request.signal?.aborted) throw larderError('LARDER_E_ABORTED', { what: 'online read' }, { cause: request.signal.reason });

  const requests: ReadRequest[] = views.map((_view, v) => {
    const keys = joinKeys[v] as readonly string[];
    return { layout: layouts[v] as ReadRequest['layout'], entityKeys: rows.map((row) => encodeEntityKey(keys, row)) };
  });
  const stored = rows.length === 0 ? views.map(() => []) : await ctx.online.read(requests, {
    ...(request.signal === undefined ? {} : { signal: request.signal }),
    ...((request.timeoutMs ?? ctx.timeoutMs) === undefined ? {} : { timeoutMs: request.timeoutMs ?? ctx.timeoutMs }),
  });

  return {
    features: selection.columns.map((c) => c.column),
    rows: rows.map((row, r) => {
      const values: Record<string, unknown> = { ...template };
      const statuses: Record<string, unknown> = { ...template };
      const eventTimestamps: Record<string, Date | null> = { ...template };
      const storedRows = stored.map((ofView) => ofView[r] ?? null);
      const times = storedRows.map((row0) => (row0 === null ? null : new Date(row0.eventTs)));
      for (const slot of slots) {
        const row0 = storedRows[slot.view] ?? null;
        let value: unknown;
        let status: FeatureStatus;
        if (row0 === null) {
          value = slot.defaultValue ?? null;
          status = slot.defaultValue === undefined ? 'NOT_FOUND' : 'DEFAULTED';
        } else if (slot.ttlMs !== null && now - row0.eventTs > slot.ttlMs) {
          // Exactly at the ttl is still valid, as offline (`event_ts >= T - ttl`).
          value = slot.defaultValue ?? null;
          status = 'OUTSIDE_MAX_AGE';
        } else {
          value = row0.values[slot.index] ?? null;
          status = value === null ? 'NULL_VALUE' : 'PRESENT';
        }
        values[slot.column] = value;
        statuses[slot.column] = status;
        eventTimestamps[slot.column] = times[slot.view] ?? null;
      }
      /** What on-demand views see of each batch view: values as offline would give them (no defaults). */
      const fresh = new Map<string, Record<string, unknown>>();
      if (selection.onDemand.length > 0) {
        views.forEach((view: FeatureViewDef, v) => {
          const layout = layouts[v] as ReturnType<typeof onlineLayout>;
          const seen: Record<string, unknown> = {};
          layout.features.forEach((f, i) => { seen[f.name] = freshValue(storedRows[v] ?? null, i, layout.ttlMs, now); });
          fresh.set(view.name, seen);
        });
      }
      for (const odfv of selection.onDemand) {
        const input: Record<string, unknown> = {};
        for (const source of odfv.inputs) {
          if (source.kind === 'source') for (const field of Object.keys(source.schema)) input[field] = row[field] ?? null;
          else Object.assign(input, fresh.get(source.name));
        }
        const cols = outputsByView.get(odfv.name) ?? [];
        const computed = computeOnDemandRow(odfv, input, cols, `entities[${r}]`);
        cols.forEach((col, k) => {
          values[col.column] = computed[k] ?? null;
          statuses[col.column] = computed[k] === null || computed[k] === undefined ? 'NULL_VALUE' : 'PRESENT';
          eventTimestamps[col.column] = null;
        });
      }
      // Every column of the template was filled: by a batch slot or by its on-demand view.
      return { values, statuses: statuses as Record<string, FeatureStatus>, eventTimestamps };
    }),
  };
}
