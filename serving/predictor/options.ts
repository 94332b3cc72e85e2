/**
 * @module serving/predictor/options
 * Everything `createPredictor` can be told, with its default, in one place: request limits,
 * alias refresh, the batcher, the worker pool, per-model settings and the prediction log.
 */
import type { BatcherOptions } from './batcher.ts';
import type { PredictionLogOptions } from './prediction-log.ts';

/** Settings of one model (all its versions). */
export interface ModelOptions {
  /**
   * Answer 503 `LARDER_E_UNAVAILABLE` when the online store cannot be read, instead of
   * predicting from defaulted features with `degraded: true`. Default false.
   */
  readonly requireFreshFeatures?: boolean;
  /**
   * Where the model runs: `'inline'` (default) on the event loop — for small models a run costs
   * a few µs, less than a thread hop — or `'pool'` in the worker pool, for heavy models whose
   * runs would block the event loop.
   */
  readonly inference?: 'inline' | 'pool';
  /** The batcher for this model's versions; fields not given come from `PredictorOptions.batching`. */
  readonly batching?: BatcherOptions;
}

/** `createPredictor` options; every one has a default (see each field). */
export interface PredictorOptions {
  /** Most entity rows in one predict request (default 1000); more is 413 `LARDER_E_PAYLOAD_TOO_LARGE`. */
  readonly maxEntities?: number;
  /**
   * How often aliases in use (`champion`, `latest`, …) are re-read, in ms (default 1000): a
   * promotion or rollback is served within about this, once the new version is loaded; a new
   * version that cannot load is refused and the current one keeps serving. Versions are cached for good.
   */
  readonly aliasRefreshMs?: number;
  /** Unload a loaded version after this long without requests, in ms (default 600,000; 0: never). */
  readonly unloadAfterMs?: number;
  /** The default batcher: `enabled` true, `maxBatchSize` 256, `maxQueueDelayUs` 500, `concurrency` 1. */
  readonly batching?: BatcherOptions;
  /** Worker threads for models with `inference: 'pool'` (default 1; started on first use). */
  readonly poolSize?: number;
  /** onnxruntime intra-op threads per session (default 1). */
  readonly sessionThreads?: number;
  /** Per-model settings, by model name. */
  readonly models?: Readonly<Record<string, ModelOptions>>;
  /**
   * The prediction log (Parquet under `<project>/.larder/predictions`). Default on with
   * `sampleRate` 1, `flushRows` 10,000, `flushMs` 5,000; `false` turns it off.
   */
  readonly log?: PredictionLogOptions | false;
  /** Bound of each online read in ms (default: the online store's, 50 ms for Redis). */
  readonly onlineTimeoutMs?: number;
  /**
   * Told about problems that fail no request: an alias moved to a version that cannot load, a
   * prediction-log write that failed (its records are kept for the next flush). Default: console.warn.
   */
  readonly onWarning?: (message: string, error: unknown) => void;
  /** The clock feature ttls are measured against, in epoch ms (default `Date.now`); for tests and replays. */
  readonly now?: () => number;
}

/** The limits with their defaults applied. */
export const PREDICTOR_DEFAULTS = {
  maxEntities: 1000,
  aliasRefreshMs: 1000,
  unloadAfterMs: 600_000,
  poolSize: 1,
  sessionThreads: 1,
} as const;

/** The batcher options for `model`: its own, over the predictor's, over the defaults. */
export function batchingFor(options: PredictorOptions, model: string): BatcherOptions {
  return { ...options.batching, ...options.models?.[model]?.batching };
}
