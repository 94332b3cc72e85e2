/**
 * @module from-spec
 * Rebuilds batch definitions (entities, file/SQL sources, feature views) from the JSON specs
 * the registry keeps, so a dataset can be rebuilt with the definitions it was made with even
 * after the code moved on. On-demand views cannot be rebuilt from text and are taken from code.
 */
import { larderError } from '../errors.ts';
import {
  entity, featureView, fileSource, pushSource, sqlSource, type BatchSourceDef, type EntityDef, type FeatureViewDef,
} from './define/definitions.ts';
import type { AggregationFn, Aggregations } from './define/aggregations.ts';
import { t, type DType, type DTypeSpec } from './define/dtypes.ts';
import type { DefinitionSpec } from './define/spec.ts';

export function dtypeFromSpec(spec: DTypeSpec): DType {
  let dtype: DType = spec.kind === 'array' ? t.array(dtypeFromSpec(spec.element ?? { kind: 'float32' })) : t[spec.kind]() as DType;
  if (spec.default !== undefined) dtype = dtype.default(spec.kind === 'timestamp' ? new Date(String(spec.default)) : spec.default);
  if (spec.description !== undefined) dtype = dtype.describe(spec.description);
  if (spec.expect !== undefined) dtype = dtype.expect(spec.expect);
  return dtype;
}

/** Fields in their declared order (`order`), which the registry's sorted JSON would lose. */
function dtypes(fields: unknown, order: unknown): Record<string, DType> {
  const specs = fields as Record<string, DTypeSpec>;
  const names = Array.isArray(order) ? (order as string[]) : Object.keys(specs);
  return Object.fromEntries(names.map((k) => [k, dtypeFromSpec(specs[k] as DTypeSpec)]));
}

export function entityFromSpec(spec: DefinitionSpec): EntityDef {
  return entity(spec.name, { joinKeys: dtypes(spec.joinKeys, spec.joinKeyOrder) });
}

export function sourceFromSpec(spec: DefinitionSpec): BatchSourceDef {
  const timed = {
    timestamp: String(spec.timestamp),
    ...(typeof spec.createdTimestamp === 'string' ? { createdTimestamp: spec.createdTimestamp } : {}),
  };
  if (spec.type === 'file') {
    return fileSource(spec.name, { path: String(spec.path), format: spec.format === 'csv' ? 'csv' : 'parquet', ...timed });
  }
  if (spec.type === 'sql') return sqlSource(spec.name, { query: String(spec.query), ...timed });
  if (spec.type === 'push') {
    return pushSource(spec.name, {
      schema: dtypes(spec.schema, spec.schemaOrder), ...timed,
      ...(typeof spec.batchPath === 'string' ? { batchPath: spec.batchPath } : {}),
    });
  }
  throw larderError('LARDER_E_REGISTRY_CORRUPT', { path: `source:${spec.name}`, reason: `source type ${String(spec.type)} has no batch form` });
}

interface AggregationSpec { fn: AggregationFn; expr?: string; window?: string; lag?: string }

export function viewFromSpec(spec: DefinitionSpec, source: BatchSourceDef, entities: readonly EntityDef[]): FeatureViewDef {
  const features = dtypes(spec.features, spec.featureOrder);
  const common = { entities, source, ...(typeof spec.ttl === 'string' ? { ttl: spec.ttl } : {}) };
  if (spec.aggregations === undefined) return featureView(spec.name, { ...common, features });
  const specs = spec.aggregations as Record<string, AggregationSpec>;
  const aggregations: Aggregations = Object.fromEntries(Object.entries(features).map(([name, dtype]) => {
    const a = specs[name];
    if (a === undefined) throw larderError('LARDER_E_REGISTRY_CORRUPT', { path: `featureView:${spec.name}`, reason: `feature ${name} has no aggregation` });
    return [name, Object.freeze({ kind: 'aggregation' as const, fn: a.fn, dtype, ...(a.expr === undefined ? {} : { expr: a.expr }), ...(a.window === undefined ? {} : { window: a.window }), ...(a.lag === undefined ? {} : { lag: a.lag }) })];
  }));
  return featureView(spec.name, { ...common, aggregations });
}
