/**
 * @module serving/predictor/requests
 * The caller-facing checks of the predict path (shape of the request, row limits) and the
 * assembly of predictions from online rows and model outputs. Pure: no store, no session.
 */
import { larderError } from '../../errors.ts';
import { FEATURE_STATUSES, type FeatureStatus, type OnlineFeatureRow } from '../../featurestore/online-read.ts';
import type { Prediction } from '../types.ts';

/** A status's index in FEATURE_STATUSES (the layout of per-feature counts). */
const STATUS_INDEX = Object.fromEntries(FEATURE_STATUSES.map((status, i) => [status, i])) as Readonly<Record<FeatureStatus, number>>;
/** Statuses that leave a prediction not degraded: a stored value, or a stored null. */
const NOT_DEGRADED = new Uint8Array(FEATURE_STATUSES.map((status) => (status === 'PRESENT' || status === 'NULL_VALUE' ? 1 : 0)));

/** Throws a 400 `LARDER_E_INVALID_REQUEST`. */
export function invalid(reason: string): never {
  throw larderError('LARDER_E_INVALID_REQUEST', { reason });
}

/**
 * Checks a `model` and optional `version` given by a caller; `model` may also be `name@version`
 * or `name@alias` (as in `/v1/predict/churn@challenger`).
 * @example checkModelRef('churn@1.2.0', undefined) // { model: 'churn', version: '1.2.0' }
 */
export function checkModelRef(model: unknown, version: unknown): { model: string; version: string | undefined } {
  if (typeof model !== 'string' || model === '') invalid('model must be a non-empty string');
  if (version !== undefined && (typeof version !== 'string' || version === '')) invalid('version must be a non-empty string');
  const at = model.indexOf('@');
  if (at < 0) return { model, version };
  if (version !== undefined) invalid(`give the version either in the model (${model}) or as version (${version}), not both`);
  const name = model.slice(0, at);
  const ref = model.slice(at + 1);
  if (name === '' || ref === '') invalid(`model ${model} is not name@version or name@alias`);
  return { model: name, version: ref };
}

/**
 * The entity rows of a request: an array of 1..`max` objects.
 * @throws LARDER_E_INVALID_REQUEST, LARDER_E_PAYLOAD_TOO_LARGE (413) above `max`
 */
export function checkEntities(entities: unknown, max: number): Record<string, unknown>[] {
  if (!Array.isArray(entities)) invalid('entities must be an array of objects');
  if (entities.length === 0) invalid('entities must hold at least one row');
  if (entities.length > max) throw larderError('LARDER_E_PAYLOAD_TOO_LARGE', { reason: `${entities.length} entity rows; at most ${max} per request` });
  const bad = entities.findIndex((row) => typeof row !== 'object' || row === null || Array.isArray(row));
  if (bad >= 0) invalid(`entities[${bad}] is not an object`);
  return entities as Record<string, unknown>[];
}

/** Feature columns in the model's order, from online rows. */
export function featureColumns(rows: readonly OnlineFeatureRow[], names: readonly string[]): Record<string, unknown[]> {
  const columns: Record<string, unknown[]> = {};
  for (const name of names) {
    const column = new Array<unknown>(rows.length);
    for (let i = 0; i < rows.length; i++) column[i] = rows[i]!.values[name] ?? null;
    columns[name] = column;
  }
  return columns;
}

/** The predictions of one request, with what the observer is told about them. */
export interface AssembledPredictions {
  readonly predictions: Prediction[];
  /**
   * How many rows had each status, per feature: `counts[f * 5 + s]` for feature `names[f]` and
   * status `FEATURE_STATUSES[s]`.
   */
  readonly counts: Uint32Array;
  readonly degradedRows: number;
}

/**
 * One prediction per row: id `<requestId>-<i>`, the output (NaN → null), the values fed and
 * their statuses; degraded when a status is other than PRESENT/NULL_VALUE or the store was down.
 */
export function assemblePredictions(
  requestId: string, rows: readonly OnlineFeatureRow[], names: readonly string[], outputs: Float64Array, storeDown: boolean,
): AssembledPredictions {
  const width = FEATURE_STATUSES.length;
  const counts = new Uint32Array(names.length * width);
  let degradedRows = 0;
  // The online rows usually hold exactly the model's features in its order (the model was
  // trained on the service): their objects are then the prediction's own, not copied.
  const first = rows[0];
  const shared = first !== undefined && sameKeys(Object.keys(first.values), names) && sameKeys(Object.keys(first.statuses), names);
  const predictions = rows.map((row, i): Prediction => {
    const own = shared && (i === 0 || (sameKeys(Object.keys(row.values), names) && sameKeys(Object.keys(row.statuses), names)));
    const features: Record<string, unknown> = own ? row.values : {};
    const statuses: Record<string, FeatureStatus> = own ? row.statuses : {};
    let degraded = storeDown;
    for (let f = 0; f < names.length; f++) {
      const name = names[f]!;
      const status = row.statuses[name] ?? 'NOT_FOUND';
      if (!own) {
        features[name] = row.values[name] ?? null;
        statuses[name] = status;
      }
      const s = STATUS_INDEX[status];
      if (NOT_DEGRADED[s] === 0) degraded = true;
      counts[f * width + s]!++;
    }
    if (degraded) degradedRows++;
    const output = outputs[i]!;
    return { id: `${requestId}-${i}`, output: Number.isNaN(output) ? null : output, features, statuses, degraded };
  });
  return { predictions, counts, degradedRows };
}

function sameKeys(keys: readonly string[], names: readonly string[]): boolean {
  if (keys.length !== names.length) return false;
  for (let i = 0; i < keys.length; i++) if (keys[i] !== names[i]) return false;
  return true;
}
