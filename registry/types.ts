/**
 * @module registry/types
 * The definition registry's public shapes. Everything here is plain JSON so that the same values
 * are what `larder plan --json` prints, what `history.jsonl` stores and what the facade returns.
 */
import type { DefinitionSpec } from '../featurestore/define/spec.ts';

/** One applied version of a definition. Immutable once written. */
export interface RegistryObject {
  kind: string;
  name: string;
  version: number;
  /** sha256 (hex) of `canonicalJson(spec)`; also the object's file name under `objects/`. */
  hash: string;
  spec: DefinitionSpec;
  /** When this version was applied (ISO 8601). */
  appliedAt: string;
}

/** What is applied now. `serial` counts applies that changed something; 0 before the first. */
export interface RegistryState {
  project: string;
  serial: number;
  appliedAt: string | null;
  objects: RegistryObject[];
}

/** One leaf that differs between two specs, e.g. `features.avg_delay.kind`. */
export interface FieldChange {
  path: string;
  /** `undefined` when the field is new. */
  before: unknown;
  /** `undefined` when the field was removed. */
  after: unknown;
}

export type PlanAction = 'add' | 'change' | 'remove' | 'unchanged';

export interface PlanEntry {
  action: PlanAction;
  kind: string;
  name: string;
  /** The applied version before the plan (change, remove, unchanged). */
  fromVersion?: number;
  /** The version after the plan (add, change, unchanged). */
  toVersion?: number;
  /** The hash after the plan; for `remove`, the hash of the removed version. */
  hash: string;
  /** For `change`: every differing field. */
  changes?: FieldChange[];
}

export interface Plan {
  project: string;
  /** The state serial the plan was computed against. */
  baseSerial: number;
  entries: PlanEntry[];
  hasChanges: boolean;
  counts: { add: number; change: number; remove: number; unchanged: number };
}

/** One line of `history.jsonl`: an apply that changed something. */
export interface HistoryEntry {
  serial: number;
  appliedAt: string;
  /** Only `add`, `change` and `remove` entries. */
  entries: PlanEntry[];
  user?: string;
  host: string;
}

/** What a training dataset was built from, so that it can be rebuilt and compared. */
export interface DatasetManifest {
  id: string;
  createdAt: string;
  request: unknown;
  /** The applied objects the dataset read, at the versions it read them; `kind` tells views from entities and sources. */
  views: { kind?: string; name: string; version: number; hash: string }[];
  sources: unknown[];
  rows: number;
  contentHash: string;
  output: { path: string; format: 'parquet'; bytes: number; sha256?: string };
  /** The output's feature columns, as the dataset writer records them. */
  columns?: { name: string; ref?: string; dtype?: string }[];
  profile?: unknown;
}

export interface ApplyOptions {
  /** Refuse (LARDER_E_REGISTRY_STALE_PLAN) when the registry's serial is no longer this one. */
  expectedSerial?: number;
  signal?: AbortSignal;
}

/** The registry contract the facade and the CLI use; `openFileRegistry` is the embedded one. */
export interface DefinitionRegistry {
  /** The applied state; an empty state (serial 0) when nothing was applied yet. */
  state(): Promise<RegistryState>;
  /**
   * Compares specs with the applied state. Entries are ordered by kind (entity, source,
   * featureView, onDemandView, featureService, then any other kind alphabetically), then name.
   */
  plan(specs: readonly DefinitionSpec[]): Promise<Plan>;
  /**
   * Applies specs under the lock: re-plans against the current state, writes changed objects,
   * appends one history entry and writes the new state. Versions go 1 on add and +1 on change,
   * and are never reused (a removed then re-added object continues its numbering). An apply with
   * nothing to change writes nothing. Returns the plan applied.
   */
  apply(specs: readonly DefinitionSpec[], options?: ApplyOptions): Promise<Plan>;
  /** Applies that changed something, oldest first; a filter keeps only the matching entries. */
  history(filter?: { kind?: string; name?: string }): Promise<HistoryEntry[]>;
  /** The applied object, or a given past version of it; `undefined` when there is none. */
  object(kind: string, name: string, version?: number): Promise<RegistryObject | undefined>;
  /** Runs fn holding the exclusive registry lock. Re-entrant within the same registry instance. */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  saveManifest(manifest: DatasetManifest): Promise<void>;
  /** @throws LARDER_E_DATASET_NOT_FOUND */
  getManifest(id: string): Promise<DatasetManifest>;
  /** Every manifest, oldest first (by createdAt, then id). */
  listManifests(): Promise<DatasetManifest[]>;
  getRecord<T>(key: string): Promise<T | undefined>;
  /** Atomic read-modify-write of a small JSON record under the registry lock. */
  updateRecord<T>(key: string, fn: (old: T | undefined) => T): Promise<T>;
}
