/**
 * @module validation/inputs
 * What the CLI's X and Y name: a Parquet or CSV file (or glob) read in place, a profile saved
 * by `larder profile --out` (JSON), which stands in for its data as a reference, or a name in
 * the project: a batch source or feature view (read through its source's relation; a view
 * brings its features' declared `.expect(...)` and its source's event-time column), a dataset
 * id (its Parquet output, with the expectations its features declared at the versions it
 * read), or a profile saved in the registry by `larder profile --save` (`profile:NAME` when
 * the name is also a source, view or dataset).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isLarderError, larderError, reasonOf } from '../errors.ts';
import { loadProject, type LoadedProject } from '../featurestore/load.ts';
import { sourceRelation } from '../featurestore/offline/sources.ts';
import { quoteIdent } from '../featurestore/offline/sql.ts';
import type { DTypeSpec, Expectations } from '../featurestore/define/dtypes.ts';
import type { DatasetManifest, DefinitionRegistry } from '../registry/index.ts';
import { expectationsOf } from './expectations-of.ts';
import type { DataInput } from './profile.ts';
import type { DatasetProfile } from './profile-types.ts';
import { loadProfile, registryOf } from './store.ts';

export function resolveDataArg(arg: string, projectDir: string, flag: string): DataInput | DatasetProfile {
  const path = isAbsolute(arg) ? arg : resolve(projectDir, arg);
  if (/\.json$/i.test(path)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw larderError('LARDER_E_IO', { path, reason: reasonOf(error) }, { cause: error });
    }
    const p = parsed as DatasetProfile;
    if (p?.version !== 1 || !Array.isArray(p.columns)) throw larderError('LARDER_E_USAGE', { reason: `${flag} ${arg} is JSON but not a profile saved by larder profile --out` });
    return p;
  }
  if (/\.(parquet|csv|tsv)(\.gz|\.zst)?$/i.test(path) || /[*?]/.test(path)) return { path };
  throw larderError('LARDER_E_USAGE', { reason: `${flag} ${arg}: expected a .parquet or .csv file (or a glob), a profile .json, a source, feature view or dataset id, or profile:NAME` });
}

/** What an argument named. `source`, `view` and `dataset` carry their name (or id). */
export type InputKind = 'file' | 'profile-file' | 'saved-profile' | 'source' | 'view' | 'dataset';

export interface ResolvedInput {
  readonly input: DataInput | DatasetProfile;
  readonly kind: InputKind;
  /** The source, view, dataset or saved profile name. */
  readonly name?: string;
  readonly expectations?: Record<string, Expectations>;
  readonly eventTimestamp?: string;
  /** A saved profile's earlier row counts (its own included), for the row-count check. */
  readonly rowCountHistory?: readonly number[];
}

/** Names look like `[a-z][a-z0-9_]*` (dataset ids `ds_…` too); anything else is a path. */
const NAME = /^[a-z][a-z0-9_]*$/;
const SAVED = /^profile:(.+)$/;

/**
 * The expectations a dataset's columns had when it was built: each column's feature as declared
 * in the view version the manifest recorded (the applied spec in the registry).
 */
async function datasetExpectations(registry: DefinitionRegistry, manifest: DatasetManifest): Promise<Record<string, Expectations>> {
  const byView = new Map<string, Record<string, Expectations>>();
  for (const v of manifest.views) {
    if (v.kind !== 'featureView' && v.kind !== 'onDemandView') continue;
    const object = await registry.object(v.kind, v.name, v.version);
    const features = (object?.spec as { features?: Record<string, DTypeSpec> } | undefined)?.features;
    if (features) byView.set(v.name, expectationsOf(features));
  }
  const out: Record<string, Expectations> = {};
  for (const c of manifest.columns ?? []) {
    const at = c.ref?.lastIndexOf(':') ?? -1;
    if (c.ref === undefined || at < 0) continue;
    const e = byView.get(c.ref.slice(0, at))?.[c.ref.slice(at + 1)];
    if (e) out[c.name] = e;
  }
  return out;
}

