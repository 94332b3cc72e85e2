/**
 * @module registry/definitions-registry
 * The file-based {@link DefinitionRegistry}. The layout and the crash-safety argument are in
 * `registry/index.ts`; this file orders the steps: objects, then the history line (the commit
 * point), then `state.json` (a snapshot that readers bring up to date from the history when a
 * crash left it behind).
 */
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { larderError } from '../errors.ts';
import type { DefinitionSpec } from '../featurestore/define/spec.ts';
import { appendLine, readJsonIfExists, writeFileAtomic } from './atomic.ts';
import { dropTornTail, filterHistory, readHistory, versionsOf, type HistoryFile } from './history.ts';
import { RegistryLock } from './lock.ts';
import * as manifests from './manifests.ts';
import { readObject, writeObject } from './objects.ts';
import { compareKindName, computePlan, hashSpec, objectKey } from './plan.ts';
import { readRecord, writeRecord } from './records.ts';
import { asState, checkShape, STATE_FORMAT, stateFileSchema, type StateFile } from './schemas.ts';
import type {
  ApplyOptions, DatasetManifest, DefinitionRegistry, HistoryEntry, Plan, RegistryObject, RegistryState,
} from './types.ts';

export interface FileRegistryOptions {
  /** The registry folder (`registry.path` in the config); created on first write. */
  dir: string;
  project: string;
  /** How long to wait for another process's lock before LARDER_E_REGISTRY_LOCKED; default 0. */
  lockWaitMs?: number;
}

/** The applied state together with the history it was derived from. */
interface Committed {
  state: StateFile;
  history: HistoryFile;
  /** True when `state.json` was behind the history (a crash after the commit point). */
  behind: boolean;
}

function currentUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return process.env['USER'] ?? process.env['USERNAME'];
  }
}

function abortIfNeeded(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw larderError('LARDER_E_ABORTED', { what: 'registry apply' }, { cause: signal.reason });
}

class FileDefinitionRegistry implements DefinitionRegistry {
  readonly #project: string;
  readonly #paths: { state: string; history: string; objects: string; datasets: string; records: string };
  readonly #lock: RegistryLock;

