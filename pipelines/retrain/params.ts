/**
 * @module pipelines/retrain/params
 * The parameters of a retraining flow (`dataset → validate → train → evaluate → register`),
 * checked once when the flow is built and again by every stage (a queued job may come from an
 * older client). Plain JSON, so BullMQ can carry them.
 */
import { z } from 'zod';
import { larderError } from '../../errors.ts';

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,99}$/;

export const gateSchema = z.object({
  metric: z.enum(['auc', 'logloss', 'accuracy', 'rmse', 'mae', 'r2']).default('auc'),
  /** How much worse than the champion the candidate may be. */
  maxDrop: z.number().min(0).default(0.005),
}).strict();

export const retrainParamsSchema = z.object({
  /** The project folder (shared by every worker). */
  project: z.string().min(1),
  model: z.string().regex(NAME, 'a letter, then letters, digits, _ or -'),
  service: z.string().min(1),
  label: z.string().min(1),
  trainer: z.enum(['gbdt', 'logreg']).default('gbdt'),
  task: z.enum(['classification', 'regression']).default('classification'),
  /** Entity rows (Parquet/CSV path, relative to the project): the dataset is built from them. */
  entities: z.string().min(1).optional(),
  /** Or a recorded dataset to train on, by manifest id. */
  dataset: z.string().min(1).optional(),
  /** A recorded dataset to evaluate on; otherwise the holdout is cut from the training dataset. */
  holdoutDataset: z.string().min(1).optional(),
  /** Rows at or after this instant are the holdout (default: the latest 20% by event time). */
  holdoutFrom: z.string().datetime({ offset: true }).optional(),
  /** Share of the training rows (the latest by event time) used for early stopping. */
  validFraction: z.number().gt(0).lt(0.5).default(0.1),
  seed: z.number().int().default(7),
  /** Trainer hyperparameters, e.g. `{ rounds: 200, learningRate: 0.1 }`. */
  trainerParams: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
  /** What to validate the training dataset against (a file, source, view, dataset id or `profile:NAME`). */
  reference: z.string().min(1).optional(),
  gate: gateSchema.default({ metric: 'auc', maxDrop: 0.005 }),
  /** A critical model waits for a human `larder models approve` even when it passes the gate. */
  critical: z.boolean().default(false),
  /** Point `champion` at the new version when it is approved automatically. */
  promote: z.boolean().default(false),
  who: z.string().optional(),
}).strict().refine((p) => (p.entities === undefined) !== (p.dataset === undefined), { message: 'give exactly one of entities or dataset' });

export type RetrainParams = z.output<typeof retrainParamsSchema>;
export type RetrainInput = z.input<typeof retrainParamsSchema>;

/** @throws LARDER_E_INVALID_REQUEST listing every problem */
export function parseRetrainParams(value: unknown): RetrainParams {
  const parsed = retrainParamsSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`);
  throw larderError('LARDER_E_INVALID_REQUEST', { reason: `retraining parameters: ${issues.join('; ')}` }, { details: { issues } });
}

/** The stages of a retraining flow, in order. */
export const RETRAIN_STAGES = ['dataset', 'validate', 'train', 'evaluate', 'register'] as const;
