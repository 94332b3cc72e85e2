/**
 * @module spec
 * Plain-JSON forms of definitions, as the registry stores and hashes them. References to other
 * definitions are by name; an on-demand view's compute function is kept as its source text so
 * that editing it changes the view's hash and version.
 *
 * `canonicalJson` sorts object keys, so where order means something (a view's features are its
 * output columns in that order; an entity's keys are encoded in that order) a spec also lists
 * the names in an array: reordering is then a change, and a spec read back keeps the order.
 */
import type { Aggregations } from './aggregations.ts';
import type { AnyDefinition, ServiceItem } from './definitions.ts';
import { dtypeSpec, type DType, type DTypeSpec } from './dtypes.ts';
import { parseDuration } from './duration.ts';

export type DefinitionSpec = Record<string, unknown> & { kind: string; name: string };

function dtypes(fields: Record<string, DType>): Record<string, DTypeSpec> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, dtypeSpec(v)]));
}

/** An aggregation view's aggregations (their dtypes are the view's features). */
function aggregationSpecs(aggregations: Aggregations): Record<string, Record<string, unknown>> {
  return Object.fromEntries(Object.entries(aggregations).map(([name, a]) => [name, {
    fn: a.fn,
    ...(a.expr === undefined ? {} : { expr: a.expr }),
    ...(a.window === undefined ? {} : { window: a.window, windowMs: parseDuration(a.window) }),
    ...(a.lag === undefined ? {} : { lag: a.lag, lagMs: parseDuration(a.lag) }),
  }]));
}

function itemSpec(item: ServiceItem): string | { view: string; features: string[] } {
  if (typeof item === 'string') return item;
  if (item.kind === 'projection') return { view: item.view.name, features: [...item.features] };
  return item.name;
}

/** The registry's JSON form of a definition. */
export function specOf(def: AnyDefinition): DefinitionSpec {
  const base = { kind: def.kind, name: def.name };
  const describe = 'description' in def && def.description !== undefined ? { description: def.description } : {};
  switch (def.kind) {
    case 'entity':
      return { ...base, joinKeys: dtypes(def.joinKeys), joinKeyOrder: Object.keys(def.joinKeys), ...describe };
    case 'source':
      if (def.type === 'request') return { ...base, type: 'request', schema: dtypes(def.schema), ...describe };
      return {
        ...base, type: def.type,
        ...(def.type === 'file' ? { path: def.path, format: def.format } : def.type === 'sql' ? { query: def.query }
          : { schema: dtypes(def.schema), schemaOrder: Object.keys(def.schema), ...(def.batchPath === undefined ? {} : { batchPath: def.batchPath }) }),
        timestamp: def.timestamp,
        ...(def.createdTimestamp === undefined ? {} : { createdTimestamp: def.createdTimestamp }),
        ...describe,
      };
    case 'featureView':
      return {
        ...base,
        entities: def.entities.map((e) => (typeof e === 'string' ? e : e.name)),
        source: def.source.name,
        ...(def.ttl === undefined ? {} : { ttl: def.ttl, ttlMs: parseDuration(def.ttl) }),
        features: dtypes(def.features),
        featureOrder: Object.keys(def.features),
        ...(def.aggregations === undefined ? {} : { aggregations: aggregationSpecs(def.aggregations) }),
        ...(def.tags === undefined ? {} : { tags: def.tags }),
        ...describe,
      };
    case 'onDemandView':
      return {
        ...base,
        inputs: def.inputs.map((i) => `${i.kind === 'source' ? 'source' : 'featureView'}:${i.name}`),
        features: dtypes(def.features),
        featureOrder: Object.keys(def.features),
        compute: def.compute.toString(),
        ...describe,
      };
    case 'featureService':
      return { ...base, features: def.features.map(itemSpec), ...describe };
  }
}

/** JSON with object keys sorted, so equal specs serialize (and hash) equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}
