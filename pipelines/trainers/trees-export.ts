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

export interface TreeEnsemble {
  readonly task: Task;
  readonly features: readonly ModelFeature[];
  readonly encodings: readonly (CategoryEncoding | undefined)[];
  /** Initial score (float32): the training label's log-odds or mean. */
  readonly base: number;
  readonly trees: readonly ValueTree[];
}

/** Probabilities (classification) or predictions (regression) for every row of `frame`. */
export function predictTrees(ensemble: TreeEnsemble, frame: TrainingFrame): Float64Array {
  const columns = encodedColumns(frame, ensemble.features, ensemble.encodings);
  const sums = new Float32Array(frame.n);
  for (const tree of ensemble.trees) {
    const { feature, threshold, missingLeft, left, right, value } = tree;
    for (let i = 0; i < frame.n; i++) {
      let node = 0;
      while (feature[node]! >= 0) {
        const x = columns[feature[node]!]![i]!;
        node = (x !== x ? missingLeft[node] === 1 : x <= threshold[node]!) ? left[node]! : right[node]!;
      }
      sums[i]! += value[node]!;
    }
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
