/**
 * @module serving/predictor/aliases
 * Alias (`champion`, `challenger`, `latest`, …) → version, for a running server. The first
 * request for an alias reads the registry; after that a timer re-reads every alias in use each
 * `refreshMs`, so no request waits on the registry and a promotion or rollback is picked up
 * within about `refreshMs`. A moved alias switches only once its new version is loaded
 * (`prepare`): requests never wait for a cold load, and a new version that cannot load (corrupt
 * artifact, invalid graph) is refused while the version already serving keeps serving.
 */
import { performance } from 'node:perf_hooks';
import { isLarderError, reasonOf } from '../../errors.ts';
import type { ModelVersionView } from '../../registry/models/types.ts';

/** What an `AliasResolver` reads versions with and how often. */
export interface AliasResolverOptions {
  /** Reads `name@ref` from the registry. */
  readonly show: (name: string, ref: string) => Promise<ModelVersionView>;
  /** Makes a version ready to serve (loads it) before an alias switches to it. */
  readonly prepare: (view: ModelVersionView) => Promise<void>;
  readonly refreshMs: number;
  /** Told when a moved alias cannot switch, or the registry cannot be read. Default: console.warn. */
  readonly onError?: (message: string, error: unknown) => void;
}

interface Entry {
  readonly name: string;
  readonly ref: string;
  view: Promise<ModelVersionView>;
  current: ModelVersionView | undefined;
  lastUsed: number;
  /** A version the alias moved to that could not be prepared, and when: retried after RETRY_MS. */
  failed: { readonly version: string; readonly at: number } | undefined;
}

/** How long a version that failed to load is left alone before the next attempt. */
const RETRY_MS = 30_000;

/** Aliases in use, kept current in the background. */
export class AliasResolver {
  readonly #options: AliasResolverOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #timer: NodeJS.Timeout;
  #refreshing: Promise<void> | undefined;

  constructor(options: AliasResolverOptions) {
    this.#options = options;
    this.#timer = setInterval(() => void this.refresh(), Math.max(10, options.refreshMs));
    this.#timer.unref();
  }

  /**
   * The version `name@ref` points at (as last seen; the first call reads the registry).
   * @throws LARDER_E_MODEL_NOT_FOUND
   */
  resolve(name: string, ref: string): Promise<ModelVersionView> {
    const key = `${name}@${ref}`;
    const known = this.#entries.get(key);
    if (known !== undefined) {
      known.lastUsed = performance.now();
      return known.view;
    }
    const view = this.#options.show(name, ref);
    const entry: Entry = { name, ref, view, current: undefined, lastUsed: performance.now(), failed: undefined };
    this.#entries.set(key, entry);
    view.then(
      (v) => { entry.current ??= v; },
      // Not found now (or the registry unreadable): the next request asks again.
      () => { if (this.#entries.get(key) === entry) this.#entries.delete(key); },
    );
    return view;
  }

  /** Re-reads every alias in use once (the timer calls it; tests may too). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refreshAll().finally(() => { this.#refreshing = undefined; });
    return this.#refreshing;
  }

  async #refreshAll(): Promise<void> {
    const now = performance.now();
    // Aliases nobody asked for in a while stop being followed (and unloading can take their versions).
    const idleMs = Math.max(60_000, 10 * this.#options.refreshMs);
    for (const [key, entry] of this.#entries) if (entry.current !== undefined && now - entry.lastUsed > idleMs) this.#entries.delete(key);
    await Promise.all([...this.#entries.values()].filter((e) => e.current !== undefined).map((e) => this.#refreshOne(e)));
  }

  async #refreshOne(entry: Entry): Promise<void> {
    const current = entry.current!;
    const what = `${entry.name}@${entry.ref}`;
    let next: ModelVersionView;
    try {
      next = await this.#options.show(entry.name, entry.ref);
    } catch (error) {
      if (isLarderError(error) && error.code === 'LARDER_E_MODEL_NOT_FOUND') {
        // The alias was removed: requests for it get their 404 from the registry again.
        if (this.#entries.get(`${entry.name}@${entry.ref}`) === entry) this.#entries.delete(`${entry.name}@${entry.ref}`);
      } else {
        this.#warn(`cannot re-read ${what} (${reasonOf(error)}); still serving ${current.version}`, error);
      }
      return;
    }
    if (next.version !== current.version) {
      if (entry.failed?.version === next.version && performance.now() - entry.failed.at < RETRY_MS) return;
      try {
        await this.#options.prepare(next);
      } catch (error) {
        entry.failed = { version: next.version, at: performance.now() };
        this.#warn(`${what} moved to ${next.version}, which cannot be served (${reasonOf(error)}); still serving ${current.version}`, error);
        return;
      }
      entry.failed = undefined;
    }
    entry.current = next;
    entry.view = Promise.resolve(next);
  }

  #warn(message: string, error: unknown): void {
    (this.#options.onError ?? ((m: string) => console.warn(`larder: ${m}`)))(message, error);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#entries.clear();
  }
}
