/**
 * @module registry/models/lineage
 * A model version's lineage, resolved: the dataset manifest it was trained on and, through it,
 * the feature view versions and source fingerprints; the feature service's version then and now;
 * the git commit, hyperparameters and metrics. Missing links are reported, not fatal: a model
 * trained elsewhere may have no dataset.
 */
import { isLarderError } from '../../errors.ts';
import type { DefinitionRegistry } from '../types.ts';
import type { ModelVersion } from './types.ts';

export interface ResolvedLineage {
  readonly dataset: null | {
    readonly id: string;
    readonly createdAt?: string;
    readonly rows?: number;
    readonly contentHash?: string;
    readonly output?: { readonly path: string; readonly sha256?: string };
    readonly views?: readonly { readonly kind?: string; readonly name: string; readonly version: number; readonly hash: string }[];
    readonly sources?: readonly unknown[];
    /** Set when the manifest cannot be read (deleted, corrupt). */
    readonly missing?: string;
  };
  readonly featureService: null | {
    readonly name: string;
    /** The version the model was trained against. */
    readonly version: number | null;
    /** The version applied now; differs when the service changed since. */
    readonly current: number | null;
  };
  readonly label: string | null;
  readonly gitCommit: string | null;
  readonly params: Readonly<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, number>>;
}

/** Follows a version's lineage into the definition registry and its dataset manifests. */
export async function resolveLineage(version: ModelVersion, definitions: DefinitionRegistry): Promise<ResolvedLineage> {
  const { lineage } = version;
  let dataset: ResolvedLineage['dataset'] = null;
  if (lineage.dataset !== undefined) {
    try {
      const m = await definitions.getManifest(lineage.dataset);
      dataset = {
        id: m.id, createdAt: m.createdAt, rows: m.rows, contentHash: m.contentHash,
        output: { path: m.output.path, ...(m.output.sha256 === undefined ? {} : { sha256: m.output.sha256 }) },
        views: m.views, sources: m.sources,
      };
    } catch (error) {
      if (!isLarderError(error)) throw error;
      dataset = { id: lineage.dataset, missing: `${error.code}: ${error.message}` };
    }
  }
  let featureService: ResolvedLineage['featureService'] = null;
  if (lineage.featureService !== undefined) {
    const current = await definitions.object('featureService', lineage.featureService);
    featureService = { name: lineage.featureService, version: lineage.featureServiceVersion ?? null, current: current?.version ?? null };
  }
  return {
    dataset, featureService,
    label: lineage.label ?? null,
    gitCommit: lineage.gitCommit ?? null,
    params: lineage.params ?? {},
    metrics: lineage.metrics ?? {},
  };
}
