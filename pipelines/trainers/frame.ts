/**
 * @module pipelines/trainers/frame
 * The in-memory training table every trainer reads: one column per feature, numeric features
 * as `Float32Array` (NaN = missing) converted by the same rule serving uses (`numericValue`,
 * then float32), string features as strings (`null` = missing), and the label as numbers.
 * A row whose label is missing is refused rather than silently dropped: which rows are labeled
 * is a dataset decision, so the caller filters them (and knows how many) before training.
 */
import { DataType, type Table } from 'apache-arrow';
import { larderError } from '../../errors.ts';
import { numericValue } from '../../registry/models/feeds.ts';
import type { ModelFeature } from '../../registry/models/serving-spec.ts';
import { mulberry32 } from '../../random.ts';

/** A numeric column (float32, NaN = missing) or a string column (`null` = missing). */
export type FrameColumn = Float32Array | readonly (string | null)[];

/** Rows to train on or predict for, column by column. */
export interface TrainingFrame {
  readonly n: number;
  readonly features: readonly ModelFeature[];
  /** One column per feature, in `features` order. */
  readonly columns: readonly FrameColumn[];
  /** One label per row; all NaN for a frame built without a label (for prediction only). */
  readonly label: Float64Array;
}

const NUMERIC_DTYPES = new Set(['int64', 'int32', 'float64', 'float32', 'bool', 'timestamp']);

/** Whether a feature is fed to models as a string (and encoded in the graph) or as a float. */
export function isStringFeature(feature: ModelFeature): boolean {
  if (feature.dtype === 'string') return true;
  if (NUMERIC_DTYPES.has(feature.dtype)) return false;
  throw larderError('LARDER_E_INVALID_REQUEST', { reason: `feature '${feature.name}' has dtype ${feature.dtype}, which the trainers cannot use (numbers, bools, timestamps and strings only)` });
}

/** Gets value `i` of a column-like source (an array or an Arrow vector). */
type ValueAt = (i: number) => unknown;

function toColumn(feature: ModelFeature, n: number, at: ValueAt): FrameColumn {
  if (isStringFeature(feature)) {
    const out = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const v = at(i);
      out[i] = v === null || v === undefined ? null : String(v);
    }
    return out;
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = numericValue(at(i));
  return out;
}

function toLabel(name: string, n: number, at: ValueAt): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = at(i);
    const value = numericValue(v);
    if (!Number.isFinite(value)) {
      throw larderError('LARDER_E_INVALID_REQUEST', { reason: `label '${name}' is ${v === null || v === undefined ? 'missing' : `not a number (${String(v)})`} at row ${i}; drop unlabeled rows before training` });
    }
    out[i] = value;
  }
  return out;
}

/**
 * A frame from plain columns (arrays or typed arrays), e.g. rows read from the online store.
 * @example frameFromColumns({ distance: [300, null], origin: ['SFO', 'JFK'], late: [true, false] },
 *   [{ name: 'distance', dtype: 'float64' }, { name: 'origin', dtype: 'string' }], 'late')
 */
export function frameFromColumns(columns: Readonly<Record<string, ArrayLike<unknown>>>, features: readonly ModelFeature[], label?: string): TrainingFrame {
  const sources = [...features.map((f) => f.name), ...(label === undefined ? [] : [label])];
  let n = -1;
  for (const name of sources) {
    const column = columns[name];
    if (column === undefined) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `column '${name}' is missing` });
    if (n >= 0 && column.length !== n) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `column '${name}' has ${column.length} values, others ${n}` });
    n = column.length;
  }
  n = Math.max(n, 0);
  const at = (name: string): ValueAt => { const c = columns[name]!; return (i) => c[i]; };
  return {
    n,
    features: features.map((f) => ({ name: f.name, dtype: f.dtype })),
    columns: features.map((f) => toColumn(f, n, at(f.name))),
    label: label === undefined ? new Float64Array(n).fill(Number.NaN) : toLabel(label, n, at(label)),
  };
}

/** A frame from an Arrow table as DuckDB returns it (bigint int64s, epoch-ms timestamps, nulls). */
export function frameFromArrow(table: Table, features: readonly ModelFeature[], label?: string): TrainingFrame {
  const columns: Record<string, ArrayLike<unknown>> = {};
  for (const name of [...features.map((f) => f.name), ...(label === undefined ? [] : [label])]) {
    const child = table.getChild(name);
    if (child === null) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `column '${name}' is not in the dataset` });
    // Null-free number columns convert straight from their buffers; the rest go value by value.
    const direct = child.nullCount === 0 && (DataType.isFloat(child.type) || DataType.isInt(child.type));
    columns[name] = direct ? (child.toArray() as ArrayLike<unknown>) : Array.from(child as Iterable<unknown>);
  }
  return frameFromColumns(columns, features, label);
}

/** The rows at `indices`, in that order. */
export function takeRows(frame: TrainingFrame, indices: ArrayLike<number>): TrainingFrame {
  const m = indices.length;
  const columns = frame.columns.map((column): FrameColumn => {
    if (column instanceof Float32Array) {
      const out = new Float32Array(m);
      for (let k = 0; k < m; k++) out[k] = column[indices[k]!]!;
      return out;
    }
    return Array.from({ length: m }, (_, k) => column[indices[k]!] ?? null);
  });
  const label = new Float64Array(m);
  for (let k = 0; k < m; k++) label[k] = frame.label[indices[k]!]!;
  return { n: m, features: frame.features, columns, label };
}

/**
 * Splits rows at random (seeded) into a training part and a validation part of about
 * `validFraction` of the rows. Deterministic for a seed.
 */
export function splitFrame(frame: TrainingFrame, options: { validFraction: number; seed?: number }): { train: TrainingFrame; valid: TrainingFrame } {
  const random = mulberry32(options.seed ?? 0);
  const train: number[] = [];
  const valid: number[] = [];
  for (let i = 0; i < frame.n; i++) (random() < options.validFraction ? valid : train).push(i);
  return { train: takeRows(frame, train), valid: takeRows(frame, valid) };
}

/** The frame's columns by feature name, as `tensorsFor` takes them. */
export function columnsOf(frame: TrainingFrame): Record<string, FrameColumn> {
  return Object.fromEntries(frame.features.map((f, j) => [f.name, frame.columns[j]!]));
}
