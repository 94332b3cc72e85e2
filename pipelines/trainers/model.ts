/**
 * @module pipelines/trainers/model
 * The surface every trainer returns (`TrainedModel`) and the checks every trainer runs on its
 * input, so a bad frame fails the same way whichever trainer was asked.
 */
import { larderError } from '../../errors.ts';
import type { ModelFeature, ModelServingSpec } from '../../registry/models/serving-spec.ts';
import type { TrainingFrame } from './frame.ts';

/** What a model predicts: the probability of a 0/1 label, or a number. */
export type Task = 'classification' | 'regression';
/** The trainers `trainModel` knows. */
export type TrainerName = 'gbdt' | 'logreg';

/** Loss per round (GBDT) or iteration (logistic regression); logloss or RMSE by task. */
export interface RoundMetrics {
  readonly train: number;
  readonly valid?: number;
}

/** What training did, as plain JSON for the registry. */
export interface TrainingInfo {
  readonly rows: number;
  readonly validRows?: number;
  /** `'logloss'` for classification, `'rmse'` for regression. */
  readonly loss: 'logloss' | 'rmse';
  /** Boosting rounds or optimizer iterations run. */
  readonly rounds: number;
  /** GBDT: the number of trees kept (the best validation round). */
  readonly bestRound?: number;
  readonly stoppedEarly: boolean;
  readonly trainLoss: number;
  readonly validLoss?: number;
}

/** The exported graph and the spec that feeds it. */
export interface OnnxExport {
  readonly bytes: Uint8Array;
  readonly serving: ModelServingSpec;
}

/** A trained model: predicts in TypeScript and exports an ONNX graph that predicts the same. */
export interface TrainedModel {
  readonly trainer: TrainerName;
  readonly task: Task;
  readonly features: readonly ModelFeature[];
  /** The resolved hyperparameters (defaults filled in), plain JSON. */
  readonly params: Readonly<Record<string, number | string | boolean>>;
  readonly info: TrainingInfo;
  /** Probability of the positive class (classification) or the prediction (regression) per row. */
  predict(frame: TrainingFrame): Float64Array;
  toOnnx(): OnnxExport;
}

/** Options every trainer takes; `trainModel` fills them from its own options. */
export interface CommonTrainOptions {
  readonly task: Task;
  readonly valid?: TrainingFrame;
  readonly onProgress?: (round: number, metrics: RoundMetrics) => void;
  readonly signal?: AbortSignal;
}

/** Refuses frames no model can be trained on: empty, featureless, unlabeled, bad labels. */
export function checkTrainingFrame(frame: TrainingFrame, task: Task, role = 'training'): void {
  const fail = (reason: string): never => { throw larderError('LARDER_E_INVALID_REQUEST', { reason: `${role} frame: ${reason}` }); };
  if (frame.n === 0) fail('it has no rows');
  if (frame.features.length === 0) fail('it has no features');
  if (frame.columns.length !== frame.features.length) fail(`${frame.columns.length} columns for ${frame.features.length} features`);
  const names = new Set<string>();
  for (const { name } of frame.features) {
    if (names.has(name)) fail(`feature '${name}' appears twice`);
    // Feature names become graph inputs, which must not collide with the output or internal names.
    if (name === 'probability' || name === 'prediction' || name.startsWith('larder/')) fail(`feature name '${name}' is reserved in exported models; rename the column`);
    names.add(name);
  }
  let positives = 0;
  for (let i = 0; i < frame.n; i++) {
    const y = frame.label[i]!;
    if (!Number.isFinite(y)) fail(`label is missing at row ${i}`);
    if (task === 'classification') {
      if (y !== 0 && y !== 1) fail(`a classification label must be 0/1 or a bool, got ${y} at row ${i}`);
      positives += y;
    }
  }
  if (task === 'classification' && role === 'training' && (positives === 0 || positives === frame.n)) {
    fail(`the label is constant (all ${positives === 0 ? 0 : 1}): there is nothing to learn`);
  }
}

/**
 * The trainer's parameters: `given` over `defaults`. Every unknown name and every non-number
 * value is reported at once (hyperparameters often come from user-written JSON, where a typo
 * such as `max_depth` would otherwise be ignored silently).
 */
export function resolveParams<T extends { readonly [K in keyof T]: number }>(trainer: TrainerName, defaults: T, given: Readonly<Record<string, unknown>> | undefined, ignored: readonly string[] = []): T {
  const issues: string[] = [];
  const out: Record<string, number> = { ...(defaults as Record<keyof T, number>) };
  for (const [key, value] of Object.entries(given ?? {})) {
    if (value === undefined || ignored.includes(key)) continue;
    if (!Object.hasOwn(defaults, key)) issues.push(`unknown parameter '${key}'`);
    else if (typeof value !== 'number' || Number.isNaN(value)) issues.push(`'${key}' must be a number, got ${JSON.stringify(value)}`);
    else out[key] = value;
  }
  if (issues.length > 0) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `${trainer}: ${issues.join('; ')} (parameters: ${Object.keys(defaults).join(', ')})` });
  }
  return out as unknown as T;
}

/** Throws LARDER_E_ABORTED once `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw larderError('LARDER_E_ABORTED', { what }, { cause: signal.reason });
}

/** The logistic function. */
export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Mean logloss (probabilities clipped to [1e-15, 1 − 1e-15]) or RMSE of `scores`. */
export function lossOf(task: Task, label: Float64Array, predictions: Float64Array): number {
  let sum = 0;
  const n = label.length;
  if (task === 'classification') {
    for (let i = 0; i < n; i++) {
      const p = Math.min(Math.max(predictions[i]!, 1e-15), 1 - 1e-15);
      sum -= label[i]! === 1 ? Math.log(p) : Math.log(1 - p);
    }
    return sum / n;
  }
  for (let i = 0; i < n; i++) { const d = predictions[i]! - label[i]!; sum += d * d; }
  return Math.sqrt(sum / n);
}
