/**
 * @module registry/models/store
 * The model registry as plain files beside the definition registry, sharing its lock:
 *
 * ```
 * <dir>/lock                                   the registry lock (see registry/lock)
 * <dir>/models/objects/<sha256>.onnx           artifacts by content, re-hashed on every load
 * <dir>/models/<name>/versions/<x.y.z>.json    one immutable record per version
 * <dir>/models/<name>/history.jsonl            status changes, append-only: who, when, why
 * <dir>/models/<name>/deploys.jsonl            alias moves, append-only; aliases are its replay
 * ```
 *
 * Registration, status changes and alias moves run under the lock, so two writers never pick
 * the same version number or lose an alias move. A registration writes the artifact, then the
 * version record (its commit point), then its `registered` line; a crash in between leaves an
 * unreferenced object or a version without its first history line, which reads as `registered`.
 */
import { readFile, readdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { larderError, reasonOf } from '../../errors.ts';
import { ioError, isErrno, parseJsonFile, readTextIfExists, writeFileAtomic } from '../atomic.ts';
import { RegistryLock } from '../lock.ts';
import { artifactPath, loadArtifactBytes, sha256Hex, storeArtifact } from './artifacts.ts';
import { appendJsonl, readJsonl } from './jsonl.ts';
import { readOnnxModel, type OnnxModelInfo } from './onnx.ts';
import type { ModelServingSpec } from './serving-spec.ts';
import { assertServingSpec, deriveServingSpec } from './signature-check.ts';
import { compareSemver, nextVersion, parseSemver, signatureKey } from './semver.ts';
import {
  MODEL_STATUSES, type Actor, type AliasMove, type ModelStatus, type ModelSummary, type ModelVersion, type ModelVersionView,
  type RegisterInput, type StatusChange,
} from './types.ts';

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,99}$/;
const VERSION_FILE = /^(\d+\.\d+\.\d+)\.json$/;

/** Status changes a caller may ask for; `deployed` is reached only by pointing an alias. */
const TRANSITIONS: Readonly<Record<ModelStatus, readonly ModelStatus[]>> = {
  registered: ['approved', 'rejected', 'archived'],
  approved: ['rejected', 'archived'],
  deployed: ['archived'],
  rejected: ['archived'],
  archived: [],
};

export interface ModelRegistryOptions {
  /** The registry folder (`registry.path`). */
  readonly dir: string;
  /** How long to wait for a lock another process holds; 0 (default) refuses at once. */
  readonly lockWaitMs?: number;
}

export interface RegisterResult {
  readonly model: ModelVersionView;
  /** False when these bytes were already registered under this name (nothing was written). */
  readonly created: boolean;
}

function checkName(kind: 'model' | 'alias', name: string): void {
  if (!NAME.test(name) || (kind === 'alias' && name === 'latest')) {
    throw larderError('LARDER_E_MODEL_INVALID', {
      what: `${kind} name ${JSON.stringify(name)}`,
      reason: `use a letter then letters, digits, _ or - (at most 100)${kind === 'alias' ? '; "latest" is reserved' : ''}`,
    });
  }
}

