/**
 * @module serving/predictor/models
 * The served models of one predictor: `model@ref` resolved to a concrete version (aliases and
 * `latest` followed in the background every `aliasRefreshMs`, switching once the new version is
 * loaded — see `aliases.ts`; explicit versions are immutable and cached for good), and one
 * loaded session plus one dynamic batcher per version, loaded once even when many first requests
 * arrive together. A load that fails is forgotten, so the next request tries again.
 */
import { performance } from 'node:perf_hooks';
import { larderError } from '../../errors.ts';
import { tensorsFor, predictionsFrom } from '../../registry/models/feeds.ts';
import { parseSemver } from '../../registry/models/semver.ts';
import type { ModelServingSpec } from '../../registry/models/serving-spec.ts';
import type { ModelRegistry } from '../../registry/models/store.ts';
import type { ModelVersionView } from '../../registry/models/types.ts';
import { AliasResolver } from './aliases.ts';
import { DynamicBatcher, type BatchEvent, type BatcherOptions, type RunResult } from './batcher.ts';
import type { RawSession } from './session.ts';

/** Opens a raw session for verified ONNX bytes, inline or in the worker pool. */
export type SessionOpener = (bytes: Uint8Array, what: string) => Promise<RawSession>;

/** A version loaded for serving. */
export interface ServedModel {
  readonly name: string;
  readonly version: ModelVersionView;
  readonly session: RawSession;
  /** The serving spec and the batcher of `predict`; absent for a graph only raw inference can feed. */
  readonly predictable?: { readonly spec: ModelServingSpec; readonly batcher: DynamicBatcher };
}

/** Where `ServedModels` reads versions, and how it loads, batches and follows them. */
export interface ServedModelsOptions {
  readonly registry: ModelRegistry;
  readonly aliasRefreshMs: number;
  /** Unload a version no request used for this long, in ms (0: never). */
  readonly unloadAfterMs: number;
  /** The session opener and batcher settings for a model. */
  readonly openerFor: (model: string) => SessionOpener;
  readonly batchingFor: (model: string) => BatcherOptions;
  readonly onBatch: (model: string, version: string, event: BatchEvent) => void;
  /** Told when a moved alias cannot switch to its new version (default: console.warn). */
  readonly onAliasError?: (message: string, error: unknown) => void;
}

/** Scores `n` rows with a served version's spec: feature columns → tensors → session → outputs. */
async function runSpec(session: RawSession, spec: ModelServingSpec, columns: Readonly<Record<string, readonly unknown[]>>, n: number): Promise<RunResult> {
  if (n === 0) return { outputs: new Float64Array(0) };
  const result = await session.run(tensorsFor(spec, columns, n), [spec.output.name]);
  const output = result.outputs[spec.output.name];
  if (output === undefined || Array.isArray(output.data)) {
    throw larderError('LARDER_E_MODEL_INVALID', { what: 'output', reason: `'${spec.output.name}' is not a numeric tensor` });
  }
  const outputs = predictionsFrom(output.data as ArrayLike<number | bigint>, output.dims, n, spec.output.column ?? 0);
  return result.cpuSeconds === undefined ? { outputs } : { outputs, cpuSeconds: result.cpuSeconds };
}

/** Version resolution and loaded sessions for a predictor. */
export class ServedModels {
  readonly #options: ServedModelsOptions;
  readonly #aliases: AliasResolver;
  readonly #versions = new Map<string, Promise<ModelVersionView>>();
  readonly #loaded = new Map<string, Promise<ServedModel>>();
  readonly #lastUsed = new Map<string, number>();
  readonly #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ServedModelsOptions) {
    this.#options = options;
    this.#aliases = new AliasResolver({
      show: (name, ref) => options.registry.show(name, ref),
      prepare: async (view) => { await this.load(view); },
      refreshMs: options.aliasRefreshMs,
      ...(options.onAliasError === undefined ? {} : { onError: options.onAliasError }),
    });
    if (options.unloadAfterMs > 0) {
      this.#sweeper = setInterval(() => void this.unloadIdle(), Math.min(options.unloadAfterMs, 60_000));
      this.#sweeper.unref();
    }
  }

  /** Versions loaded (or loading), as `name@version`. */
  get loaded(): string[] {
    return [...this.#loaded.keys()];
  }

  /**
   * Unloads versions unused for `unloadAfterMs` (e.g. the champion before a promotion): their
   * queued requests are answered first. A later request loads the version again.
   */
  async unloadIdle(now = performance.now()): Promise<string[]> {
    const idle = [...this.#loaded.keys()].filter((key) => now - (this.#lastUsed.get(key) ?? 0) > this.#options.unloadAfterMs);
    await Promise.all(idle.map((key) => {
      const served = this.#loaded.get(key);
      this.#loaded.delete(key);
      this.#lastUsed.delete(key);
      return served === undefined ? undefined : unload(served);
    }));
    return idle;
  }

  /**
   * `name@ref` → the version it means now.
   * @throws LARDER_E_MODEL_NOT_FOUND
   */
  resolve(name: string, ref: string): Promise<ModelVersionView> {
    const key = `${name}@${ref}`;
    if (parseSemver(ref) !== undefined) {
      let view = this.#versions.get(key);
      if (view === undefined) {
        view = this.#options.registry.show(name, ref);
        this.#versions.set(key, view);
        view.catch(() => this.#versions.delete(key));
      }
      return view;
    }
    return this.#aliases.resolve(name, ref);
  }

  /** Re-reads every alias in use now (a timer does it every `aliasRefreshMs`). */
  refreshAliases(): Promise<void> {
    return this.#aliases.refresh();
  }

  /** The loaded session of a version, loading it on first use. */
  load(view: ModelVersionView): Promise<ServedModel> {
    if (this.#closed) return Promise.reject(larderError('LARDER_E_UNAVAILABLE', { reason: 'the predictor is shutting down' }));
    const key = `${view.name}@${view.version}`;
    this.#lastUsed.set(key, performance.now());
    let served = this.#loaded.get(key);
    if (served === undefined) {
      served = this.#open(view);
      this.#loaded.set(key, served);
      served.catch(() => { if (this.#loaded.get(key) === served) this.#loaded.delete(key); });
    }
    return served;
  }

  /** Whether a version's session is loaded (not merely loading). */
  async isLoaded(view: ModelVersionView): Promise<boolean> {
    const served = this.#loaded.get(`${view.name}@${view.version}`);
    if (served === undefined) return false;
    return served.then(() => true, () => false);
  }

  async #open(view: ModelVersionView): Promise<ServedModel> {
    const what = `${view.name}@${view.version}`;
    const bytes = await this.#options.registry.loadArtifact(view.name, view.version);
    const session = await this.#options.openerFor(view.name)(bytes, what);
    const spec = view.serving;
    if (spec === undefined) return { name: view.name, version: view, session };
    const batcher = new DynamicBatcher(
      (columns, n) => runSpec(session, spec, columns, n),
      this.#options.batchingFor(view.name),
      (event) => this.#options.onBatch(view.name, view.version, event),
    );
    return { name: view.name, version: view, session, predictable: { spec, batcher } };
  }

  /** Finishes queued work and releases every session. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#aliases.close();
    const loaded = [...this.#loaded.values()];
    this.#loaded.clear();
    await Promise.all(loaded.map(unload));
  }
}

async function unload(served: Promise<ServedModel>): Promise<void> {
  const model = await served.catch(() => undefined);
  if (model === undefined) return;
  await model.predictable?.batcher.close();
  await model.session.release();
}
