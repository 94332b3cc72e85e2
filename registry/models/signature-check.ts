/**
 * @module registry/models/signature-check
 * Checks a model's ONNX signature against its serving spec and its feature service: every spec
 * input is a graph input of the same element type and width, the prediction output exists, and
 * the spec's features are the service's features (names, order, dtypes). A model registered
 * without a spec (bring-your-own, e.g. skl2onnx) gets one derived from its graph and the service:
 * one input per feature named like the feature, or a single `[N, F]` input fed with every
 * feature in the service's order.
 */
import { larderError } from '../../errors.ts';
import type { OnnxModelInfo, OnnxValueInfo } from './onnx.ts';
import type { ModelFeature, ModelServingSpec, ServingTensorType } from './serving-spec.ts';

const SERVING_TYPES: readonly string[] = ['float32', 'float64', 'int64', 'string'];

/** Which tensor types can carry a feature of a given Larder dtype. */
function accepts(type: ServingTensorType, dtype: string): boolean {
  if (type === 'string') return dtype === 'string';
  return dtype !== 'string' && !dtype.startsWith('array');
}

function width(info: OnnxValueInfo): number | undefined {
  const dim = info.shape?.[1];
  return typeof dim === 'number' ? dim : undefined;
}

/** Every problem with `spec` for this graph and service, as readable sentences; empty when fine. */
export function servingSpecIssues(info: OnnxModelInfo, spec: ModelServingSpec, serviceFeatures?: readonly ModelFeature[]): string[] {
  const issues: string[] = [];
  const graphInputs = new Map(info.inputs.map((i) => [i.name, i]));
  const known = new Map(spec.features.map((f) => [f.name, f]));
  const fed = new Set<string>();
  for (const input of spec.inputs) {
    const graph = graphInputs.get(input.input);
    if (graph === undefined) {
      issues.push(`spec input '${input.input}' is not an input of the graph (it has ${info.inputs.map((i) => i.name).join(', ') || 'none'})`);
      continue;
    }
    fed.add(input.input);
    if (graph.type !== input.type) issues.push(`input '${input.input}' is ${graph.type} in the graph but ${input.type} in the spec`);
    const w = width(graph);
    if (w !== undefined && w !== input.features.length) issues.push(`input '${input.input}' is ${w} wide in the graph but fed ${input.features.length} features`);
    for (const name of input.features) {
      const feature = known.get(name);
      if (feature === undefined) issues.push(`input '${input.input}' is fed '${name}', which is not among the model's features`);
      else if (!accepts(input.type, feature.dtype)) issues.push(`feature '${name}' (${feature.dtype}) cannot feed the ${input.type} input '${input.input}'`);
    }
  }
  for (const graph of info.inputs) {
    if (!fed.has(graph.name)) issues.push(`graph input '${graph.name}' is not fed by the spec`);
  }
  const output = info.outputs.find((o) => o.name === spec.output.name);
  if (output === undefined) issues.push(`output '${spec.output.name}' is not an output of the graph (it has ${info.outputs.map((o) => o.name).join(', ')})`);
  else if (!SERVING_TYPES.includes(output.type) || output.type === 'string') issues.push(`output '${output.name}' is ${output.type}, not a numeric tensor`);
  else {
    const w = width(output);
    if (w !== undefined && (spec.output.column ?? 0) >= w) issues.push(`output column ${spec.output.column ?? 0} is outside '${output.name}' (width ${w})`);
  }
  if (serviceFeatures !== undefined) {
    const expected = serviceFeatures.map((f) => `${f.name}:${f.dtype}`).join(', ');
    const got = spec.features.map((f) => `${f.name}:${f.dtype}`).join(', ');
    if (expected !== got) issues.push(`the model's features [${got}] differ from the service's [${expected}] (names, order and dtypes must match)`);
  }
  return issues;
}

/** Throws LARDER_E_MODEL_INVALID listing every issue, when there is any. */
export function assertServingSpec(info: OnnxModelInfo, spec: ModelServingSpec, what: string, serviceFeatures?: readonly ModelFeature[]): void {
  const issues = servingSpecIssues(info, spec, serviceFeatures);
  if (issues.length > 0) {
    throw larderError('LARDER_E_MODEL_INVALID', { what, reason: `its signature does not fit: ${issues.join('; ')}` }, { details: { issues } });
  }
}

function tensorType(info: OnnxValueInfo): ServingTensorType | undefined {
  return SERVING_TYPES.includes(info.type) ? (info.type as ServingTensorType) : undefined;
}

/**
 * A spec for a model registered without one, or undefined when its graph fits neither layout.
 * The prediction is a 2-wide float output (class probabilities, as skl2onnx writes with
 * `zipmap: False`), read at column 1, or else the first float output, or else the first numeric.
 */
export function deriveServingSpec(info: OnnxModelInfo, serviceFeatures: readonly ModelFeature[]): ModelServingSpec | undefined {
  // Class probabilities (a 2-wide float output, as skl2onnx writes beside its int64 label) win
  // over a label; otherwise the first float output, then any numeric one.
  const numeric = info.outputs.filter((o) => tensorType(o) !== undefined && o.type !== 'string');
  const floats = numeric.filter((o) => o.type === 'float32' || o.type === 'float64');
  const output = floats.find((o) => width(o) === 2) ?? floats[0] ?? numeric[0];
  if (output === undefined || serviceFeatures.length === 0) return undefined;
  const w = width(output);
  const task = w === 2 || output.type === 'int64' || numeric.some((o) => o.type === 'int64') ? 'classification' : 'regression';
  const out = { name: output.name, ...(w === 2 ? { column: 1 } : {}) };
  const byName = new Map(info.inputs.map((i) => [i.name, i]));
  if (serviceFeatures.every((f) => byName.has(f.name)) && info.inputs.length === serviceFeatures.length) {
    const inputs = serviceFeatures.map((f) => ({ input: f.name, features: [f.name], type: tensorType(byName.get(f.name)!) }));
    if (inputs.some((i) => i.type === undefined)) return undefined;
    return { task, features: serviceFeatures, inputs: inputs.map((i) => ({ ...i, type: i.type! })), output: out };
  }
  const single = info.inputs[0];
  const type = single === undefined ? undefined : tensorType(single);
  if (info.inputs.length === 1 && single !== undefined && type !== undefined && type !== 'string') {
    return { task, features: serviceFeatures, inputs: [{ input: single.name, features: serviceFeatures.map((f) => f.name), type }], output: out };
  }
  return undefined;
}
