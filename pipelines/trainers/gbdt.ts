/**
 * @module pipelines/trainers/gbdt
 * Histogram-based gradient-boosted decision trees: binary logloss (classification) or squared
 * error (regression), leaf-wise trees, optional row subsampling (seeded), and early stopping on
 * a validation frame that keeps the best round. String features are target-encoded first
 * (`encode.ts`); missing numbers are handled by the splits themselves.
 */
import { larderError } from '../../errors.ts';
import { learnEncodings, encodedColumns } from './encode.ts';
import type { TrainingFrame } from './frame.ts';
import { binColumns, learnBins, thresholdOf, type FeatureBins } from './histogram.ts';
import { checkTrainingFrame, lossOf, resolveParams, sigmoid, throwIfAborted, type CommonTrainOptions, type TrainedModel } from './model.ts';
import { mulberry32 } from '../../random.ts';
import { addTreeScores, growContext, growTree, type BinnedTree, type TreeParams } from './tree.ts';
import { exportTrees, predictTrees, type TreeEnsemble, type ValueTree } from './trees-export.ts';

/** GBDT hyperparameters (the tree ones plus the ensemble's); `GBDT_DEFAULTS` fills what a caller leaves out. */
export interface GbdtParams extends TreeParams {
  readonly rounds: number;
  /** Non-missing bins per feature, 2–255. */
  readonly bins: number;
  /** Stop when the validation loss has not improved for this many rounds (needs `valid`). */
  readonly earlyStoppingRounds: number;
  readonly seed: number;
  /** Fraction of rows each tree is grown on (1 = all rows). */
  readonly subsample: number;
  /** `m` of the smoothed target mean for string features. */
  readonly smoothing: number;
}

/** LightGBM-like defaults. */
export const GBDT_DEFAULTS: GbdtParams = {
  rounds: 100, learningRate: 0.1, maxDepth: 6, maxLeaves: 31, minDataInLeaf: 20, minSumHessian: 1e-3,
  l2: 1, minSplitGain: 0, bins: 255, earlyStoppingRounds: 10, seed: 0, subsample: 1, smoothing: 10,
};

function checkParams(p: GbdtParams): void {
  const bad = (reason: string): never => { throw larderError('LARDER_E_INVALID_REQUEST', { reason: `gbdt: ${reason}` }); };
  if (!Number.isInteger(p.rounds) || p.rounds < 1) bad(`rounds must be a positive integer, got ${p.rounds}`);
  if (!(p.learningRate > 0)) bad(`learningRate must be positive, got ${p.learningRate}`);
  if (!Number.isInteger(p.maxDepth) || p.maxDepth < 1) bad(`maxDepth must be a positive integer, got ${p.maxDepth}`);
  if (!Number.isInteger(p.maxLeaves) || p.maxLeaves < 2) bad(`maxLeaves must be an integer ≥ 2, got ${p.maxLeaves}`);
  if (!(p.minDataInLeaf >= 1)) bad(`minDataInLeaf must be ≥ 1, got ${p.minDataInLeaf}`);
  if (!(p.l2 >= 0)) bad(`l2 must be ≥ 0, got ${p.l2}`);
  if (!(p.subsample > 0 && p.subsample <= 1)) bad(`subsample must be in (0, 1], got ${p.subsample}`);
  if (!Number.isInteger(p.earlyStoppingRounds) || p.earlyStoppingRounds < 1) bad(`earlyStoppingRounds must be a positive integer, got ${p.earlyStoppingRounds}`);
}

/** Mean logloss or RMSE over interleaved `(score, label)` pairs. */
function targetLoss(task: 'classification' | 'regression', targets: Float64Array): number {
  const n = targets.length / 2;
  let sum = 0;
  for (let k = 0; k < targets.length; k += 2) {
    const s = targets[k]!;
    if (task === 'classification') {
      const p = Math.min(Math.max(sigmoid(s), 1e-15), 1 - 1e-15);
      sum -= targets[k + 1]! === 1 ? Math.log(p) : Math.log(1 - p);
    } else {
      const d = s - targets[k + 1]!;
      sum += d * d;
    }
  }
  return task === 'classification' ? sum / n : Math.sqrt(sum / n);
}

