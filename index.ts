/**
 * @module larder
 * Larder's public entry: the definition DSL users write feature modules with, `defineConfig`
 * for `larder.config.ts`, `openStore` for the TypeScript API, and the error type.
 */
export * from './featurestore/define/index.ts';
export { ERROR_CODES, LarderError, isLarderError, larderError } from './errors.ts';
export type { ErrorCode } from './errors.ts';
export { defineConfig } from './featurestore/config.ts';
export type { LarderConfig, ResolvedConfig } from './featurestore/config.ts';
export { openStore, FeatureStore } from './featurestore/store.ts';
export type { OpenStoreOptions } from './featurestore/store.ts';
export type { DatasetRequest, RebuildResult } from './featurestore/datasets.ts';
export type {
  MaterializeIncrementalRequest, MaterializeProgress, MaterializeRequest, MaterializeResult,
} from './featurestore/materialize.ts';
export type { PlanResult } from './featurestore/apply.ts';
export type { FeatureStatus, OnlineFeatureRow, OnlineFeaturesRequest, OnlineFeaturesResponse } from './featurestore/online-read.ts';
export type { PushOptions, PushResult, PushTarget } from './featurestore/push.ts';