  constructor(options: FileRegistryOptions) {
    const { dir } = options;
    this.#project = options.project;
    this.#paths = {
      state: join(dir, 'state.json'), history: join(dir, 'history.jsonl'), objects: join(dir, 'objects'),
      datasets: join(dir, 'datasets'), records: join(dir, 'records'),
    };
    this.#lock = new RegistryLock(join(dir, 'lock'), options.lockWaitMs ?? 0);
  }

  async #readStateFile(): Promise<StateFile> {
    const path = this.#paths.state;
    const raw = await readJsonIfExists(path);
    if (raw === undefined) return { format: STATE_FORMAT, project: this.#project, serial: 0, appliedAt: null, objects: [] };
    const state = asState(checkShape(stateFileSchema, raw, path));
    if (state.project !== this.#project) {
      throw larderError('LARDER_E_REGISTRY_PROJECT_MISMATCH', { path, found: state.project, project: this.#project });
    }
    for (const o of state.objects) {
      if (hashSpec(o.spec) !== o.hash) {
        throw larderError('LARDER_E_REGISTRY_CORRUPT', { path, reason: `the spec of ${o.kind} ${o.name} v${o.version} does not match its hash` });
      }
    }
    return state;
  }

  /** Reads state.json and brings it up to the last committed history line. */
  async #committed(historyRead?: HistoryFile): Promise<Committed> {
    // State first: any state we can read had its history line appended before it was written.
    // (Callers holding the lock may pass the history they already read: nothing moves then.)
    const snapshot = await this.#readStateFile();
    const history = historyRead ?? await readHistory(this.#paths.history);
    const last = history.entries.length;
    if (snapshot.serial > last) {
      throw larderError('LARDER_E_REGISTRY_CORRUPT', {
        path: this.#paths.state, reason: `it is at serial ${snapshot.serial} but ${this.#paths.history} ends at ${last}`,
      });
    }
    if (snapshot.serial === last) return { state: snapshot, history, behind: false };
    const objects = new Map(snapshot.objects.map((o) => [objectKey(o.kind, o.name), o]));
    let appliedAt = snapshot.appliedAt;
    for (const applied of history.entries.slice(snapshot.serial)) {
      for (const e of applied.entries) {
        const key = objectKey(e.kind, e.name);
        if (e.action === 'remove') objects.delete(key);
        else if (e.toVersion !== undefined) {
          const spec = await readObject(this.#paths.objects, e.hash);
          objects.set(key, { kind: e.kind, name: e.name, version: e.toVersion, hash: e.hash, spec, appliedAt: applied.appliedAt });
        }
      }
      appliedAt = applied.appliedAt;
    }
    const state: StateFile = { ...snapshot, serial: last, appliedAt, objects: [...objects.values()].sort(compareKindName) };
    return { state, history, behind: true };
  }

  async state(): Promise<RegistryState> {
    const { state } = await this.#committed();
    return { project: state.project, serial: state.serial, appliedAt: state.appliedAt, objects: state.objects };
  }

  async plan(specs: readonly DefinitionSpec[]): Promise<Plan> {
    const { state, history } = await this.#committed();
    return computePlan({ ...state, versions: versionsOf(history.entries) }, specs);
  }

  async apply(specs: readonly DefinitionSpec[], options: ApplyOptions = {}): Promise<Plan> {
    const { signal, expectedSerial } = options;
    abortIfNeeded(signal);
    return this.#lock.run(async () => {
      abortIfNeeded(signal);
      const read = await readHistory(this.#paths.history);
      await dropTornTail(this.#paths.history, read);
      const { state, history, behind } = await this.#committed(read);
      if (expectedSerial !== undefined && state.serial !== expectedSerial) {
        throw larderError('LARDER_E_REGISTRY_STALE_PLAN', { expected: expectedSerial, actual: state.serial }, {
          details: { expectedSerial, serial: state.serial },
        });
      }
      const plan = computePlan({ ...state, versions: versionsOf(history.entries) }, specs);
      if (!plan.hasChanges) {
        if (behind) await this.#writeState(state);
        return plan;
      }
      const bySpec = new Map(specs.map((s) => [objectKey(s.kind, s.name), s]));
      const appliedAt = new Date().toISOString();
      const objects: RegistryObject[] = [];
      for (const entry of plan.entries) {
        if (entry.action === 'remove') continue;
        const spec = bySpec.get(objectKey(entry.kind, entry.name));
        if (!spec || entry.toVersion === undefined) continue; // computePlan gives every non-removed entry both
        if (entry.action !== 'unchanged') await writeObject(this.#paths.objects, spec, entry.hash);
        const previous = state.objects.find((o) => o.kind === entry.kind && o.name === entry.name);
        objects.push(entry.action === 'unchanged' && previous ? previous : { kind: entry.kind, name: entry.name, version: entry.toVersion, hash: entry.hash, spec, appliedAt });
      }
      // The last point where giving up leaves no trace: after the history line, the apply is done.
      abortIfNeeded(signal);
      const user = currentUser();
      const line: HistoryEntry = {
        serial: state.serial + 1, appliedAt, entries: plan.entries.filter((e) => e.action !== 'unchanged'),
        ...(user === undefined ? {} : { user }), host: hostname(),
      };
      await appendLine(this.#paths.history, JSON.stringify(line));
      await this.#writeState({ format: STATE_FORMAT, project: this.#project, serial: line.serial, appliedAt, objects });
      return plan;
    });
  }

  async #writeState(state: StateFile): Promise<void> {
    await writeFileAtomic(this.#paths.state, `${JSON.stringify(state, null, 2)}\n`);
  }

  async history(filter: { kind?: string; name?: string } = {}): Promise<HistoryEntry[]> {
    return filterHistory((await readHistory(this.#paths.history)).entries, filter);
  }

  async object(kind: string, name: string, version?: number): Promise<RegistryObject | undefined> {
    const { state, history } = await this.#committed();
    const current = state.objects.find((o) => o.kind === kind && o.name === name);
    if (version === undefined || current?.version === version) return current;
    for (const applied of history.entries) {
      const entry = applied.entries.find((e) => e.kind === kind && e.name === name && e.action !== 'remove' && e.toVersion === version);
      if (entry) {
        const spec = await readObject(this.#paths.objects, entry.hash);
        return { kind, name, version, hash: entry.hash, spec, appliedAt: applied.appliedAt };
      }
    }
    return undefined;
  }

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(fn);
  }

  saveManifest(manifest: DatasetManifest): Promise<void> {
    return manifests.saveManifest(this.#paths.datasets, manifest);
  }

  getManifest(id: string): Promise<DatasetManifest> {
    return manifests.getManifest(this.#paths.datasets, id);
  }

  listManifests(): Promise<DatasetManifest[]> {
    return manifests.listManifests(this.#paths.datasets);
  }

  getRecord<T>(key: string): Promise<T | undefined> {
    return readRecord<T>(this.#paths.records, key);
  }

  updateRecord<T>(key: string, fn: (old: T | undefined) => T): Promise<T> {
    return this.#lock.run(async () => {
      const next = fn(await readRecord<T>(this.#paths.records, key));
      await writeRecord(this.#paths.records, key, next);
      return next;
    });
  }
}

/**
 * Opens the file registry in `dir` (nothing is created until the first write).
 * @example const registry = openFileRegistry({ dir: '.larder/registry', project: 'flights' });
 */
export function openFileRegistry(options: FileRegistryOptions): DefinitionRegistry {
  return new FileDefinitionRegistry(options);
}
