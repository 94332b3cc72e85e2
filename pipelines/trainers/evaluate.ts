/**
 * @module pipelines/trainers/evaluate
 * Holdout evaluation of a candidate model and the gate that decides whether it may replace the
 * champion. Metrics take plain predictions, so a champion scored by onnxruntime (or any other
 * way) is compared on the same holdout rows as the candidate. Undefined metrics (AUC with one
 * class, R² of a constant label) are `NaN`, which never passes a gate.
 */
import { larderError } from '../../errors.ts';

/** One reliability bin: predictions in [lo, hi) (the last bin includes 1). */
export interface CalibrationBin {
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
  /** `null` for an empty bin. */
  readonly meanPredicted: number | null;
  readonly observedRate: number | null;
}

/** Holdout metrics of a classifier. */
export interface BinaryMetrics {
  readonly rows: number;
  /** Area under the ROC curve; tied scores count half (average ranks). */
  readonly auc: number;
  /** Mean logloss with probabilities clipped to [1e-15, 1 − 1e-15]. */
  readonly logloss: number;
  /** At threshold 0.5 (p ≥ 0.5 predicts 1). */
  readonly accuracy: number;
  readonly baseRate: number;
  /** Reliability diagram: equal-width probability bins. */
  readonly calibration: readonly CalibrationBin[];
}

/** Holdout metrics of a regressor. */
export interface RegressionMetrics {
  readonly rows: number;
  readonly rmse: number;
  readonly mae: number;
  readonly r2: number;
}

function checkLengths(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  if (labels.length !== predictions.length) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `${labels.length} labels for ${predictions.length} predictions` });
  }
  if (labels.length === 0) throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'cannot evaluate on an empty holdout' });
  return labels.length;
}

/** AUC by the rank-sum (Mann–Whitney) statistic, ties given their average rank. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = checkLengths(labels, scores);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (labels[order[k]!] === 1) { positives++; rankSum += rank; }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Metrics of predicted probabilities against 0/1 labels.
 * @example evaluateBinary([0, 1, 1], [0.2, 0.7, 0.4], { bins: 10 }).auc // 1
 */
export function evaluateBinary(labels: ArrayLike<number>, probabilities: ArrayLike<number>, options: { bins?: number } = {}): BinaryMetrics {
  const n = checkLengths(labels, probabilities);
  const binCount = options.bins ?? 10;
  if (!Number.isInteger(binCount) || binCount < 1) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `calibration bins must be a positive integer, got ${binCount}` });
  const count = new Float64Array(binCount), predicted = new Float64Array(binCount), observed = new Float64Array(binCount);
  let loss = 0, correct = 0, positives = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const p = probabilities[i]!;
    if (y !== 0 && y !== 1) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `binary labels must be 0 or 1, got ${y} at row ${i}` });
    const clipped = Math.min(Math.max(p, 1e-15), 1 - 1e-15);
    loss -= y === 1 ? Math.log(clipped) : Math.log(1 - clipped);
    if ((p >= 0.5 ? 1 : 0) === y) correct++;
    positives += y;
    const bin = Math.min(binCount - 1, Math.max(0, Math.floor(p * binCount)));
    count[bin]!++; predicted[bin]! += p; observed[bin]! += y;
  }
  return {
    rows: n,
    auc: rocAuc(labels, probabilities),
    logloss: loss / n,
    accuracy: correct / n,
    baseRate: positives / n,
    calibration: Array.from(count, (c, b) => ({
      lo: b / binCount, hi: (b + 1) / binCount, count: c,
      meanPredicted: c === 0 ? null : predicted[b]! / c,
      observedRate: c === 0 ? null : observed[b]! / c,
    })),
  };
}

/** RMSE, MAE and R² of predictions against numeric labels. */
export function evaluateRegression(labels: ArrayLike<number>, predictions: ArrayLike<number>): RegressionMetrics {
  const n = checkLengths(labels, predictions);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += labels[i]!;
  mean /= n;
  let sq = 0, abs = 0, total = 0;
  for (let i = 0; i < n; i++) {
    const d = predictions[i]! - labels[i]!;
    sq += d * d; abs += Math.abs(d); total += (labels[i]! - mean) ** 2;
  }
  return { rows: n, rmse: Math.sqrt(sq / n), mae: abs / n, r2: total === 0 ? Number.NaN : 1 - sq / total };
}

/** A metric a gate can compare; logloss, RMSE and MAE are better when lower. */
export type GateMetric = 'auc' | 'logloss' | 'accuracy' | 'rmse' | 'mae' | 'r2';

/** The candidate passes when its metric is at most `maxDrop` worse than the champion's. */
export interface GateRule {
  readonly metric: GateMetric;
  readonly maxDrop: number;
}

/** The gate's decision, with a reason a person can read. */
export interface GateResult {
  readonly pass: boolean;
  readonly reason: string;
  /** Candidate minus champion; `null` without a champion. */
  readonly delta: number | null;
}

const LOWER_IS_BETTER = new Set<GateMetric>(['logloss', 'rmse', 'mae']);

type Metrics = Partial<Record<GateMetric, number>>;

/**
 * Decides whether a candidate may replace the champion on the same holdout.
 * @example gateCandidate({ auc: 0.801 }, { auc: 0.804 }) // pass: 0.801 ≥ 0.804 − 0.005
 */
export function gateCandidate(candidate: Metrics, champion: Metrics | undefined, rule: GateRule = { metric: 'auc', maxDrop: 0.005 }): GateResult {
  const { metric, maxDrop } = rule;
  const value = candidate[metric];
  if (value === undefined || Number.isNaN(value)) return { pass: false, reason: `the candidate has no ${metric}`, delta: null };
  if (champion === undefined) return { pass: true, reason: `no champion: the candidate's ${metric} is ${value}`, delta: null };
  const reference = champion[metric];
  if (reference === undefined || Number.isNaN(reference)) return { pass: true, reason: `the champion has no ${metric}`, delta: null };
  const delta = value - reference;
  const lower = LOWER_IS_BETTER.has(metric);
  const pass = lower ? value <= reference + maxDrop : value >= reference - maxDrop;
  const bound = lower ? `≤ ${reference} + ${maxDrop}` : `≥ ${reference} − ${maxDrop}`;
  return { pass, reason: `${metric} ${value} ${pass ? 'is' : 'is not'} ${bound} (champion)`, delta };
}

/** Scores the candidate and the champion on the same holdout labels and applies the gate. */
export function compareWithChampion(options: {
  task: 'classification' | 'regression';
  labels: ArrayLike<number>;
  candidate: ArrayLike<number>;
  champion?: ArrayLike<number>;
  rule?: GateRule;
  bins?: number;
}): { candidate: BinaryMetrics | RegressionMetrics; champion?: BinaryMetrics | RegressionMetrics; gate: GateResult } {
  const score = (predictions: ArrayLike<number>): BinaryMetrics | RegressionMetrics => options.task === 'classification'
    ? evaluateBinary(options.labels, predictions, options.bins === undefined ? {} : { bins: options.bins })
    : evaluateRegression(options.labels, predictions);
  const rule = options.rule ?? (options.task === 'classification' ? { metric: 'auc', maxDrop: 0.005 } : { metric: 'rmse', maxDrop: 0 });
  const candidate = score(options.candidate);
  const champion = options.champion === undefined ? undefined : score(options.champion);
  const gate = gateCandidate(candidate as Metrics, champion as Metrics | undefined, rule);
  return { candidate, ...(champion ? { champion } : {}), gate };
}
