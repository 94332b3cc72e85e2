/**
 * @module pipelines/trainers/tree
 * Grows one regression tree on binned features, leaf-wise (best gain first) under a depth and a
 * leaf limit, as LightGBM does. Each split learns where missing values go: both sides are tried
 * and the better kept; a node that saw no missing value sends them to its larger side. Only the
 * smaller child's histogram is built; the larger one's is the parent's minus it.
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

/** Shared buffers for growing many trees over the same rows. */
export interface GrowContext {
  readonly binned: BinnedMatrix;
  /** Number of non-missing bins per feature. */
  readonly binCounts: readonly number[];
  /** Gradient and hessian of row i at `[2i]` and `[2i + 1]` (one cache line per row). */
  readonly gradHess: Float64Array;
  readonly scratchRows: Uint32Array;
  /** Histogram buffers free for reuse (filled as trees release them). */
  readonly histogramPool: Float64Array[];
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
 * Grows a tree on `rows` (row indices, reordered in place so each leaf's rows are contiguous).
 * Returns the tree and, per leaf node, the range of `rows` it holds.
 */
export function growTree(ctx: GrowContext, rows: Uint32Array, p: TreeParams): { tree: BinnedTree; leafRanges: [node: number, start: number, end: number][] } {
  const feature: number[] = [], bin: number[] = [], missingLeft: boolean[] = [], left: number[] = [], right: number[] = [], value: number[] = [];
  const addNode = (): number => { feature.push(-1); bin.push(0); missingLeft.push(false); left.push(0); right.push(0); value.push(0); return feature.length - 1; };
  const histSize = ctx.binned.features * HISTOGRAM_SLOTS * 3;
  const pool = ctx.histogramPool;
  const take = (): Float64Array => pool.pop() ?? new Float64Array(histSize);
  const rootHist = take();
  buildHistogram(rootHist, ctx.binned, rows, 0, rows.length, ctx.gradHess);
  let g = 0, h = 0;
  for (let k = 0; k < rows.length; k++) { const i = rows[k]!; g += ctx.gradHess[2 * i]!; h += ctx.gradHess[2 * i + 1]!; }
  const root: Leaf = { node: addNode(), start: 0, end: rows.length, depth: 0, hist: rootHist, g, h, c: rows.length, split: null };
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
    const column = ctx.binned.columns[s.feature]!;
    // Stable partition: left rows stay in place, right rows go through the scratch buffer.
    let write = leaf.start, spill = 0;
    for (let k = leaf.start; k < leaf.end; k++) {
      const i = rows[k]!;
      const b = column[i]!;
      if (b === MISSING_BIN ? s.missingLeft : b <= s.bin) rows[write++] = i;
      else ctx.scratchRows[spill++] = i;
    }
    rows.set(ctx.scratchRows.subarray(0, spill), write);
    const l: Leaf = { node: addNode(), start: leaf.start, end: write, depth: leaf.depth + 1, hist: null, g: s.gl, h: s.hl, c: s.cl, split: null };
    const r: Leaf = { node: addNode(), start: write, end: leaf.end, depth: leaf.depth + 1, hist: null, g: leaf.g - s.gl, h: leaf.h - s.hl, c: leaf.c - s.cl, split: null };
    feature[leaf.node] = s.feature; bin[leaf.node] = s.bin; missingLeft[leaf.node] = s.missingLeft;
    left[leaf.node] = l.node; right[leaf.node] = r.node;
    const [small, large] = l.c <= r.c ? [l, r] : [r, l];
    const parentHist = leaf.hist!;
    leaf.hist = null;
    // A child that can never split needs no histogram (the last level of a depth-limited tree).
    const splittable = (child: Leaf): boolean => child.depth < p.maxDepth && child.c >= 2 * p.minDataInLeaf && leaves.length + 1 < p.maxLeaves;
    if (splittable(small) || splittable(large)) {
      small.hist = take();
      buildHistogram(small.hist, ctx.binned, rows, small.start, small.end, ctx.gradHess);
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

/** Adds the tree's output for every row of binned data to `scores`. */
export function addTreeScores(tree: BinnedTree, binned: BinnedMatrix, scores: Float64Array): void {
  const { data, features } = binned;
  for (let i = 0; i < scores.length; i++) {
    let node = 0;
    while (tree.feature[node]! >= 0) {
      const b = data[i * features + tree.feature[node]!]!;
      node = (b === MISSING_BIN ? tree.missingLeft[node]! : b <= tree.bin[node]!) ? tree.left[node]! : tree.right[node]!;
    }
    scores[i]! += tree.value[node]!;
  }
}
