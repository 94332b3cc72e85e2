/**
 * @module pipelines/trainers/trees-export
 * A trained tree ensemble on raw feature values: TypeScript prediction and its ONNX export as an
 * `ai.onnx.ml` TreeEnsembleRegressor (`BRANCH_LEQ` on float32 thresholds, missing values routed
 * by `nodes_missing_value_tracks_true`), followed by a `Sigmoid` for classifiers. Prediction
 * mirrors onnxruntime's arithmetic: float32 comparisons and a float32 running sum of the trees
 * in order, then the base value, so both agree to float32 rounding.
 */
import { buildOnnxModel, type NodeSpec } from '../../registry/models/onnx-build.ts';
import type { ModelFeature } from '../../registry/models/serving-spec.ts';
import { encodedColumns, graphFront, internalName, type CategoryEncoding } from './encode.ts';
import type { TrainingFrame } from './frame.ts';
import { sigmoid, type OnnxExport, type Task } from './model.ts';

/** A tree on raw values: internal nodes send `x ≤ threshold[node]` left; leaves have feature −1. */
export interface ValueTree {
  readonly feature: Int32Array;
  readonly threshold: Float32Array;
  /** 1 where a missing value goes left (the "true" branch). */
  readonly missingLeft: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly value: Float32Array;
}

/** Everything an exported GBDT model holds: encodings, base score and trees. */
export interface TreeEnsemble {
  readonly task: Task;
  readonly features: readonly ModelFeature[];
  readonly encodings: readonly (CategoryEncoding | undefined)[];
  /** Initial score (float32): the training label's log-odds or mean. */
  readonly base: number;
  readonly trees: readonly ValueTree[];
}

/** All trees in one set of arrays (node ids offset per tree), so prediction walks flat memory. */
function flatForest(trees: readonly ValueTree[]): ValueTree & { roots: Int32Array } {
  const size = trees.reduce((n, t) => n + t.feature.length, 0);
  const flat = {
    roots: new Int32Array(trees.length), feature: new Int32Array(size), threshold: new Float32Array(size), missingLeft: new Uint8Array(size),
    left: new Int32Array(size), right: new Int32Array(size), value: new Float32Array(size),
  };
  let offset = 0;
  trees.forEach((tree, t) => {
    flat.roots[t] = offset;
    flat.feature.set(tree.feature, offset);
    flat.threshold.set(tree.threshold, offset);
    flat.missingLeft.set(tree.missingLeft, offset);
    flat.value.set(tree.value, offset);
    for (let k = 0; k < tree.feature.length; k++) { flat.left[offset + k] = offset + tree.left[k]!; flat.right[offset + k] = offset + tree.right[k]!; }
    offset += tree.feature.length;
  });
  return flat;
}

/** Probabilities (classification) or predictions (regression) for every row of `frame`. */
export function predictTrees(ensemble: TreeEnsemble, frame: TrainingFrame): Float64Array {
  const columns = encodedColumns(frame, ensemble.features, ensemble.encodings);
  // Row-major copy: one row's features share a cache line while every tree walks them.
  const width = columns.length;
  const matrix = new Float32Array(frame.n * width);
  columns.forEach((column, j) => { for (let i = 0, at = j; i < frame.n; i++, at += width) matrix[at] = column[i]!; });
  const { roots, feature, threshold, missingLeft, left, right, value } = flatForest(ensemble.trees);
  const sums = new Float32Array(frame.n);
  for (let i = 0, row = 0; i < frame.n; i++, row += width) {
    let sum = 0;
    for (let t = 0; t < roots.length; t++) {
      let node = roots[t]!;
      let f = feature[node]!;
      while (f >= 0) {
        const x = matrix[row + f]!;
        node = (x !== x ? missingLeft[node] === 1 : x <= threshold[node]!) ? left[node]! : right[node]!;
        f = feature[node]!;
      }
      sum = Math.fround(sum + value[node]!);
    }
    sums[i] = sum;
  }
  const out = new Float64Array(frame.n);
  const classification = ensemble.task === 'classification';
  for (let i = 0; i < frame.n; i++) {
    const score = Math.fround(sums[i]! + ensemble.base);
    out[i] = classification ? sigmoid(score) : score;
  }
  return out;
}

/** The `TreeEnsembleRegressor` attributes, nodes numbered in depth-first preorder per tree. */
function ensembleAttributes(ensemble: TreeEnsemble): NonNullable<NodeSpec['attributes']> {
  const a = {
    treeIds: [] as number[], nodeIds: [] as number[], featureIds: [] as number[], modes: [] as string[],
    values: [] as number[], trueIds: [] as number[], falseIds: [] as number[], missingTrue: [] as number[],
    targetTrees: [] as number[], targetNodes: [] as number[], targetWeights: [] as number[],
  };
  ensemble.trees.forEach((tree, t) => {
    let next = 0;
    const visit = (node: number): number => {
      const id = next++;
      const slot = a.treeIds.length;
      a.treeIds.push(t); a.nodeIds.push(id);
      if (tree.feature[node]! < 0) {
        a.featureIds.push(0); a.modes.push('LEAF'); a.values.push(0); a.trueIds.push(0); a.falseIds.push(0); a.missingTrue.push(0);
        a.targetTrees.push(t); a.targetNodes.push(id); a.targetWeights.push(tree.value[node]!);
        return id;
      }
      a.featureIds.push(tree.feature[node]!); a.modes.push('BRANCH_LEQ'); a.values.push(tree.threshold[node]!);
      a.trueIds.push(0); a.falseIds.push(0); a.missingTrue.push(tree.missingLeft[node]!);
      a.trueIds[slot] = visit(tree.left[node]!);
      a.falseIds[slot] = visit(tree.right[node]!);
      return id;
    };
    visit(0);
  });
  return {
    n_targets: 1,
    aggregate_function: 'SUM',
    post_transform: 'NONE',
    base_values: { floats: [ensemble.base] },
    nodes_treeids: a.treeIds,
    nodes_nodeids: a.nodeIds,
    nodes_featureids: a.featureIds,
    nodes_modes: a.modes,
    nodes_values: { floats: a.values },
    nodes_truenodeids: a.trueIds,
    nodes_falsenodeids: a.falseIds,
    nodes_missing_value_tracks_true: a.missingTrue,
    target_treeids: a.targetTrees,
    target_nodeids: a.targetNodes,
    target_ids: a.targetTrees.map(() => 0),
    target_weights: { floats: a.targetWeights },
  };
}

/** The ensemble as an ONNX model and the serving spec that feeds it. */
export function exportTrees(ensemble: TreeEnsemble): OnnxExport {
  const front = graphFront(ensemble.features, ensemble.encodings);
  const classification = ensemble.task === 'classification';
  const output = classification ? 'probability' : 'prediction';
  const score = classification ? internalName('score') : output;
  const bytes = buildOnnxModel({
    name: 'larder-gbdt',
    inputs: front.inputs,
    outputs: [{ name: output, type: 'float32', shape: ['N', 1] }],
    nodes: [
      ...front.nodes,
      { op: 'TreeEnsembleRegressor', domain: 'ai.onnx.ml', inputs: [front.matrix], outputs: [score], attributes: ensembleAttributes(ensemble) },
      ...(classification ? [{ op: 'Sigmoid', inputs: [score], outputs: [output] }] : []),
    ],
  }, { domains: { 'ai.onnx.ml': 3 } });
  return { bytes, serving: { task: ensemble.task, features: ensemble.features, inputs: front.servingInputs, output: { name: output } } };
}
