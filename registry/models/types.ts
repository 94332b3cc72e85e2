/**
 * @module registry/models/types
 * The model registry's records: immutable versions, status changes and alias moves.
 */
import type { OnnxOpset, OnnxValueInfo } from './onnx.ts';
import type { VersionBump } from './semver.ts';
import type { ModelFeature, ModelServingSpec } from './serving-spec.ts';

/** `registered → approved → deployed`, plus `rejected` and `archived`. */
export type ModelStatus = 'registered' | 'approved' | 'deployed' | 'archived' | 'rejected';

export const MODEL_STATUSES: readonly ModelStatus[] = ['registered', 'approved', 'deployed', 'archived', 'rejected'];

/** Who did something and why; `who` defaults to the OS user. */
export interface Actor {
  readonly who?: string;
  readonly why?: string;
}

export interface RegisterInput extends Actor {
  readonly name: string;
  /** The ONNX bytes, or the path of an ONNX file. */
  readonly artifact: Uint8Array | string;
  /** The feature service the model reads its inputs from. */
  readonly featureService?: string;
  /** The applied version of that feature service (definition registry). */
  readonly featureServiceVersion?: number;
  /**
   * The service's features as they are now (names, order, dtypes). When given, the model's
   * inputs are checked against them; without `serving`, a spec is derived from them.
   */
  readonly serviceFeatures?: readonly ModelFeature[];
  /** How to feed the model; trainers provide it, bring-your-own models get one derived. */
  readonly serving?: ModelServingSpec;
  /** The label column it was trained on. */
  readonly label?: string;
  readonly metrics?: Readonly<Record<string, number>>;
  /** Hyperparameters. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Id of the dataset manifest it was trained on (`ds_…`). */
  readonly dataset?: string;
  /** Commit of the feature repository, when it is a git checkout. */
  readonly gitCommit?: string;
}

/** One registered version: written once, never changed. */
export interface ModelVersion {
  readonly name: string;
  readonly version: string;
  /** Why this number: first version, same inputs (minor) or changed inputs (major). */
  readonly bump: VersionBump;
  readonly previous: string | null;
  readonly sha256: string;
  readonly size: number;
  readonly registeredAt: string;
  readonly registeredBy: string;
  readonly signature: { readonly inputs: readonly OnnxValueInfo[]; readonly outputs: readonly OnnxValueInfo[] };
  readonly onnx: {
    readonly irVersion: number;
    readonly opset: number | null;
    readonly opsets: readonly OnnxOpset[];
    readonly producerName: string;
    readonly producerVersion: string;
  };
  /** How serving and batch scoring feed this version (absent: not servable by name). */
  readonly serving?: ModelServingSpec;
  readonly lineage: {
    readonly featureService?: string;
    readonly featureServiceVersion?: number;
    readonly label?: string;
    readonly dataset?: string;
    readonly gitCommit?: string;
    readonly params?: Readonly<Record<string, unknown>>;
    readonly metrics?: Readonly<Record<string, number>>;
  };
}

/** A version with its current status and the aliases that point at it. */
export interface ModelVersionView extends ModelVersion {
  readonly status: ModelStatus;
  readonly aliases: readonly string[];
}

/** A line of `history.jsonl`. */
export interface StatusChange {
  readonly version: string;
  readonly from: ModelStatus | null;
  readonly to: ModelStatus;
  readonly who: string;
  readonly at: string;
  readonly why?: string;
}

/** A line of `deploys.jsonl`: an alias set (`to`), moved, or removed (`to: null`). */
export interface AliasMove {
  readonly alias: string;
  readonly from: string | null;
  readonly to: string | null;
  /** Set on a move made by `rollback`. */
  readonly rollback?: boolean;
  readonly who: string;
  readonly at: string;
  readonly why?: string;
}

export interface ModelSummary {
  readonly name: string;
  readonly versions: number;
  readonly latest: string;
  readonly aliases: Readonly<Record<string, string>>;
}
