/**
 * @module pipelines/trainers
 * Model trainers written in TypeScript, deterministic for a seed: L2 logistic regression and
 * histogram-based gradient-boosted trees. Each returns a {@link TrainedModel} that predicts in
 * TypeScript and exports an ONNX graph (with its serving spec) that onnxruntime runs to the same
 * outputs, string encodings included, so serving applies exactly what training learned. The
 * evaluation helpers score a candidate on a holdout and gate it against the champion.
 */
import { larderError } from '../../errors.ts';
import type { TrainingFrame } from './frame.ts';
import { trainGbdt, type GbdtParams } from './gbdt.ts';
import { trainLogreg, type LogregParams } from './logreg.ts';
import type { CommonTrainOptions, Task, TrainedModel, TrainerName } from './model.ts';

export { columnsOf, frameFromArrow, frameFromColumns, splitFrame, takeRows, type FrameColumn, type TrainingFrame } from './frame.ts';
export {
  compareWithChampion, evaluateBinary, evaluateRegression, gateCandidate, rocAuc,
  type BinaryMetrics, type CalibrationBin, type GateMetric, type GateResult, type GateRule, type RegressionMetrics,
} from './evaluate.ts';
export { GBDT_DEFAULTS, type GbdtParams } from './gbdt.ts';
export { LOGREG_DEFAULTS, type LogregParams } from './logreg.ts';
export type { OnnxExport, RoundMetrics, Task, TrainedModel, TrainerName, TrainingInfo } from './model.ts';

/** Which trainer, which task, and its parameters; see `GbdtParams` and `LogregParams`. */
export interface TrainOptions extends Partial<Omit<CommonTrainOptions, 'task'>> {
  readonly trainer: TrainerName;
  /** Default `'classification'`. */
  readonly task?: Task;
  /** Shorthand for `params.seed` (GBDT subsampling; logistic regression is seed-free). */
  readonly seed?: number;
  readonly params?: Partial<GbdtParams> | Partial<LogregParams>;
}

/**
 * Trains a model with the named trainer.
 * @example
 * const model = trainModel(train, { trainer: 'gbdt', valid, params: { rounds: 200, maxDepth: 6 } });
 * const { bytes, serving } = model.toOnnx();
 */
export function trainModel(train: TrainingFrame, options: TrainOptions): TrainedModel {
  const task = options.task ?? 'classification';
  if (task !== 'classification' && task !== 'regression') {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `unknown task '${String(task)}': use classification or regression` });
  }
  const common: CommonTrainOptions = {
    task,
    ...(options.valid ? { valid: options.valid } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  switch (options.trainer) {
    case 'gbdt':
      return trainGbdt(train, { ...common, params: { ...(options.params as Partial<GbdtParams>), ...(options.seed === undefined ? {} : { seed: options.seed }) } });
    case 'logreg':
      return trainLogreg(train, { ...common, params: { ...(options.params as Partial<LogregParams>) } });
    default:
      throw larderError('LARDER_E_INVALID_REQUEST', { reason: `unknown trainer '${String(options.trainer)}': use gbdt or logreg` });
  }
}
