/**
 * @module registry/models/feeds
 * Turns feature columns into the tensors a model's serving spec asks for, by the fixed rules in
 * `serving-spec.ts`. Pure: it returns plain `{ type, data, dims }` values that the onnxruntime
 * wrapper turns into `Tensor`s, so batch scoring, serving and the trainers' parity tests share
 * one conversion.
 */
import { larderError } from '../../errors.ts';
import type { ModelInputSpec, ModelServingSpec } from './serving-spec.ts';

/** Values of one feature for N rows, as read from a dataset or the online store. */
export type FeatureColumns = Readonly<Record<string, ArrayLike<unknown>>>;

export type TensorData = Float32Array | Float64Array | BigInt64Array | string[];

export interface PlainTensor {
  readonly type: ModelInputSpec['type'];
  readonly data: TensorData;
  readonly dims: readonly number[];
}

/** A value as a number: booleans 0/1, dates epoch ms, bigints narrowed, missing or unparsable NaN. */
export function numericValue(value: unknown): number {
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? Number.NaN : Number(trimmed);
  }
  return Number.NaN;
}

function fill(spec: ModelInputSpec, columns: readonly ArrayLike<unknown>[], n: number): TensorData {
  const width = columns.length;
  switch (spec.type) {
    case 'float32':
    case 'float64': {
      const out = spec.type === 'float32' ? new Float32Array(n * width) : new Float64Array(n * width);
      for (let j = 0; j < width; j++) {
        const column = columns[j]!;
        for (let i = 0; i < n; i++) out[i * width + j] = numericValue(column[i]);
      }
      return out;
    }
    case 'int64': {
      const out = new BigInt64Array(n * width);
      for (let j = 0; j < width; j++) {
        const column = columns[j]!;
        for (let i = 0; i < n; i++) {
          const value = numericValue(column[i]);
          if (!Number.isFinite(value)) {
            throw larderError('LARDER_E_INVALID_REQUEST', { reason: `model input '${spec.input}' needs an integer for '${spec.features[j]}' (row ${i}), got ${String(column[i])}` });
          }
          out[i * width + j] = BigInt(Math.trunc(value));
        }
      }
      return out;
    }
    case 'string': {
      const out = new Array<string>(n * width);
      for (let j = 0; j < width; j++) {
        const column = columns[j]!;
        for (let i = 0; i < n; i++) {
          const value = column[i];
          out[i * width + j] = value === null || value === undefined ? '' : String(value);
        }
      }
      return out;
    }
  }
}

/**
 * The tensors for `n` rows. Every feature named by an input must be present in `columns`.
 * @example tensorsFor(spec, { distance: [300, null], origin: ['SFO', 'JFK'] }, 2)
 */
export function tensorsFor(spec: ModelServingSpec, columns: FeatureColumns, n: number): Record<string, PlainTensor> {
  const feeds: Record<string, PlainTensor> = {};
  for (const input of spec.inputs) {
    const sources = input.features.map((name) => {
      const column = columns[name];
      if (column === undefined) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `model input '${input.input}' needs feature '${name}', which is missing` });
      if (column.length < n) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `feature '${name}' has ${column.length} values for ${n} rows` });
      return column;
    });
    feeds[input.input] = { type: input.type, data: fill(input, sources, n), dims: [n, input.features.length] };
  }
  return feeds;
}

/** The prediction per row from a model output of shape `[N]`, `[N, 1]` or `[N, classes]`. */
export function predictionsFrom(data: ArrayLike<number | bigint>, dims: readonly number[], n: number, column = 0): Float64Array {
  const width = dims.length >= 2 ? Number(dims[1]) : 1;
  if (column >= width) throw larderError('LARDER_E_MODEL_INVALID', { what: 'output', reason: `column ${column} is outside an output of width ${width}` });
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Number(data[i * width + column]);
  return out;
}
