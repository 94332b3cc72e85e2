/**
 * @module serving/types
 * The contracts inside `larder serve`: the `Predictor` (features + prediction for entity rows,
 * and raw-tensor inference for the Open Inference Protocol) that the HTTP app and the gRPC server
 * both call, and the `ServingObserver` through which the predictor reports what metrics count.
 * Plain data in and out, so both transports map it to their own wire format.
 */
import type { FeatureStatus, OnlineFeaturesRequest, OnlineFeaturesResponse } from '../featurestore/online-read.ts';

/** `POST /v1/predict/:model` and the gRPC `Predict`. */
export interface PredictRequest {
  readonly model: string;
  /** A version (`1.2.0`) or an alias; default `champion`. */
  readonly version?: string;
  /** One object per row: the join keys of the model's feature service, plus request fields. */
  readonly entities: readonly Record<string, unknown>[];
  /** Echoed as each prediction's id prefix; default a random UUID per request. */
  readonly requestId?: string;
  readonly signal?: AbortSignal;
  /**
   * Polled instead of listened to: true once the caller has gone. Checked before the features
   * are read and again when the request's batch is cut, so a request whose client left is not
   * run. Cheaper than a signal for a transport that can simply look (an AbortController and its
   * listeners per request cost more than the rest of a small request's bookkeeping).
   */
  readonly cancelled?: () => boolean;
}

export interface Prediction {
  /** `<requestId>-<row index>`: the key that joins the prediction log with labels later. */
  readonly id: string;
  /** The positive class's probability (classifiers) or the prediction (regressors). */
  readonly output: number | null;
  /** The feature values the model was fed (after defaults), by feature name. */
  readonly features: Readonly<Record<string, unknown>>;
  readonly statuses: Readonly<Record<string, FeatureStatus>>;
  /** True when any feature was defaulted, missing or stale, or the online store was unreachable. */
  readonly degraded: boolean;
}

export interface PredictResponse {
  readonly model: string;
  readonly version: string;
  readonly predictions: readonly Prediction[];
}

/** KServe V2 tensor datatypes Larder accepts and returns. */
export type V2Datatype = 'BOOL' | 'INT32' | 'INT64' | 'FP32' | 'FP64' | 'BYTES';

/** A tensor of the Open Inference Protocol: `data` flat, row-major. */
export interface V2Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: V2Datatype;
  readonly data: readonly (number | string | boolean)[];
}

export interface InferRequest {
  readonly model: string;
  readonly version?: string;
  readonly id?: string;
  readonly inputs: readonly V2Tensor[];
  /** Output names to return; default every output of the graph. */
  readonly outputs?: readonly string[];
  readonly signal?: AbortSignal;
}

export interface InferResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  readonly outputs: readonly V2Tensor[];
}

/** `GET /v2/models/:name[/versions/:v]`: the model's metadata. */
export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: 'onnxruntime_onnx';
  readonly inputs: readonly { readonly name: string; readonly datatype: string; readonly shape: readonly number[] }[];
  readonly outputs: readonly { readonly name: string; readonly datatype: string; readonly shape: readonly number[] }[];
}

/**
 * Features + prediction. Implementations resolve aliases to versions, keep one loaded session
 * per version (artifacts verified against their sha256), read every row's features in one
 * online round trip, apply defaults, batch concurrent requests per model version, and log
 * predictions. Errors are `LarderError`s: unknown model → 404 `LARDER_E_MODEL_NOT_FOUND`, bad
 * rows → 400, online store down with fresh features required → 503 `LARDER_E_UNAVAILABLE` (as
 * docs/errors.md says; otherwise defaults with `degraded: true`).
 */
export interface Predictor {
  predict(request: PredictRequest): Promise<PredictResponse>;
  /** `POST /v1/features`: online features with statuses, as `FeatureStore.getOnlineFeatures`. */
  features(request: OnlineFeaturesRequest): Promise<OnlineFeaturesResponse>;
  infer(request: InferRequest): Promise<InferResponse>;
  metadata(model: string, version?: string): Promise<ModelMetadata>;
  /** True when the version (default the champion) is loaded and can answer. */
  modelReady(model: string, version?: string): Promise<boolean>;
  /** Stops taking work, finishes what is queued, flushes the prediction log. */
  close(): Promise<void>;
}

/** What the predictor reports; `serving/metrics.ts` turns it into Prometheus series and `/v1/stats`. */
export interface ServingObserver {
  /** One model run over a merged batch. */
  batch(event: { model: string; version: string; rows: number; requests: number; queueDelayMs: number; inferenceMs: number; cpuSeconds: number }): void;
  /** One predict request answered (or failed). */
  prediction(event: { model: string; version: string; rows: number; latencyMs: number; degraded: number }): void;
  /** One online read. */
  onlineRead(event: { ms: number; ok: boolean }): void;
  /**
   * Status counts of one response: `counts[f * 5 + s]` rows of feature `features[f]` had status
   * `FEATURE_STATUSES[s]`. Called per request, so flat; `features` is the same array for every
   * request of a model version.
   */
  featureStatuses(event: { model: string; features: readonly string[]; counts: Uint32Array }): void;
}
