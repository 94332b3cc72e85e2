/**
 * @module registry/models
 * The model registry: ONNX artifacts stored by sha256 and verified on every load, semantic
 * versions (minor by default, major when the input signature changes), lineage, a status
 * workflow (`registered → approved → deployed`, plus `rejected` and `archived`) and aliases
 * such as `champion`, with append-only status and deploy histories. See docs/models.md.
 */
export { openModelRegistry, ModelRegistry } from './store.ts';
export type { ModelRegistryOptions, RegisterResult } from './store.ts';
export { readOnnxModel, ONNX_ELEM_TYPES } from './onnx.ts';
export type { OnnxDim, OnnxElemType, OnnxModelInfo, OnnxOpset, OnnxValueInfo } from './onnx.ts';
export { buildOnnxModel, identityModel, linearModel } from './onnx-build.ts';
export type { AttributeValue, InitializerSpec, LinearModelSpec, NodeSpec, OnnxGraphSpec, OnnxModelOptions, TensorValueSpec } from './onnx-build.ts';
export { nextVersion } from './semver.ts';
export type {
  Actor, AliasMove, ModelStatus, ModelSummary, ModelVersion, ModelVersionView, RegisterInput, StatusChange,
} from './types.ts';