/**
 * Resolves CLI arguments against one project folder, loading the project (and opening its
 * registry) at most once, and only when an argument is a name.
 */
export class InputResolver {
  readonly #dir: string;
  #loaded: Promise<LoadedProject> | undefined;

  constructor(projectDir: string) {
    this.#dir = projectDir;
  }

  project(): Promise<LoadedProject> {
    this.#loaded ??= loadProject(this.#dir);
    return this.#loaded;
  }

  async registry(): Promise<DefinitionRegistry> {
    return registryOf((await this.project()).config);
  }

  async #savedProfile(name: string, flag: string): Promise<ResolvedInput | undefined> {
    const saved = await loadProfile(await this.registry(), name);
    if (!saved) return undefined;
    if (flag === '--current') throw larderError('LARDER_E_USAGE', { reason: `${flag} ${name} is a saved profile; ${flag} must be data` });
    return { input: saved.profile, kind: 'saved-profile', name, rowCountHistory: saved.history.map((h) => h.rows) };
  }

  async #dataset(id: string): Promise<ResolvedInput | undefined> {
    const registry = await this.registry();
    let manifest: DatasetManifest;
    try {
      manifest = await registry.getManifest(id);
    } catch (error) {
      if (isLarderError(error) && error.code === 'LARDER_E_DATASET_NOT_FOUND') return undefined;
      throw error;
    }
    const timestamp = (manifest.request as { timestampColumn?: unknown } | null)?.timestampColumn;
    return {
      input: { path: manifest.output.path }, kind: 'dataset', name: id, expectations: await datasetExpectations(registry, manifest),
      ...(typeof timestamp === 'string' ? { eventTimestamp: timestamp } : {}),
    };
  }

  /** Like {@link resolveDataArg}, and a name is looked up among views, batch sources, datasets and saved profiles, in that order. */
  async resolve(arg: string, flag: string): Promise<ResolvedInput> {
    const saved = SAVED.exec(arg)?.[1];
    if (saved !== undefined) {
      const found = await this.#savedProfile(saved, flag);
      if (!found) throw larderError('LARDER_E_USAGE', { reason: `${flag} ${arg}: no profile saved as ${saved} (larder profile … --save ${saved})` });
      return found;
    }
    if (!NAME.test(arg)) {
      const input = resolveDataArg(arg, this.#dir, flag);
      return { input, kind: isProfile(input) ? 'profile-file' : 'file' };
    }
    const { project } = await this.project();
    const view = project.views.get(arg);
    if (view) {
      const source = view.source;
      const relation = sourceRelation(source, this.#dir);
      // An aggregation view's features are computed, not columns: profile its source as it is.
      const columns = view.aggregations ? null : [...new Set([source.timestamp, ...Object.keys(view.features)])];
      const input: DataInput = { relation: columns ? `(SELECT ${columns.map(quoteIdent).join(', ')} FROM ${relation})` : relation };
      return { input, kind: 'view', name: arg, expectations: view.aggregations ? {} : expectationsOf(view.features), eventTimestamp: source.timestamp };
    }
    const source = project.sources.get(arg);
    if (source && source.type !== 'request') {
      return {
        input: { relation: sourceRelation(source, this.#dir) }, kind: 'source', name: arg,
        expectations: source.type === 'push' ? expectationsOf(source.schema) : {}, eventTimestamp: source.timestamp,
      };
    }
    const found = (await this.#dataset(arg)) ?? (await this.#savedProfile(arg, flag));
    if (found) return found;
    throw larderError('LARDER_E_USAGE', { reason: `${flag} ${arg}: no batch source, feature view, dataset or saved profile of that name in ${this.#dir}` });
  }
}

/** Resolves one argument; see {@link InputResolver} to resolve several against one project load. */
export function resolveInput(arg: string, projectDir: string, flag: string): Promise<ResolvedInput> {
  return new InputResolver(projectDir).resolve(arg, flag);
}

export function isProfile(value: DataInput | DatasetProfile): value is DatasetProfile {
  return (value as DatasetProfile).version === 1 && Array.isArray((value as DatasetProfile).columns);
}
