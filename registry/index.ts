/**
 * @module registry
 * The definition registry (plan, apply, diff, history, versions) and the dataset-manifest store,
 * kept as plain files under `registry.path`:
 *
 * ```
 * <dir>/
 *   state.json         what is applied now: { format, project, serial, appliedAt, objects[] }
 *                      (a snapshot of the history; replaced atomically)
 *   history.jsonl      one line per apply that changed something, serials 1..n, append-only;
 *                      the commit point of an apply
 *   objects/<sha256>.json   every spec version ever applied, canonical JSON, named by its hash,
 *                      never modified (re-hashed on read)
 *   datasets/<id>.json dataset manifests (ids `ds_<yyyymmddhhmmss>_<6 hex>`); other files there
 *                      (e.g. `<id>.entities.json`) belong to the dataset writer
 *   records/<key>.json small keyed JSON records (materialization watermarks, …)
 *   lock               present while a process holds the registry: { pid, host, since, token }
 *   lock.takeover      present for an instant while a stale lock is being replaced
 *   .<name>.<pid>.<hex>.tmp   temp files of atomic writes; one left by a crash is ignored
 * ```
 *
 * Every file is replaced by temp file + fsync + rename. An apply, under the lock, writes its
 * objects, then appends its history line, then writes `state.json`. A crash before the history
 * line leaves only unreferenced objects (harmless); a crash after it leaves `state.json` one
 * apply behind, and readers replay the missing history lines, so the apply counts as done. A
 * torn last history line (no newline) is an apply that did not commit: readers ignore it and the
 * next apply cuts it off. Any other damage is LARDER_E_REGISTRY_CORRUPT naming the file.
 */
export { openFileRegistry } from './definitions-registry.ts';
export type { FileRegistryOptions } from './definitions-registry.ts';
export { formatPlan } from './format.ts';
export { diffSpecs } from './diff.ts';
export { computePlan, hashSpec, KIND_ORDER } from './plan.ts';
export type { PlanBase } from './plan.ts';
export { newDatasetId } from './manifests.ts';
export { writeFileAtomic } from './atomic.ts';
export type {
  ApplyOptions, DatasetManifest, DefinitionRegistry, FieldChange, HistoryEntry, Plan, PlanAction, PlanEntry,
  RegistryObject, RegistryState,
} from './types.ts';
