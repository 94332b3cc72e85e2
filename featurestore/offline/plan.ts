/**
 * @module offline/plan
 * Turns a dataset request (project, feature selection, timestamp column) into a plan of the
 * point-in-time join: which sources to read with which key, time and feature columns, which
 * output columns come from which view, and which hidden columns feed on-demand views.
 * Pure data; `pit-sql.ts` writes it as SQL.
 */
import { larderError } from '../../errors.ts';
import type { AggregationDef, AggregationFn } from '../define/aggregations.ts';
import type { BatchSourceDef, OnDemandViewDef } from '../define/definitions.ts';
import { duckdbTypeOf, type DType } from '../define/dtypes.ts';
import { parseDuration } from '../define/duration.ts';
import { viewEntities, type ProjectDefinitions } from '../define/project.ts';
import type { FeatureSelection } from '../define/selection.ts';

/** Column names Larder adds to entity rows and view relations; entity inputs may not use them. */
export const RESERVED_PREFIX = '__larder_';
export const ROW_COLUMN = '__larder_row';

/** `LARDER_E_INVALID_ENTITIES` if any entity column uses the reserved prefix. */
export function refuseReservedColumns(names: readonly string[]): void {
  const reserved = names.filter((n) => n.startsWith(RESERVED_PREFIX));
  if (reserved.length > 0) {
    throw larderError('LARDER_E_INVALID_ENTITIES', { reason: `column name(s) ${reserved.join(', ')} start with ${RESERVED_PREFIX}, which Larder reserves` });
  }
}

export interface KeyColumn {
  readonly name: string;
  /** DuckDB type of the entity's declared key dtype. */
  readonly type: string;
  readonly dtype: DType;
}

/** One requested aggregation of a view, as `plan.ts` resolves it. */
export interface AggregationPlan {
  readonly feature: string;
  readonly fn: AggregationFn;
  /** Column or SQL expression; absent for `count`. */
  readonly expr?: string;
  /** Window length in ms; null for `last` over all history. */
  readonly windowMs: number | null;
  readonly lagMs: number;
  /** DuckDB type of the feature's declared dtype. */
  readonly type: string;
}

export interface ViewPlan {
  readonly name: string;
  /** Table alias in the join: `v0`, `v1`, … */
  readonly alias: string;
  readonly source: BatchSourceDef;
  readonly keys: readonly KeyColumn[];
  readonly ttlMs?: number;
  /** Features read from the source, cast to their declared types. */
  readonly features: readonly { readonly name: string; readonly type: string }[];
  /** Aggregation views: the requested features' aggregations (then `features` are their outputs). */
  readonly aggregations?: readonly AggregationPlan[];
}

export type OutputPlan =
  | { readonly kind: 'batch'; readonly column: string; readonly view: number; readonly feature: string; readonly type: string; readonly dtype: DType }
  | { readonly kind: 'onDemand'; readonly column: string; readonly odfv: OnDemandViewDef; readonly feature: string; readonly type: string; readonly dtype: DType };

/** A hidden column of the base query that an on-demand view reads as `row[field]`. */
export type OnDemandInputPlan =
  | { readonly kind: 'request'; readonly hidden: string; readonly field: string; readonly type: string }
  | { readonly kind: 'feature'; readonly hidden: string; readonly field: string; readonly view: number; readonly feature: string };

export interface PitPlan {
  readonly timestampColumn: string;
  /** Every join key any view needs, with the type entity rows are cast to. */
  readonly keys: readonly KeyColumn[];
  readonly views: readonly ViewPlan[];
  /** Output feature columns in request order. */
  readonly outputs: readonly OutputPlan[];
  readonly onDemand: readonly { readonly odfv: OnDemandViewDef; readonly inputs: readonly OnDemandInputPlan[] }[];
  /** Entity columns on-demand views read (request fields). */
  readonly requestFields: readonly string[];
}

