/**
 * @module store
 * `openStore` and the `FeatureStore` facade: loads a project and hands each call to the part
 * that owns it (registry, offline store, dataset writer). It holds no logic of its own.
 */
import { larderError } from '../errors.ts';
import { openFileRegistry, type DatasetManifest, type DefinitionRegistry, type Plan } from '../registry/index.ts';
import { openModelRegistry, type ModelRegistry } from '../registry/models/store.ts';
import type { ModelFeature } from '../registry/models/serving-spec.ts';
import { dtypeName } from './define/dtypes.ts';
import { applyProject, assertValidDefinitions, planProject, type PlanResult } from './apply.ts';
import type { ResolvedConfig } from './config.ts';
import type { DatasetContext } from './dataset-context.ts';
import { rebuildDataset, writeDataset, type DatasetRequest, type RebuildResult } from './datasets.ts';
import type { DefinitionIssue, ProjectDefinitions } from './define/project.ts';
import { selectFeatures } from './define/selection.ts';
import { loadProject } from './load.ts';
import {
  materialize, materializeIncremental, type MaterializeContext, type MaterializeIncrementalRequest, type MaterializeRequest,
  type MaterializeResult,
} from './materialize.ts';
import type { OfflineStore, RetrievalJob } from './offline/store.ts';
import { openOnlineStore } from './open-online.ts';
import { getOnlineFeatures, type OnlineFeaturesRequest, type OnlineFeaturesResponse } from './online-read.ts';
import { push, type PushOptions, type PushResult } from './push.ts';
import type { OnlineStore } from './online/store.ts';

export interface OpenStoreOptions {
  /** The project folder, holding `larder.config.ts`. Defaults to the current directory. */
  readonly dir?: string;
}

/** The Larder TypeScript API for one project. Close it when done. */
export class FeatureStore {
  readonly config: ResolvedConfig;
  readonly project: ProjectDefinitions;
  /** Problems found in the definitions when the project was loaded. */
  readonly issues: readonly DefinitionIssue[];
  readonly registry: DefinitionRegistry;
  readonly offline: OfflineStore;
  readonly modules: readonly string[];
  #online: Promise<OnlineStore> | undefined;

  constructor(parts: {
    config: ResolvedConfig; project: ProjectDefinitions; issues: readonly DefinitionIssue[];
    registry: DefinitionRegistry; offline: OfflineStore; modules: readonly string[];
  }) {
    this.config = parts.config;
    this.project = parts.project;
    this.issues = parts.issues;
    this.registry = parts.registry;
    this.offline = parts.offline;
    this.modules = parts.modules;
  }

  /** What `apply` would change, with every problem in definitions and source schemas. */
  plan(): Promise<PlanResult> {
    return planProject(this.project, this.issues, this.registry, this.offline);
  }

  /** Checks definitions and sources and records them in the registry; returns the plan applied. */
  apply(options: { signal?: AbortSignal } = {}): Promise<Plan> {
    return applyProject(this.project, this.issues, this.registry, this.offline, options.signal);
  }

  /**
   * A point-in-time-correct training frame for the entity rows.
   * @example await store.getHistoricalFeatures({ entities: 'entities.parquet', service: 'delay_model' }).toArrow();
   */
  getHistoricalFeatures(request: DatasetRequest): RetrievalJob {
    assertValidDefinitions(this.issues);
    const selection = selectFeatures(this.project, {
      ...(request.features === undefined ? {} : { features: request.features }),
      ...(request.service === undefined ? {} : { service: request.service }),
      fullFeatureNames: request.fullFeatureNames ?? false,
    });
    return this.offline.getHistoricalFeatures({
      project: this.project, selection, entities: request.entities,
      timestampColumn: request.timestampColumn ?? this.config.entityTimestampColumn,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    });
  }

  /** Writes a dataset to Parquet and records its manifest (views must be applied). */
  writeDataset(request: DatasetRequest, out: string): Promise<DatasetManifest> {
    assertValidDefinitions(this.issues);
    return writeDataset(this.datasetContext(), request, out);
  }

  /** Rebuilds a recorded dataset into `out` and says whether its content is identical. */
  rebuildDataset(id: string, out: string, options: { signal?: AbortSignal } = {}): Promise<RebuildResult> {
    return rebuildDataset(this.datasetContext(), id, out, options.signal);
  }

