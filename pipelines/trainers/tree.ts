/**
 * @module pipelines/trainers/tree
 * Grows one regression tree on binned features, leaf-wise (best gain first) under a depth and a
 * leaf limit, as LightGBM does. Each split learns where missing values go: both sides are tried
 * and the better kept; a node that saw no missing value sends them to its larger side. Only the
 * smaller child's histogram is built; the larger one's is the parent's minus it.
 *
 * The training rows themselves (bins, gradient statistics, row ids) are reordered as nodes split,
 * so every node's rows are contiguous and histograms read memory in order; the order carries
 * over from tree to tree.
 */
import { buildHistogram, HISTOGRAM_SLOTS, MISSING_BIN, type BinnedMatrix } from './histogram.ts';

export interface TreeParams {
  readonly maxDepth: number;
  readonly maxLeaves: number;
  readonly minDataInLeaf: number;
  readonly minSumHessian: number;
  readonly l2: number;
  readonly minSplitGain: number;
  readonly learningRate: number;
}

/** A grown tree. Internal nodes split on "bin ≤ bin[node]"; leaves have feature −1. */
export interface BinnedTree {
  readonly feature: readonly number[];
  readonly bin: readonly number[];
  readonly missingLeft: readonly boolean[];
  readonly left: readonly number[];
  readonly right: readonly number[];
  /** Leaf output (learning rate applied, float32); 0 for internal nodes. */
  readonly value: readonly number[];
}

/** The training rows in their current order, and buffers shared by every tree. */
export interface GrowContext {
  /** Bins by position, stride a multiple of 4 bytes; `words` views the same memory. */
  readonly binned: BinnedMatrix;
  readonly words: Uint32Array;
  /** Number of non-missing bins per feature. */
  readonly binCounts: readonly number[];
  /** The original row index at each position. */
  readonly order: Uint32Array;
  /** `(gradient·w, hessian·w, w)` per position, w = 1 for rows in this tree's sample. */
  readonly stats: Float64Array;
  /** `(score, label)` per position: the booster's state travels with its row. */
  readonly targets: Float64Array;
  readonly scratchWords: Uint32Array;
  readonly scratchStats: Float64Array;
  readonly scratchTargets: Float64Array;
  readonly scratchOrder: Uint32Array;
  /** Histogram buffers free for reuse (filled as trees release them). */
  readonly histogramPool: Float64Array[];
}

/**
 * A context over binned rows (in row order, stride padded to whole words), every score starting
 * at `base`.
 */
export function growContext(binned: BinnedMatrix, binCounts: readonly number[], labels: Float64Array, base: number): GrowContext {
  const n = binned.rows;
  if (binned.stride % 4 !== 0) throw new RangeError('the training matrix stride must be a multiple of 4 bytes');
  const wordsPerRow = binned.stride / 4;
  const order = new Uint32Array(n);
  const targets = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) { order[i] = i; targets[2 * i] = base; targets[2 * i + 1] = labels[i]!; }
  return {
    binned, binCounts,
    words: new Uint32Array(binned.data.buffer, binned.data.byteOffset, n * wordsPerRow),
    order,
    stats: new Float64Array(3 * n),
    targets,
    scratchWords: new Uint32Array(n * wordsPerRow),
    scratchStats: new Float64Array(3 * n),
    scratchTargets: new Float64Array(2 * n),
    scratchOrder: new Uint32Array(n),
    histogramPool: [],
  };
}