/** Plans the join. Throws `LARDER_E_UNKNOWN_VIEW` / `LARDER_E_INVALID_REQUEST` for selections that do not fit the project. */
export function planPointInTime(project: ProjectDefinitions, selection: FeatureSelection, timestampColumn: string): PitPlan {
  const keys = new Map<string, KeyColumn>();
  const viewIndex = new Map<string, number>();
  const views: ViewPlan[] = selection.views.map(({ view, features }, i) => {
    viewIndex.set(view.name, i);
    const viewKeys: KeyColumn[] = [];
    for (const entity of viewEntities(view, project.entities)) {
      for (const [name, dtype] of Object.entries(entity.joinKeys)) {
        const key = { name, type: duckdbTypeOf(dtype), dtype };
        const seen = keys.get(name);
        if (seen && seen.type !== key.type) {
          throw larderError('LARDER_E_INVALID_REQUEST', { reason: `join key ${name} is ${seen.type} in one entity and ${key.type} in another` });
        }
        keys.set(name, key);
        viewKeys.push(key);
      }
    }
    if (viewKeys.length === 0) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `feature view ${view.name} has no join keys` });
    return {
      name: view.name,
      alias: `v${i}`,
      source: view.source,
      keys: viewKeys,
      ...(view.ttl === undefined ? {} : { ttlMs: parseDuration(view.ttl) }),
      features: features.map((f) => ({ name: f, type: duckdbTypeOf(view.features[f] as DType) })),
      ...(view.aggregations === undefined ? {} : { aggregations: features.map((f) => aggregationPlan(view.name, f, view.aggregations?.[f], view.features[f] as DType)) }),
    };
  });

  const outputs: OutputPlan[] = selection.columns.map((col) => {
    const v = viewIndex.get(col.view);
    if (v !== undefined) return { kind: 'batch', column: col.column, view: v, feature: col.feature, type: duckdbTypeOf(col.dtype), dtype: col.dtype };
    const odfv = selection.onDemand.find((o) => o.name === col.view);
    if (!odfv) throw larderError('LARDER_E_UNKNOWN_VIEW', { name: col.view });
    return { kind: 'onDemand', column: col.column, odfv, feature: col.feature, type: duckdbTypeOf(col.dtype), dtype: col.dtype };
  });

  let hiddenCount = 0;
  const requestFields = new Set<string>();
  const onDemand = selection.onDemand.map((odfv) => {
    const inputs: OnDemandInputPlan[] = [];
    for (const input of odfv.inputs) {
      if (input.kind === 'source') {
        for (const [field, dtype] of Object.entries(input.schema)) {
          requestFields.add(field);
          inputs.push({ kind: 'request', hidden: `${RESERVED_PREFIX}in_${hiddenCount++}`, field, type: duckdbTypeOf(dtype) });
        }
      } else {
        const v = viewIndex.get(input.name);
        if (v === undefined) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `on-demand view ${odfv.name} reads ${input.name}, which the selection does not include` });
        for (const feature of Object.keys(input.features)) {
          inputs.push({ kind: 'feature', hidden: `${RESERVED_PREFIX}in_${hiddenCount++}`, field: feature, view: v, feature });
        }
      }
    }
    return { odfv, inputs };
  });

  return { timestampColumn, keys: [...keys.values()], views, outputs, onDemand, requestFields: [...requestFields] };
}

function aggregationPlan(view: string, feature: string, def: AggregationDef | undefined, dtype: DType): AggregationPlan {
  if (def === undefined) throw larderError('LARDER_E_UNKNOWN_FEATURE', { ref: `${view}:${feature}` });
  return {
    feature,
    fn: def.fn,
    ...(def.expr === undefined ? {} : { expr: def.expr }),
    windowMs: def.window === undefined ? null : parseDuration(def.window),
    lagMs: def.lag === undefined ? 0 : parseDuration(def.lag),
    type: duckdbTypeOf(dtype),
  };
}