/** Trains a GBDT model on `train`; with `valid`, stops early and keeps the best round. */
export function trainGbdt(train: TrainingFrame, options: CommonTrainOptions & { params?: Partial<GbdtParams> }): TrainedModel {
  const params = resolveParams('gbdt', GBDT_DEFAULTS, options.params);
  checkParams(params);
  const task = options.task;
  const classification = task === 'classification';
  checkTrainingFrame(train, task);
  const valid = options.valid;
  if (valid) checkTrainingFrame(valid, task, 'validation');
  const features = train.features;
  const encodings = learnEncodings(train, params.smoothing);
  const columns = encodedColumns(train, features, encodings);
  const featureBins: FeatureBins[] = columns.map((column) => learnBins(column, params.bins));
  // Rows padded to whole 32-bit words: the tree grower moves rows around as words.
  const bins = binColumns(columns, featureBins, train.n, Math.ceil(columns.length / 4) * 4);
  const validBins = valid ? binColumns(encodedColumns(valid, features, encodings), featureBins, valid.n) : undefined;

  const n = train.n;
  const y = train.label;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean /= n;
  const base = Math.fround(classification ? Math.log(mean / (1 - mean)) : mean);
  const validScores = new Float64Array(valid?.n ?? 0).fill(base);
  const validPredictions = new Float64Array(valid?.n ?? 0);
  const ctx = growContext(bins, featureBins.map((b) => b.uppers.length), y, base);
  const random = mulberry32(params.seed);
  const sampled = params.subsample < 1 ? new Uint8Array(n) : undefined;
  const trees: BinnedTree[] = [];
  let best = { round: -1, loss: Infinity };
  let stoppedEarly = false;
  const trainLosses: number[] = [];
  for (let round = 0; round < params.rounds; round++) {
    throwIfAborted(options.signal, `gbdt training (round ${round})`);
    // The sample is drawn in row order, so it does not depend on how rows are arranged.
    if (sampled) for (let i = 0; i < n; i++) sampled[i] = random() < params.subsample ? 1 : 0;
    const { order, stats, targets } = ctx;
    for (let pos = 0; pos < n; pos++) {
      const s = targets[2 * pos]!;
      const label = targets[2 * pos + 1]!;
      const w = sampled ? sampled[order[pos]!]! : 1;
      let g: number, h: number;
      if (classification) {
        const p = sigmoid(s);
        g = p - label;
        h = Math.max(p * (1 - p), 1e-16);
      } else {
        g = s - label;
        h = 1;
      }
      stats[3 * pos] = g * w;
      stats[3 * pos + 1] = h * w;
      stats[3 * pos + 2] = w;
    }
    const { tree, leafRanges } = growTree(ctx, params);
    trees.push(tree);
    // Every row, sampled or not, sits in some leaf's range of positions.
    for (const [node, start, end] of leafRanges) {
      const v = tree.value[node]!;
      for (let pos = start; pos < end; pos++) targets[2 * pos]! += v;
    }
    const trainLoss = targetLoss(task, targets);
    trainLosses.push(trainLoss);
    if (!valid) {
      options.onProgress?.(round + 1, { train: trainLoss });
      continue;
    }
    addTreeScores(tree, validBins!, validScores);
    for (let i = 0; i < valid.n; i++) validPredictions[i] = classification ? sigmoid(validScores[i]!) : validScores[i]!;
    const validLoss = lossOf(task, valid.label, validPredictions);
    options.onProgress?.(round + 1, { train: trainLoss, valid: validLoss });
    if (validLoss < best.loss) best = { round, loss: validLoss };
    else if (round - best.round >= params.earlyStoppingRounds) { stoppedEarly = true; break; }
  }
  const rounds = trees.length;
  const kept = valid ? trees.slice(0, best.round + 1) : trees;
  const ensemble: TreeEnsemble = {
    task, features, encodings, base,
    trees: kept.map((tree): ValueTree => ({
      feature: Int32Array.from(tree.feature),
      threshold: Float32Array.from(tree.feature, (f, node) => (f < 0 ? 0 : thresholdOf(featureBins[f]!, tree.bin[node]!))),
      missingLeft: Uint8Array.from(tree.missingLeft, Number),
      left: Int32Array.from(tree.left),
      right: Int32Array.from(tree.right),
      value: Float32Array.from(tree.value),
    })),
  };
  const predict = (frame: TrainingFrame): Float64Array => predictTrees(ensemble, frame);
  return {
    trainer: 'gbdt',
    task,
    features,
    params: { ...params },
    info: {
      rows: n, loss: classification ? 'logloss' : 'rmse', rounds, stoppedEarly,
      trainLoss: trainLosses[valid ? best.round : rounds - 1]!,
      ...(valid ? { validRows: valid.n, bestRound: best.round + 1, validLoss: best.loss } : { bestRound: rounds }),
    },
    predict,
    toOnnx: () => exportTrees(ensemble),
  };
}