/** Stable partition of positions `[start, end)`: rows going left first, the others after. */
function partition(ctx: GrowContext, start: number, end: number, feature: number, bin: number, missingLeft: boolean): number {
  const { data, stride } = ctx.binned;
  const { words, stats, targets, order, scratchWords, scratchStats, scratchTargets, scratchOrder } = ctx;
  const w = stride / 4;
  let write = start, spill = 0;
  for (let pos = start; pos < end; pos++) {
    const b = data[pos * stride + feature]!;
    if (b === MISSING_BIN ? missingLeft : b <= bin) {
      if (write !== pos) {
        for (let k = 0; k < w; k++) words[write * w + k] = words[pos * w + k]!;
        stats[3 * write] = stats[3 * pos]!; stats[3 * write + 1] = stats[3 * pos + 1]!; stats[3 * write + 2] = stats[3 * pos + 2]!;
        targets[2 * write] = targets[2 * pos]!; targets[2 * write + 1] = targets[2 * pos + 1]!;
        order[write] = order[pos]!;
      }
      write++;
    } else {
      for (let k = 0; k < w; k++) scratchWords[spill * w + k] = words[pos * w + k]!;
      scratchStats[3 * spill] = stats[3 * pos]!; scratchStats[3 * spill + 1] = stats[3 * pos + 1]!; scratchStats[3 * spill + 2] = stats[3 * pos + 2]!;
      scratchTargets[2 * spill] = targets[2 * pos]!; scratchTargets[2 * spill + 1] = targets[2 * pos + 1]!;
      scratchOrder[spill] = order[pos]!;
      spill++;
    }
  }
  words.set(scratchWords.subarray(0, spill * w), write * w);
  stats.set(scratchStats.subarray(0, 3 * spill), 3 * write);
  targets.set(scratchTargets.subarray(0, 2 * spill), 2 * write);
  order.set(scratchOrder.subarray(0, spill), write);
  return write;
}

interface Split { gain: number; feature: number; bin: number; missingLeft: boolean; gl: number; hl: number; cl: number }

interface Leaf {
  node: number; start: number; end: number; depth: number;
  hist: Float64Array | null; g: number; h: number; c: number;
  split: Split | null;
}

function bestSplit(ctx: GrowContext, hist: Float64Array, g: number, h: number, c: number, p: TreeParams): Split | null {
  const l2 = p.l2;
  const parent = (g * g) / (h + l2);
  let best: Split | null = null;
  let bestGain = Math.max(p.minSplitGain, 1e-12);
  const consider = (gain: number, feature: number, bin: number, missingLeft: boolean, gl: number, hl: number, cl: number): void => {
    if (gain > bestGain) { bestGain = gain; best = { gain, feature, bin, missingLeft, gl, hl, cl }; }
  };
  for (let f = 0; f < ctx.binned.features; f++) {
    const base = f * HISTOGRAM_SLOTS * 3;
    const ms = base + MISSING_BIN * 3;
    const gm = hist[ms]!, hm = hist[ms + 1]!, cm = hist[ms + 2]!;
    const last = ctx.binCounts[f]! - 1;
    let gl = 0, hl = 0, cl = 0;
    for (let b = 0; b <= last; b++) {
      const s = base + b * 3;
      gl += hist[s]!; hl += hist[s + 1]!; cl += hist[s + 2]!;
      if (hist[s + 2]! === 0 && b < last) continue;
      // Missing right: left = bins ≤ b.
      const cr = c - cl;
      if (cl >= p.minDataInLeaf && cr >= p.minDataInLeaf && hl >= p.minSumHessian && h - hl >= p.minSumHessian) {
        const gain = (gl * gl) / (hl + l2) + ((g - gl) * (g - gl)) / (h - hl + l2) - parent;
        // With no missing value here, missing goes to the larger side at prediction time.
        consider(gain, f, b, cm === 0 && cl >= cr, gl, hl, cl);
      }
      if (cm === 0 || b === last) continue;
      // Missing left.
      const gL = gl + gm, hL = hl + hm, cL = cl + cm;
      if (cL >= p.minDataInLeaf && c - cL >= p.minDataInLeaf && hL >= p.minSumHessian && h - hL >= p.minSumHessian) {
        consider((gL * gL) / (hL + l2) + ((g - gL) * (g - gL)) / (h - hL + l2) - parent, f, b, true, gL, hL, cL);
      }
    }
  }
  return best;
}

/**
 * Grows a tree on all rows of the context (reordering them so each leaf's rows are contiguous).
 * Returns the tree and, per leaf node, the range of positions it holds.
 */
