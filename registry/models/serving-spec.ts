/**
 * @module registry/models/serving-spec
 * How a registered model is fed and read: which feature columns become which ONNX input tensor,
 * and which output holds the prediction. Stored with the version (immutable), read by batch
 * scoring and by serving so both apply exactly the same preprocessing. Learned encodings
 * (categories, imputation, standardization) live inside the ONNX graph itself; this spec only
 * turns feature values into tensors, by fixed rules:
 *
 * - `float32` / `float64` tensors: numbers as they are, booleans as 0/1, timestamps as epoch
 *   milliseconds, `null`/`undefined`/non-finite strings as `NaN` (models handle missing values).
 * - `int64` tensors: integers (booleans 0/1, timestamps epoch ms); a missing value is refused.
 * - `string` tensors: strings as they are; `null`/`undefined` as `''`.
 */
import type { OnnxElemType } from './onnx.ts';

/** Tensor element types a serving spec may feed. */
export type ServingTensorType = Extract<OnnxElemType, 'float32' | 'float64' | 'int64' | 'string'>;

/** One ONNX input, fed from one or more feature columns (shape `[N, features.length]`). */
export interface ModelInputSpec {
  /** The ONNX graph input's name. */
  readonly input: string;
  /** Feature column names (as in a dataset or a `/v1/features` row), in tensor column order. */
  readonly features: readonly string[];
  readonly type: ServingTensorType;
}

/** A feature the model was trained on: its column name and the Larder dtype it had then. */
export interface ModelFeature {
  readonly name: string;
  /** `dtypeName()` of the feature (`float64`, `int64`, `string`, `bool`, `timestamp`, …). */
  readonly dtype: string;
}

export interface ModelServingSpec {
  readonly task: 'classification' | 'regression';
  /** Every feature the model reads, in the order of the feature service. */
  readonly features: readonly ModelFeature[];
  readonly inputs: readonly ModelInputSpec[];
  /**
   * The output holding the prediction. For a classifier, `column` picks the positive class's
   * probability from an `[N, classes]` output (default 0 for an `[N, 1]` or `[N]` output).
   */
  readonly output: { readonly name: string; readonly column?: number };
}