function defaultWho(who: string | undefined): string {
  if (who !== undefined && who !== '') return who;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function isVersionRecord(value: unknown, name: string, version: string): value is ModelVersion {
  const v = value as Partial<ModelVersion> | null;
  return typeof v === 'object' && v !== null && v.name === name && v.version === version && typeof v.sha256 === 'string'
    && typeof v.signature === 'object' && Array.isArray(v.signature.inputs);
}

/** The inputs that decide a major bump: the graph's inputs and the features fed into them. */
function inputsKey(inputs: OnnxModelInfo['inputs'], serving: ModelServingSpec | undefined): string {
  return `${signatureKey(inputs)}|${JSON.stringify(serving?.features ?? null)}`;
}

/** The serving spec to store: the given one checked, or one derived from the service's features. */
function servingOf(info: OnnxModelInfo, input: RegisterInput, what: string): ModelServingSpec | undefined {
  if (input.serving !== undefined) {
    assertServingSpec(info, input.serving, what, input.serviceFeatures);
    return input.serving;
  }
  if (input.serviceFeatures === undefined) return undefined;
  const derived = deriveServingSpec(info, input.serviceFeatures);
  if (derived === undefined) {
    throw larderError('LARDER_E_MODEL_INVALID', {
      what,
      reason: `its inputs (${info.inputs.map((i) => `${i.name}: ${i.type}`).join(', ')}) fit neither one input per feature of the service nor one [N, ${input.serviceFeatures.length}] numeric input; register it with a serving spec`,
    });
  }
  assertServingSpec(info, derived, what, input.serviceFeatures);
  return derived;
}

/** The model registry. Open one per registry folder; it holds no open handles. */
export class ModelRegistry {
  readonly #root: string;
  readonly #objects: string;
  readonly #lock: RegistryLock;

  constructor(options: ModelRegistryOptions) {
    this.#root = join(options.dir, 'models');
    this.#objects = join(this.#root, 'objects');
    this.#lock = new RegistryLock(join(options.dir, 'lock'), options.lockWaitMs ?? 0);
  }

  #modelDir(name: string): string {
    checkName('model', name);
    return join(this.#root, name);
  }

  async #versionNumbers(name: string): Promise<string[]> {
    const dir = join(this.#modelDir(name), 'versions');
    let files: string[];
    try {
      files = await readdir(dir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw ioError(dir, error);
    }
    const versions = files.map((f) => VERSION_FILE.exec(f)?.[1]).filter((v): v is string => v !== undefined && parseSemver(v) !== undefined);
    return versions.sort((a, b) => compareSemver(parseSemver(a) ?? [0, 0, 0], parseSemver(b) ?? [0, 0, 0]));
  }

  async #readVersion(name: string, version: string): Promise<ModelVersion | undefined> {
    const path = join(this.#modelDir(name), 'versions', `${version}.json`);
    const text = await readTextIfExists(path);
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = parseJsonFile(path, text);
    } catch (error) {
      throw larderError('LARDER_E_MODEL_CORRUPT', { path, reason: reasonOf(error) }, { cause: error });
    }
    if (!isVersionRecord(value, name, version)) throw larderError('LARDER_E_MODEL_CORRUPT', { path, reason: `it is not the record of ${name}@${version}` });
    return value;
  }

  async #statusChanges(name: string): Promise<StatusChange[]> {
    return (await readJsonl(join(this.#modelDir(name), 'history.jsonl'))) as StatusChange[];
  }

  async #aliasMoves(name: string): Promise<AliasMove[]> {
    return (await readJsonl(join(this.#modelDir(name), 'deploys.jsonl'))) as AliasMove[];
  }

  async #statuses(name: string): Promise<Map<string, ModelStatus>> {
    const statuses = new Map<string, ModelStatus>();
    for (const change of await this.#statusChanges(name)) {
      if (MODEL_STATUSES.includes(change.to)) statuses.set(change.version, change.to);
    }
    return statuses;
  }

  async #aliases(name: string): Promise<Map<string, string>> {
    const aliases = new Map<string, string>();
    for (const move of await this.#aliasMoves(name)) {
      if (move.to === null) aliases.delete(move.alias);
      else aliases.set(move.alias, move.to);
    }
    return aliases;
  }

  async #view(record: ModelVersion): Promise<ModelVersionView> {
    const [statuses, aliases] = await Promise.all([this.#statuses(record.name), this.#aliases(record.name)]);
    return {
      ...record,
      status: statuses.get(record.version) ?? 'registered',
      aliases: [...aliases].filter(([, v]) => v === record.version).map(([a]) => a).sort(),
    };
  }

  /** `x.y.z`, an alias, or `latest` → a version record. @throws LARDER_E_MODEL_NOT_FOUND */
  async #resolve(name: string, ref: string): Promise<ModelVersion> {
    let version: string | undefined = ref;
    if (ref === 'latest') version = (await this.#versionNumbers(name)).at(-1);
    else if (parseSemver(ref) === undefined) {
      checkName('alias', ref);
      version = (await this.#aliases(name)).get(ref);
    }
    const record = version === undefined ? undefined : await this.#readVersion(name, version);
    if (record === undefined) throw larderError('LARDER_E_MODEL_NOT_FOUND', { ref: `${name}@${ref}` });
    return record;
  }

  /**
   * Registers an ONNX artifact as the next version of `name`: 1.0.0 first, then a minor bump,
   * or a major bump when the input signature differs from the latest version's. Registering
   * bytes already registered under `name` returns that version unchanged (`created: false`).
   * @throws LARDER_E_MODEL_INVALID when the artifact is not a readable ONNX model
   * @example await models.register({ name: 'delay', artifact: 'model.onnx', featureService: 'delay_model', metrics: { auc: 0.71 } })
   */
  async register(input: RegisterInput): Promise<RegisterResult> {
    checkName('model', input.name);
    const what = typeof input.artifact === 'string' ? input.artifact : `${input.name} artifact`;
    let bytes: Uint8Array;
    if (typeof input.artifact === 'string') {
      try {
        bytes = await readFile(input.artifact);
      } catch (error) {
        throw larderError('LARDER_E_MODEL_INVALID', { what, reason: `it cannot be read (${reasonOf(error)})` }, { cause: error });
      }
    } else {
      bytes = input.artifact;
    }
    const info = readOnnxModel(bytes, what);
    const serving = servingOf(info, input, what);
    const sha256 = sha256Hex(bytes);
    return this.#lock.run(async () => {
      const versions = await this.#versionNumbers(input.name);
      const records = await Promise.all(versions.map((v) => this.#readVersion(input.name, v)));
      const same = records.find((r) => r?.sha256 === sha256);
      if (same) {
        // The bytes are in hand and hash right: put them back if the stored copy was damaged.
        await storeArtifact(this.#objects, bytes, sha256);
        return { model: await this.#view(same), created: false };
      }
      const latest = records.at(-1);
      const changed = latest !== undefined && inputsKey(latest.signature.inputs, latest.serving) !== inputsKey(info.inputs, serving);
      const { version, bump } = nextVersion(latest?.version, changed);
      const who = defaultWho(input.who);
      const record: ModelVersion = {
        name: input.name, version, bump, previous: latest?.version ?? null, sha256, size: bytes.length,
        registeredAt: new Date().toISOString(), registeredBy: who,
        signature: { inputs: info.inputs, outputs: info.outputs },
        onnx: { irVersion: info.irVersion, opset: info.opset, opsets: info.opsets, producerName: info.producerName, producerVersion: info.producerVersion },
        ...(serving === undefined ? {} : { serving }),
        lineage: {
          ...(input.featureService === undefined ? {} : { featureService: input.featureService }),
          ...(input.featureServiceVersion === undefined ? {} : { featureServiceVersion: input.featureServiceVersion }),
          ...(input.label === undefined ? {} : { label: input.label }),
          ...(input.dataset === undefined ? {} : { dataset: input.dataset }),
          ...(input.gitCommit === undefined ? {} : { gitCommit: input.gitCommit }),
          ...(input.params === undefined ? {} : { params: input.params }),
          ...(input.metrics === undefined ? {} : { metrics: input.metrics }),
        },
      };
      await storeArtifact(this.#objects, bytes, sha256);
      await writeFileAtomic(join(this.#modelDir(input.name), 'versions', `${version}.json`), `${JSON.stringify(record, null, 2)}\n`);
      await this.#appendChange(input.name, { version, from: null, to: 'registered', who, at: record.registeredAt, ...(input.why === undefined ? {} : { why: input.why }) });
      return { model: { ...record, status: 'registered', aliases: [] }, created: true };
    });
  }

  async #appendChange(name: string, change: StatusChange): Promise<void> {
    await appendJsonl(join(this.#modelDir(name), 'history.jsonl'), change);
  }

  /** The ONNX bytes of a version, verified against their sha256. @throws LARDER_E_MODEL_CORRUPT */
  async loadArtifact(name: string, ref: string): Promise<Uint8Array> {
    const record = await this.#resolve(name, ref);
    return loadArtifactBytes(this.#objects, record.sha256);
  }

  /** Where a stored artifact lives (read it with `loadArtifact`, which verifies it). */
  artifactPath(sha256: string): string {
    return artifactPath(this.#objects, sha256);
  }

  /** A version by number, alias or `latest`, with its status and aliases. */
  async show(name: string, ref = 'latest'): Promise<ModelVersionView> {
    return this.#view(await this.#resolve(name, ref));
  }

  /** Every version of a model, oldest first. */
  async versions(name: string): Promise<ModelVersionView[]> {
    const records = await Promise.all((await this.#versionNumbers(name)).map((v) => this.#readVersion(name, v)));
    if (records.length === 0) throw larderError('LARDER_E_MODEL_NOT_FOUND', { ref: name });
    return Promise.all(records.filter((r): r is ModelVersion => r !== undefined).map((r) => this.#view(r)));
  }

  /** Every model with its latest version and aliases, by name. */
  async list(): Promise<ModelSummary[]> {
    let names: string[];
    try {
      names = (await readdir(this.#root, { withFileTypes: true })).filter((e) => e.isDirectory() && NAME.test(e.name)).map((e) => e.name);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw ioError(this.#root, error);
    }
    const summaries = await Promise.all(names.sort().map(async (name): Promise<ModelSummary | undefined> => {
      const versions = await this.#versionNumbers(name);
      const latest = versions.at(-1);
      return latest === undefined ? undefined : { name, versions: versions.length, latest, aliases: Object.fromEntries(await this.#aliases(name)) };
    }));
    return summaries.filter((s): s is ModelSummary => s !== undefined);
  }

  /** The append-only status and deploy histories of a model, oldest first. */
  async history(name: string): Promise<{ changes: StatusChange[]; deploys: AliasMove[] }> {
    if ((await this.#versionNumbers(name)).length === 0) throw larderError('LARDER_E_MODEL_NOT_FOUND', { ref: name });
    const [changes, deploys] = await Promise.all([this.#statusChanges(name), this.#aliasMoves(name)]);
    return { changes, deploys };
  }

  /**
   * Moves a version to `approved`, `rejected` or `archived`. A version an alias points at cannot
   * be archived or rejected: move the alias first.
   * @throws LARDER_E_MODEL_TRANSITION for a move outside the workflow
   */
  async setStatus(name: string, version: string, to: Exclude<ModelStatus, 'deployed' | 'registered'>, actor: Actor = {}): Promise<ModelVersionView> {
    return this.#lock.run(async () => {
      const record = await this.#resolve(name, version);
      const current = await this.#view(record);
      const ref = `${name}@${record.version}`;
      if (!TRANSITIONS[current.status].includes(to)) {
        throw larderError('LARDER_E_MODEL_TRANSITION', { ref, from: current.status, to, reason: `allowed from ${current.status}: ${TRANSITIONS[current.status].join(', ') || 'nothing'}` });
      }
      if (current.aliases.length > 0) {
        throw larderError('LARDER_E_MODEL_TRANSITION', { ref, from: current.status, to, reason: `aliases ${current.aliases.join(', ')} point at it; move them first` });
      }
      await this.#appendChange(name, { version: record.version, from: current.status, to, who: defaultWho(actor.who), at: new Date().toISOString(), ...(actor.why === undefined ? {} : { why: actor.why }) });
      return { ...current, status: to };
    });
  }

  approve(name: string, version: string, actor: Actor = {}): Promise<ModelVersionView> {
    return this.setStatus(name, version, 'approved', actor);
  }

  reject(name: string, version: string, actor: Actor = {}): Promise<ModelVersionView> {
    return this.setStatus(name, version, 'rejected', actor);
  }

  archive(name: string, version: string, actor: Actor = {}): Promise<ModelVersionView> {
    return this.setStatus(name, version, 'archived', actor);
  }

  /**
   * Points `alias` at a version (default alias `champion`); the version must be approved or
   * already deployed, and becomes `deployed`. The move is appended to the deploy history.
   * @throws LARDER_E_MODEL_TRANSITION when the version is not approved or deployed
   * @example await models.deploy('delay', '1.2.0', { alias: 'challenger', who: 'ana', why: 'A/B week 12' })
   */
  async deploy(name: string, version: string, options: Actor & { readonly alias?: string } = {}): Promise<ModelVersionView> {
    const alias = options.alias ?? 'champion';
    checkName('alias', alias);
    return this.#lock.run(async () => {
      const record = await this.#resolve(name, version);
      const current = await this.#view(record);
      if (current.status !== 'approved' && current.status !== 'deployed') {
        throw larderError('LARDER_E_MODEL_TRANSITION', { ref: `${name}@${record.version}`, from: current.status, to: 'deployed', reason: 'only an approved version can be deployed' });
      }
      const who = defaultWho(options.who);
      const at = new Date().toISOString();
      const why = options.why === undefined ? {} : { why: options.why };
      const from = (await this.#aliases(name)).get(alias) ?? null;
      if (current.status === 'approved') await this.#appendChange(name, { version: record.version, from: 'approved', to: 'deployed', who, at, ...why });
      await appendJsonl(join(this.#modelDir(name), 'deploys.jsonl'), { alias, from, to: record.version, who, at, ...why } satisfies AliasMove);
      return this.#view(record);
    });
  }

  /**
   * Moves `alias` back to the version it pointed at before its current deployment. Rollbacks
   * stack: two in a row go back two deployments. The move is logged with `rollback: true`.
   * @throws LARDER_E_MODEL_TRANSITION when there is no earlier deployment, or it can no longer serve
   * @example await models.rollback('delay', 'champion', { who: 'ana', why: 'p99 regression' })
   */
  async rollback(name: string, alias = 'champion', actor: Actor = {}): Promise<{ from: string; to: ModelVersionView }> {
    checkName('alias', alias);
    return this.#lock.run(async () => {
      const stack: string[] = [];
      for (const move of await this.#aliasMoves(name)) {
        if (move.alias !== alias) continue;
        if (move.to === null) stack.length = 0;
        else if (move.rollback === true) stack.pop();
        else stack.push(move.to);
      }
      const current = stack.at(-1);
      const target = stack.at(-2);
      if (current === undefined) throw larderError('LARDER_E_MODEL_NOT_FOUND', { ref: `${name}@${alias}` });
      if (target === undefined) {
        throw larderError('LARDER_E_MODEL_TRANSITION', { ref: `${name}@${alias}`, from: current, to: 'rollback', reason: 'the alias has no earlier deployment to return to' });
      }
      const record = await this.#resolve(name, target);
      const view = await this.#view(record);
      if (view.status !== 'deployed' && view.status !== 'approved') {
        throw larderError('LARDER_E_MODEL_TRANSITION', { ref: `${name}@${target}`, from: view.status, to: 'deployed', reason: 'the earlier version is no longer approved; deploy another one' });
      }
      const who = defaultWho(actor.who);
      const at = new Date().toISOString();
      const why = actor.why === undefined ? {} : { why: actor.why };
      if (view.status === 'approved') await this.#appendChange(name, { version: target, from: 'approved', to: 'deployed', who, at, ...why });
      await appendJsonl(join(this.#modelDir(name), 'deploys.jsonl'), { alias, from: current, to: target, who, at, rollback: true, ...why } satisfies AliasMove);
      return { from: current, to: await this.#view(record) };
    });
  }

  /** Removes an alias; the removal is appended to the deploy history. */
  async removeAlias(name: string, alias: string, actor: Actor = {}): Promise<void> {
    checkName('alias', alias);
    await this.#lock.run(async () => {
      const from = (await this.#aliases(name)).get(alias);
      if (from === undefined) throw larderError('LARDER_E_MODEL_NOT_FOUND', { ref: `${name}@${alias}` });
      await appendJsonl(join(this.#modelDir(name), 'deploys.jsonl'), {
        alias, from, to: null, who: defaultWho(actor.who), at: new Date().toISOString(), ...(actor.why === undefined ? {} : { why: actor.why }),
      } satisfies AliasMove);
    });
  }
}

/**
 * Opens the model registry kept in a registry folder.
 * @example const models = openModelRegistry({ dir: '.larder/registry', lockWaitMs: 5_000 });
 */
export function openModelRegistry(options: ModelRegistryOptions): ModelRegistry {
  return new ModelRegistry(options);
}
