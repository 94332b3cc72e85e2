/**
 * @module define
 * The definition DSL: pure data, no I/O. Users import these through the `larder` package.
 */
export { t, dtypeSpec, dtypeName, duckdbTypeOf, isDType } from './dtypes.ts';
export type { DType, DTypeKind, DTypeSpec, Expectations, Infer, InferFields, ScalarKind } from './dtypes.ts';
export { parseDuration, formatDuration } from './duration.ts';
export { isDefinition, BRAND } from './brand.ts';
export { agg, isAggregation, AGGREGATION_FNS } from './aggregations.ts';
export type { AggregationDef, AggregationFn, AggregationOptions, Aggregations } from './aggregations.ts';
export {
  entity, fileSource, sqlSource, pushSource, requestSource, featureView, onDemandView, featureService,
} from './definitions.ts';
export type {
  AnyDefinition, BatchSourceDef, EntityDef, FeatureServiceDef, FeatureViewDef, FeatureViewProjection,
  FileSourceDef, OnDemandInput, OnDemandRow, OnDemandViewDef, PushSourceDef, RequestSourceDef, ServiceItem, SourceDef, SqlSourceDef,
} from './definitions.ts';
export { buildProject, collectDefinitions, viewEntities, NAME_PATTERN } from './project.ts';
export type { DefinitionIssue, ProjectDefinitions, ProjectResult } from './project.ts';
export { selectFeatures } from './selection.ts';
export type { FeatureSelection, OutputColumn, SelectionRequest } from './selection.ts';
export { specOf, canonicalJson } from './spec.ts';
export type { DefinitionSpec } from './spec.ts';
