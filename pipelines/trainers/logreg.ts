/**
 * @module pipelines/trainers/logreg
 * L2-regularized logistic regression, fit by Newton's method with backtracking (deterministic;
 * the seed is not used). Features are standardized for fitting: missing values (and ±Infinity,
 * which a linear model cannot weigh) are imputed with the training mean, then centered and scaled. The scale is folded into the exported
 * weights; the centering stays a `Sub` in the graph because folding it into the bias would make
 * float32 cancel large offsets such as epoch-ms timestamps. Objective:
 * `Σ logloss + (l2 / 2)·‖w‖²` on standardized weights (the bias is not penalized).
 *
 * Graph: inputs → encoders → Concat → `Where(IsNaN(X) ∨ IsInf(X), mean, X)` → `Sub(mean)` → `MatMul(W)` →
 * `Add(b)` → `Sigmoid` → `probability` [N, 1].
 */
import { larderError } from '../../errors.ts';
import { buildOnnxModel } from '../../registry/models/onnx-build.ts';
import type { ModelFeature } from '../../registry/models/serving-spec.ts';
import { encodedColumns, graphFront, internalName, learnEncodings, type CategoryEncoding } from './encode.ts';
import type { TrainingFrame } from './frame.ts';
import { checkTrainingFrame, lossOf, resolveParams, sigmoid, throwIfAborted, type CommonTrainOptions, type TrainedModel } from './model.ts';
import { choleskySolve } from './solve.ts';

/** Logistic regression hyperparameters; `LOGREG_DEFAULTS` fills what a caller leaves out. */
export interface LogregParams {
  /** L2 penalty on standardized weights (objective is a sum over rows). */
  readonly l2: number;
  readonly maxIterations: number;
  /** Stop when the largest gradient component is below this. */
  readonly tolerance: number;
  /** `m` of the smoothed target mean for string features. */
  readonly smoothing: number;
}

/** Defaults: l2 1 (like scikit-learn's C = 1), Newton until the gradient is below 1e-6. */
export const LOGREG_DEFAULTS: LogregParams = { l2: 1, maxIterations: 50, tolerance: 1e-6, smoothing: 10 };

interface LinearParts {
  readonly features: readonly ModelFeature[];
  readonly encodings: readonly (CategoryEncoding | undefined)[];
  /** float32 imputation/centering means, exported weights (scale folded in) and bias. */
  readonly mean: Float32Array;
  readonly weights: Float32Array;
  readonly bias: number;
}

/** Probabilities as the graph computes them: float32 centering, float32 weights. */
function predictLinear(parts: LinearParts, frame: TrainingFrame): Float64Array {
  const columns = encodedColumns(frame, parts.features, parts.encodings);
  const out = new Float64Array(frame.n).fill(parts.bias);
  columns.forEach((column, j) => {
    const mean = parts.mean[j]!;
    const w = parts.weights[j]!;
    for (let i = 0; i < frame.n; i++) {
      const x = column[i]!;
      if (Number.isFinite(x)) out[i]! += w * Math.fround(x - mean);
    }
  });
  for (let i = 0; i < frame.n; i++) out[i] = sigmoid(out[i]!);
  return out;
}

function exportLinear(parts: LinearParts): Uint8Array {
  const front = graphFront(parts.features, parts.encodings);
  const f = parts.features.length;
  const x = front.matrix;
  const name = internalName;
  return buildOnnxModel({
    name: 'larder-logreg',
    inputs: front.inputs,
    outputs: [{ name: 'probability', type: 'float32', shape: ['N', 1] }],
    initializers: [
      { name: name('mean'), type: 'float32', dims: [f], values: [...parts.mean] },
      { name: name('weights'), type: 'float32', dims: [f, 1], values: [...parts.weights] },
      { name: name('bias'), type: 'float32', dims: [1], values: [parts.bias] },
    ],
    nodes: [
      ...front.nodes,
      { op: 'IsNaN', inputs: [x], outputs: [name('nan')] },
      { op: 'IsInf', inputs: [x], outputs: [name('infinite')] },
      { op: 'Or', inputs: [name('nan'), name('infinite')], outputs: [name('missing')] },
      { op: 'Where', inputs: [name('missing'), name('mean'), x], outputs: [name('imputed')] },
      { op: 'Sub', inputs: [name('imputed'), name('mean')], outputs: [name('centered')] },
      { op: 'MatMul', inputs: [name('centered'), name('weights')], outputs: [name('xw')] },
      { op: 'Add', inputs: [name('xw'), name('bias')], outputs: [name('logit')] },
      { op: 'Sigmoid', inputs: [name('logit')], outputs: ['probability'] },
    ],
  }, { domains: { 'ai.onnx.ml': 3 } });
}