export function growTree(ctx: GrowContext, p: TreeParams): { tree: BinnedTree; leafRanges: [node: number, start: number, end: number][] } {
  const feature: number[] = [], bin: number[] = [], missingLeft: boolean[] = [], left: number[] = [], right: number[] = [], value: number[] = [];
  const addNode = (): number => { feature.push(-1); bin.push(0); missingLeft.push(false); left.push(0); right.push(0); value.push(0); return feature.length - 1; };
  const n = ctx.binned.rows;
  const histSize = ctx.binned.features * HISTOGRAM_SLOTS * 3;
  const pool = ctx.histogramPool;
  const take = (): Float64Array => pool.pop() ?? new Float64Array(histSize);
  const rootHist = take();
  buildHistogram(rootHist, ctx.binned, ctx.stats, 0, n);
  let g = 0, h = 0, c = 0;
  for (let i = 0; i < n; i++) { g += ctx.stats[3 * i]!; h += ctx.stats[3 * i + 1]!; c += ctx.stats[3 * i + 2]!; }
  const root: Leaf = { node: addNode(), start: 0, end: n, depth: 0, hist: rootHist, g, h, c, split: null };
  const leaves: Leaf[] = [root];
  const withSplit = (leaf: Leaf): Leaf => {
    leaf.split = leaf.hist !== null && leaf.depth < p.maxDepth ? bestSplit(ctx, leaf.hist, leaf.g, leaf.h, leaf.c, p) : null;
    if (leaf.split === null && leaf.hist !== null) { pool.push(leaf.hist); leaf.hist = null; }
    return leaf;
  };
  withSplit(root);
  while (leaves.length < p.maxLeaves) {
    let pick = -1;
    for (let k = 0; k < leaves.length; k++) {
      const s = leaves[k]!.split;
      if (s !== null && (pick < 0 || s.gain > leaves[pick]!.split!.gain)) pick = k;
    }
    if (pick < 0) break;
    const leaf = leaves[pick]!;
    const s = leaf.split!;
    const write = partition(ctx, leaf.start, leaf.end, s.feature, s.bin, s.missingLeft);
    const l: Leaf = { node: addNode(), start: leaf.start, end: write, depth: leaf.depth + 1, hist: null, g: s.gl, h: s.hl, c: s.cl, split: null };
    const r: Leaf = { node: addNode(), start: write, end: leaf.end, depth: leaf.depth + 1, hist: null, g: leaf.g - s.gl, h: leaf.h - s.hl, c: leaf.c - s.cl, split: null };
    feature[leaf.node] = s.feature; bin[leaf.node] = s.bin; missingLeft[leaf.node] = s.missingLeft;
    left[leaf.node] = l.node; right[leaf.node] = r.node;
    // The histogram is built over the child with fewer rows (sampled or not: both cost time).
    const [small, large] = write - l.start <= r.end - write ? [l, r] : [r, l];
    const parentHist = leaf.hist!;
    leaf.hist = null;
    // A child that can never split needs no histogram (the last level of a depth-limited tree).
    const splittable = (child: Leaf): boolean => child.depth < p.maxDepth && child.c >= 2 * p.minDataInLeaf && leaves.length + 1 < p.maxLeaves;
    if (splittable(small) || splittable(large)) {
      small.hist = take();
      buildHistogram(small.hist, ctx.binned, ctx.stats, small.start, small.end);
    }
    if (small.hist !== null && splittable(large)) {
      for (let k = 0; k < histSize; k++) parentHist[k]! -= small.hist[k]!;
      large.hist = parentHist;
    } else {
      pool.push(parentHist);
    }
    leaves.splice(pick, 1, withSplit(l), withSplit(r));
  }
  const leafRanges: [number, number, number][] = [];
  for (const leaf of leaves) {
    if (leaf.hist !== null) pool.push(leaf.hist);
    value[leaf.node] = Math.fround((-leaf.g / (leaf.h + p.l2)) * p.learningRate);
    leafRanges.push([leaf.node, leaf.start, leaf.end]);
  }
  return { tree: { feature, bin, missingLeft, left, right, value }, leafRanges };
}

/** Adds the tree's output for every row of binned data (in row order) to `scores`. */
export function addTreeScores(tree: BinnedTree, binned: BinnedMatrix, scores: Float64Array): void {
  const { data, stride } = binned;
  for (let i = 0; i < scores.length; i++) {
    let node = 0;
    while (tree.feature[node]! >= 0) {
      const b = data[i * stride + tree.feature[node]!]!;
      node = (b === MISSING_BIN ? tree.missingLeft[node]! : b <= tree.bin[node]!) ? tree.left[node]! : tree.right[node]!;
    }
    scores[i]! += tree.value[node]!;
  }
}
