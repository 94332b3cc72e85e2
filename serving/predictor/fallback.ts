/**
 * @module serving/predictor/fallback
 * What a prediction is fed when the online store cannot be read: every feature of the service
 * at its declared `.default()` (status `DEFAULTED`) or null (`NOT_FOUND`), the same values a
 * read finds for an entity that was never materialized.
 */
import type { ProjectDefinitions } from '../../featurestore/define/project.ts';
import { selectFeatures } from '../../featurestore/define/selection.ts';
import type { FeatureStatus, OnlineFeaturesResponse } from '../../featurestore/online-read.ts';

/** The `/v1/features` shape for `n` rows with nothing read: defaults or nulls. */
export function defaultedFeatures(project: ProjectDefinitions, service: string, n: number): OnlineFeaturesResponse {
  const { columns } = selectFeatures(project, { service });
  const values: Record<string, unknown> = {};
  const statuses: Record<string, FeatureStatus> = {};
  for (const col of columns) {
    const fallback = col.dtype.defaultValue;
    values[col.column] = fallback ?? null;
    statuses[col.column] = fallback === undefined ? 'NOT_FOUND' : 'DEFAULTED';
  }
  const eventTimestamps = Object.fromEntries(columns.map((c) => [c.column, null]));
  return {
    features: columns.map((c) => c.column),
    rows: Array.from({ length: n }, () => ({ values: { ...values }, statuses: { ...statuses }, eventTimestamps: { ...eventTimestamps } })),
  };
}
