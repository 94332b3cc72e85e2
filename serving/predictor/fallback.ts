/**
 * @module serving/predictor/fallback
 * What a prediction is fed when the online store cannot be read: exactly what a read finds for
 * entities that were never materialized — every stored feature at its declared `.default()`
 * (status `DEFAULTED`) or null (`NOT_FOUND`), with on-demand views still computed from the
 * request fields. It runs the real read (`getOnlineFeatures`) against a store that holds
 * nothing, so the two can never disagree.
 */
import { larderError } from '../../errors.ts';
import type { ProjectDefinitions } from '../../featurestore/define/project.ts';
import { selectFeatures } from '../../featurestore/define/selection.ts';
import { getOnlineFeatures, type FeatureStatus, type OnlineFeaturesResponse } from '../../featurestore/online-read.ts';
import type { OnlineStore } from '../../featurestore/online/store.ts';

/** An online store with nothing in it, that refuses writes. */
const NOTHING_STORED: OnlineStore = {
  read: async (requests) => requests.map((r) => r.entityKeys.map(() => null)),
  write: () => Promise.reject(larderError('LARDER_E_ONLINE_UNAVAILABLE', { store: 'fallback', reason: 'it holds nothing and takes no writes' })),
  clearProject: async () => undefined,
  close: async () => undefined,
};

/** Defaults or nulls for every column, without reading anything (when even the fallback read fails). */
function defaultsOnly(project: ProjectDefinitions, service: string, n: number): OnlineFeaturesResponse {
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

/**
 * The `/v1/features` response for `entities` with nothing read: defaults or nulls, on-demand
 * views computed from the request fields (or, if one of them fails on the missing inputs, its
 * columns defaulted too).
 */
export async function defaultedFeatures(
  projectName: string, project: ProjectDefinitions, service: string, entities: readonly Record<string, unknown>[], now?: number,
): Promise<OnlineFeaturesResponse> {
  try {
    return await getOnlineFeatures({ projectName, project, online: NOTHING_STORED }, { service, entities, ...(now === undefined ? {} : { now }) });
  } catch {
    return defaultsOnly(project, service, entities.length);
  }
}
