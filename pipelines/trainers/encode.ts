/**
 * @module pipelines/trainers/encode
 * What both trainers do before learning: string features become numbers by a smoothed target
 * mean learned on the training rows, `(sum + m·prior) / (count + m)`, with missing, empty and
 * unseen strings mapped to the prior. The same table is written into the exported graph as an
 * `ai.onnx.ml` LabelEncoder, so serving applies exactly this transformation. Encoded values are
 * float32, as the graph computes them. Also builds the graph's front: one `[N, 1]` input per
 * feature, named as the feature column, encoded and concatenated into one float `[N, F]` tensor.
 */
import { larderError } from '../../errors.ts';
import type { NodeSpec, TensorValueSpec } from '../../registry/models/onnx-build.ts';
import type { ModelFeature, ModelInputSpec } from '../../registry/models/serving-spec.ts';
import { isStringFeature, type TrainingFrame } from './frame.ts';

/** A learned string → number table for one feature. */
export interface CategoryEncoding {
  /** Encoded value of a missing, empty or unseen string (float32). */
  readonly prior: number;
  /** Encoded value per category seen in training (float32), keys sorted. */
  readonly categories: ReadonlyMap<string, number>;
}

/** Learns an encoding for every string feature (`undefined` for numeric ones). */
export function learnEncodings(frame: TrainingFrame, smoothing: number): (CategoryEncoding | undefined)[] {
  let total = 0;
  for (let i = 0; i < frame.n; i++) total += frame.label[i]!;
  const prior = frame.n === 0 ? 0 : total / frame.n;
  return frame.columns.map((column) => {
    if (column instanceof Float32Array) return undefined;
    const sums = new Map<string, { sum: number; count: number }>();
    for (let i = 0; i < frame.n; i++) {
      const value = column[i];
      if (value === null || value === undefined || value === '') continue;
      const entry = sums.get(value);
      if (entry === undefined) sums.set(value, { sum: frame.label[i]!, count: 1 });
      else { entry.sum += frame.label[i]!; entry.count++; }
    }
    const keys = [...sums.keys()].sort();
    const categories = new Map(keys.map((key) => {
      const { sum, count } = sums.get(key)!;
      return [key, Math.fround((sum + smoothing * prior) / (count + smoothing))] as const;
    }));
    return { prior: Math.fround(prior), categories };
  });
}

/**
 * The model's features as float32 columns, read from `frame` by name: numeric columns as they
 * are, string columns through their encoding.
 */
export function encodedColumns(frame: TrainingFrame, features: readonly ModelFeature[], encodings: readonly (CategoryEncoding | undefined)[]): Float32Array[] {
  const index = new Map(frame.features.map((f, j) => [f.name, j]));
  return features.map((feature, j) => {
    const at = index.get(feature.name);
    if (at === undefined) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `the model needs feature '${feature.name}', which the frame lacks` });
    const column = frame.columns[at]!;
    const encoding = encodings[j];
    if (encoding === undefined) {
      if (!(column instanceof Float32Array)) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `feature '${feature.name}' is numeric in the model but holds strings in the frame` });
      return column;
    }
    if (column instanceof Float32Array) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `feature '${feature.name}' is a string in the model but numeric in the frame` });
    const out = new Float32Array(frame.n);
    for (let i = 0; i < frame.n; i++) {
      const value = column[i];
      out[i] = value === null || value === undefined ? encoding.prior : encoding.categories.get(value) ?? encoding.prior;
    }
    return out;
  });
}

/** The front of an exported graph: inputs, encoder nodes, and the name of the `[N, F]` tensor. */
export interface GraphFront {
  readonly inputs: TensorValueSpec[];
  readonly servingInputs: ModelInputSpec[];
  readonly nodes: NodeSpec[];
  /** The float `[N, F]` tensor of all features, in model order. */
  readonly matrix: string;
}

/** Graph-internal names live under `larder/` so they cannot clash with a feature's input name. */
export const internalName = (name: string): string => `larder/${name}`;

/** Inputs per feature, LabelEncoders for string features, and a Concat into one matrix. */
export function graphFront(features: readonly ModelFeature[], encodings: readonly (CategoryEncoding | undefined)[]): GraphFront {
  const nodes: NodeSpec[] = [];
  const columns = features.map((feature, j) => {
    const encoding = encodings[j];
    if (encoding === undefined) return feature.name;
    const out = internalName(`encoded/${feature.name}`);
    // '' is always a key: it is what serving feeds for a missing string, and it keeps the key
    // list non-empty when training saw no strings at all.
    const keys = ['', ...encoding.categories.keys()];
    const values = [encoding.prior, ...encoding.categories.values()];
    nodes.push({
      op: 'LabelEncoder', domain: 'ai.onnx.ml', inputs: [feature.name], outputs: [out],
      attributes: { keys_strings: keys, values_floats: { floats: values }, default_float: { float: encoding.prior } },
    });
    return out;
  });
  const matrix = internalName('features');
  nodes.push({ op: 'Concat', inputs: columns, outputs: [matrix], attributes: { axis: 1 } });
  return {
    inputs: features.map((f) => ({ name: f.name, type: isStringFeature(f) ? 'string' : 'float32', shape: ['N', 1] })),
    servingInputs: features.map((f) => ({ input: f.name, features: [f.name], type: isStringFeature(f) ? 'string' : 'float32' })),
    nodes,
    matrix,
  };
}