  /** The model registry kept beside the definition registry (same folder, same lock). */
  models(): ModelRegistry {
    return openModelRegistry({ dir: this.config.registry.path, lockWaitMs: 30_000 });
  }

  /**
   * A feature service's output columns as a model sees them (names, order, dtypes), and the
   * service's applied version (null before `apply`).
   */
  async serviceFeatures(service: string): Promise<{ features: ModelFeature[]; version: number | null }> {
    assertValidDefinitions(this.issues);
    const selection = selectFeatures(this.project, { service });
    const applied = await this.registry.object('featureService', service);
    return { features: selection.columns.map((c) => ({ name: c.column, dtype: dtypeName(c.dtype) })), version: applied?.version ?? null };
  }

  /** The project's online store, connected on first use (Redis or the embedded memory store). */
  onlineStore(): Promise<OnlineStore> {
    this.#online ??= openOnlineStore(this.config);
    return this.#online;
  }

  /**
   * The latest feature values of entity rows, with statuses, in one online round trip.
   * @example await store.getOnlineFeatures({ service: 'delay_model', entities: [{ origin: 'SFO' }] });
   */
  async getOnlineFeatures(request: OnlineFeaturesRequest): Promise<OnlineFeaturesResponse> {
    assertValidDefinitions(this.issues);
    const online = await this.onlineStore();
    return getOnlineFeatures({ projectName: this.config.project, project: this.project, online }, request);
  }

  /**
   * Pushes rows to a push source: online (every view on it), offline (a new Parquet file) or both.
   * Every row is checked first; a bad batch writes nothing.
   * @example await store.push('trip_events', [{ driver_id: 1, speed: 42.5, ts: new Date() }], { to: 'both' });
   */
  push(source: string, rows: readonly Record<string, unknown>[], options: PushOptions = {}): Promise<PushResult> {
    assertValidDefinitions(this.issues);
    return push({ projectName: this.config.project, project: this.project, online: () => this.onlineStore(), offline: this.offline }, source, rows, options);
  }

  /**
   * Writes per entity of each view the latest row with `start <= event_ts <= end` to the online store.
   * @example await store.materialize({ start: new Date('2026-03-01'), end: new Date() });
   */
  async materialize(request: MaterializeRequest): Promise<MaterializeResult[]> {
    assertValidDefinitions(this.issues);
    return materialize(await this.materializeContext(), request);
  }

  /** Continues each view from its watermark in the registry to `end` (default now). */
  async materializeIncremental(request: MaterializeIncrementalRequest = {}): Promise<MaterializeResult[]> {
    assertValidDefinitions(this.issues);
    return materializeIncremental(await this.materializeContext(), request);
  }

  private async materializeContext(): Promise<MaterializeContext> {
    return { projectName: this.config.project, project: this.project, registry: this.registry, offline: this.offline, online: await this.onlineStore() };
  }

  async close(): Promise<void> {
    const online = this.#online;
    this.#online = undefined;
    await Promise.all([this.offline.close(), online?.then((o) => o.close(), () => undefined)]);
  }

  private datasetContext(): DatasetContext {
    return {
      dir: this.config.dir, project: this.project, registry: this.registry, registryDir: this.config.registry.path,
      offline: this.offline, timestampColumn: this.config.entityTimestampColumn,
    };
  }
}

/**
 * Opens the project in `dir`: loads its config and feature modules and connects the stores.
 * @example const store = await openStore({ dir: 'fixtures/example' }); await store.apply();
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<FeatureStore> {
  const loaded = await loadProject(options.dir ?? process.cwd());
  const { config } = loaded;
  const registry = openFileRegistry({ dir: config.registry.path, project: config.project });
  // Loaded here, not at import: feature modules import `larder` and must not pull in DuckDB.
  const { createDuckDBOfflineStore } = await import('./offline/duckdb-store.ts');
  const offline = await createDuckDBOfflineStore({
    path: config.offline.path,
    projectDir: config.dir,
    ...(config.offline.memoryLimit === undefined ? {} : { memoryLimit: config.offline.memoryLimit }),
    ...(config.offline.threads === undefined ? {} : { threads: config.offline.threads }),
  }).catch((cause: unknown) => {
    throw cause instanceof Error && 'code' in cause ? cause : larderError('LARDER_E_IO', { path: config.offline.path, reason: String(cause) }, { cause });
  });
  return new FeatureStore({ ...loaded, project: loaded.project, issues: loaded.issues, registry, offline, modules: loaded.modules });
}