/** Sum of logloss + penalty at (bias, w) on standardized columns; fills `p` with probabilities. */
function objective(z: Float64Array[], y: Float64Array, theta: Float64Array, l2: number, p: Float64Array): number {
  const n = y.length;
  p.fill(theta[0]!);
  z.forEach((column, j) => { const w = theta[j + 1]!; for (let i = 0; i < n; i++) p[i]! += w * column[i]!; });
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const s = p[i]!;
    // log(1 + e^s) − y·s, computed without overflow.
    loss += (s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s))) - y[i]! * s;
    p[i] = sigmoid(s);
  }
  for (let j = 1; j < theta.length; j++) loss += 0.5 * l2 * theta[j]! ** 2;
  return loss;
}

/** Trains L2 logistic regression on `train` (classification only). */
export function trainLogreg(train: TrainingFrame, options: CommonTrainOptions & { params?: Partial<LogregParams> }): TrainedModel {
  if (options.task !== 'classification') throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'logreg trains classifiers only; use the gbdt trainer for regression' });
  // A seed is accepted and ignored: Newton's method involves no randomness.
  const params = resolveParams('logreg', LOGREG_DEFAULTS, options.params, ['seed']);
  checkTrainingFrame(train, 'classification');
  if (options.valid) checkTrainingFrame(options.valid, 'classification', 'validation');
  const features = train.features;
  const encodings = learnEncodings(train, params.smoothing);
  const columns = encodedColumns(train, features, encodings);
  const n = train.n;
  const f = features.length;
  const mean = new Float32Array(f);
  const scale = new Float64Array(f);
  const z = columns.map((column, j) => {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) { const x = column[i]!; if (Number.isFinite(x)) { sum += x; count++; } }
    const m = Math.fround(count === 0 ? 0 : sum / count);
    mean[j] = m;
    const out = new Float64Array(n);
    let sq = 0;
    for (let i = 0; i < n; i++) { const x = column[i]!; const c = Number.isFinite(x) ? Math.fround(x - m) : 0; out[i] = c; sq += c * c; }
    const std = Math.sqrt(sq / n);
    scale[j] = std > 1e-12 && Number.isFinite(std) ? std : 1;
    for (let i = 0; i < n; i++) out[i]! /= scale[j]!;
    return out;
  });

  const dim = f + 1;
  let theta = new Float64Array(dim);
  const p = new Float64Array(n);
  let loss = objective(z, train.label, theta, params.l2, p);
  let rounds = 0;
  for (; rounds < params.maxIterations; rounds++) {
    throwIfAborted(options.signal, 'logistic regression training');
    const grad = new Float64Array(dim);
    const hess = new Float64Array(dim * dim);
    const row = new Float64Array(dim);
    row[0] = 1;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) row[j + 1] = z[j]![i]!;
      const r = p[i]! - train.label[i]!;
      const h = Math.max(p[i]! * (1 - p[i]!), 1e-12);
      for (let a = 0; a < dim; a++) {
        const ra = row[a]!;
        grad[a]! += r * ra;
        const hra = h * ra;
        for (let b = 0; b <= a; b++) hess[a * dim + b]! += hra * row[b]!;
      }
    }
    for (let j = 1; j < dim; j++) { grad[j]! += params.l2 * theta[j]!; hess[j * dim + j]! += params.l2; }
    hess[0]! += 1e-9;
    let gmax = 0;
    for (const g of grad) gmax = Math.max(gmax, Math.abs(g));
    if (gmax < params.tolerance) break;
    const step = choleskySolve(hess, grad, dim);
    let t = 1;
    let next = theta;
    let nextLoss = Infinity;
    const q = new Float64Array(n);
    for (let tries = 0; tries < 30; tries++, t /= 2) {
      next = theta.map((v, a) => v - t * step[a]!);
      nextLoss = objective(z, train.label, next, params.l2, q);
      if (nextLoss <= loss) break;
    }
    if (!(nextLoss <= loss)) break;
    const improvement = loss - nextLoss;
    theta = next;
    loss = nextLoss;
    p.set(q);
    options.onProgress?.(rounds + 1, { train: loss / n });
    if (improvement <= 1e-12 * Math.max(1, loss)) { rounds++; break; }
  }

  const weights = new Float32Array(f);
  for (let j = 0; j < f; j++) weights[j] = theta[j + 1]! / scale[j]!;
  const parts: LinearParts = { features, encodings, mean, weights, bias: Math.fround(theta[0]!) };
  const predict = (frame: TrainingFrame): Float64Array => predictLinear(parts, frame);
  const trainLoss = lossOf('classification', train.label, predict(train));
  const validLoss = options.valid ? lossOf('classification', options.valid.label, predict(options.valid)) : undefined;
  return {
    trainer: 'logreg',
    task: 'classification',
    features,
    params: { ...params },
    info: {
      rows: n, loss: 'logloss', rounds, stoppedEarly: false, trainLoss,
      ...(options.valid ? { validRows: options.valid.n, validLoss: validLoss! } : {}),
    },
    predict,
    toOnnx: () => ({
      bytes: exportLinear(parts),
      serving: { task: 'classification', features, inputs: graphFront(features, encodings).servingInputs, output: { name: 'probability' } },
    }),
  };
}
