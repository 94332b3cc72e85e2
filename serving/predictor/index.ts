/**
 * @module serving/predictor
 * The predict path of `larder serve`, as a library the HTTP app and the gRPC server share:
 * `createPredictor(store, options, observer)` → a `Predictor` (features + prediction in one call,
 * Open Inference Protocol inference, metadata, readiness), with per-version dynamic batching, an
 * optional worker-thread pool for heavy models, and the Parquet prediction log.
 */
export { createPredictor, type LarderPredictor } from './predictor.ts';
export { PREDICTOR_DEFAULTS, type ModelOptions, type PredictorOptions } from './options.ts';
export { DynamicBatcher, type BatchEvent, type BatcherOptions, type BatchRunner, type BatchTicket, type Columns, type RunResult } from './batcher.ts';
export {
  PREDICTION_LOG_COLUMNS, PredictionLog, predictionLogGlob, type PredictionLogOptions, type PredictionLogStats, type PredictionRecord,
} from './prediction-log.ts';
export { InferencePool, type InferencePoolOptions } from './pool.ts';
