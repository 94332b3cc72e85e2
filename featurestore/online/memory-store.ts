/**
 * @module online/memory-store
 * The embedded {@link OnlineStore}: values live in this process's memory, in the same bytes as in
 * Redis (value-codec.ts), so both stores agree on encoding, layout fingerprints and freshness.
 *
 * With a folder, every write is also appended to `online.log` there (memory-log.ts), and every
 * call first reads what other processes appended: `larder materialize` in one process and
 * `larder get` or `larder serve` in another see the same state with no server. Two processes
 * writing at once take turns on a lock file per append; last-write-wins holds across them.
 * Expiry follows the same rule as Redis ({@link expiresAt}): an expired value reads as absent and
 * loses to any row. When the log is over `compactAtBytes` and more than half of it is dead, it is
 * rewritten with the live values only.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { larderError } from '../../errors.ts';
import { ByteWriter } from './bytes.ts';
import { checkEntityKey } from './entity-key.ts';
import { ioError, withFileLock } from './file-lock.ts';
import { LogFile, clearRecord, putRecord, type LogEntry, type LogSink } from './memory-log.ts';
import {
  DEFAULT_EXPIRY_GRACE_MS, expiresAt, type OnlineRow, type OnlineStore, type OnlineViewLayout, type ReadRequest,
  type StoredRow, type WriteResult,
} from './store.ts';
import { CorruptValueError, compareFreshness, decodeValue, encodeRows, viewCodec } from './value-codec.ts';

export interface MemoryOnlineStoreOptions {
  /** Folder of the log (e.g. the project's `.larder/online`); null keeps values in this process only. */
  readonly dir: string | null;
  /** How long values of views with a ttl are kept past it (default 1 day), as in Redis. */
  readonly expiryGraceMs?: number;
  /** Log size from which dead entries are compacted away (default 64 MiB). */
  readonly compactAtBytes?: number;
  /** How long a write waits for another process's append (default 30 s). */
  readonly lockWaitMs?: number;
}

interface Entry {
  value: Buffer;
  /** Epoch ms; 0 for never. */
  expireAt: number;
}

/** The values: project → view → entity key → entry. */
class MemoryState implements LogSink {
  readonly projects = new Map<string, Map<string, Map<string, Entry>>>();
  /** Bytes of live values and keys, to tell when the log is mostly dead. */
  liveBytes = 0;

  reset(): void {
    this.projects.clear();
    this.liveBytes = 0;
  }

  #view(project: string, view: string): Map<string, Entry> {
    let views = this.projects.get(project);
    if (views === undefined) this.projects.set(project, views = new Map());
    let entries = views.get(view);
    if (entries === undefined) views.set(view, entries = new Map());
    return entries;
  }

  /** Last-write-wins by the freshness prefix; an expired entry counts as absent. */
  apply(project: string, view: string, entityKey: string, value: Buffer, expireAt: number, now: number): boolean {
    const entries = this.#view(project, view);
    const old = entries.get(entityKey);
    if (old !== undefined && (old.expireAt === 0 || old.expireAt > now) && compareFreshness(value, old.value) < 0) return false;
    this.liveBytes += value.length - (old === undefined ? -entityKey.length - 16 : old.value.length);
    entries.set(entityKey, { value, expireAt });
    return true;
  }

  put(project: string, view: string, entityKey: string, value: Buffer, expireAt: number): void {
    this.apply(project, view, entityKey, value, expireAt, Date.now());
  }

  clear(project: string): void {
    const views = this.projects.get(project);
    if (views === undefined) return;
    for (const entries of views.values()) for (const [key, entry] of entries) this.liveBytes -= key.length + 16 + entry.value.length;
    this.projects.delete(project);
  }

  get(project: string, view: string, entityKey: string, now: number): Buffer | null {
    const entry = this.projects.get(project)?.get(view)?.get(entityKey);
    if (entry === undefined || (entry.expireAt !== 0 && entry.expireAt <= now)) return null;
    return entry.value;
  }

  /** The live entries as log records, one per view. */
  *records(now: number): Generator<Buffer> {
    for (const [project, views] of this.projects) {
      for (const [view, entries] of views) {
        const live: LogEntry[] = [];
        for (const [entityKey, entry] of entries) {
          if (entry.expireAt === 0 || entry.expireAt > now) live.push({ entityKey, expireAt: entry.expireAt, value: entry.value });
        }
        if (live.length > 0) yield putRecord(project, view, live);
      }
    }
  }
}

function closedError(): Error {
  return larderError('LARDER_E_ONLINE_UNAVAILABLE', { store: 'memory', reason: 'the store is closed' });
}

function aborted(what: string): Error {
  return larderError('LARDER_E_ABORTED', { what });
}

class MemoryOnlineStore implements OnlineStore {
  readonly #state = new MemoryState();
  readonly #log: LogFile | null;
  readonly #lockPath: string | null;
  readonly #graceMs: number;
  readonly #compactAtBytes: number;
  readonly #lockWaitMs: number;
  /** Calls run one at a time, so catching up with the log never races with a write. */
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: MemoryOnlineStoreOptions) {
    this.#log = options.dir === null ? null : new LogFile(join(options.dir, 'online.log'));
    this.#lockPath = options.dir === null ? null : join(options.dir, 'online.lock');
    this.#graceMs = options.expiryGraceMs ?? DEFAULT_EXPIRY_GRACE_MS;
    this.#compactAtBytes = options.compactAtBytes ?? 64 * 1024 * 1024;
    this.#lockWaitMs = options.lockWaitMs ?? 30_000;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn` caught up with the log and holding its lock (or directly, without a folder). */
  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    const log = this.#log;
    if (log === null || this.#lockPath === null) return fn();
    return withFileLock(this.#lockPath, this.#lockWaitMs, async () => {
      await log.catchUp(this.#state, true);
      return fn();
    });
  }

  async open(): Promise<this> {
    if (this.#log !== null) {
      const dir = join(this.#log.path, '..');
      await mkdir(dir, { recursive: true }).catch((error: unknown) => { throw ioError(dir, error); });
      await this.#serial(async () => {
        await this.#log?.catchUp(this.#state, false);
        await this.#compactIfMostlyDead();
      });
    }
    return this;
  }

  async #compactIfMostlyDead(): Promise<void> {
    const log = this.#log;
    if (log === null || log.size < this.#compactAtBytes || log.size < 2 * this.#state.liveBytes) return;
    await this.#locked(async () => {
      if (log.size >= this.#compactAtBytes && log.size >= 2 * this.#state.liveBytes) await log.rewrite(this.#state.records(Date.now()));
    });
  }

  write(layout: OnlineViewLayout, rows: readonly OnlineRow[], options: { signal?: AbortSignal } = {}): Promise<WriteResult> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(aborted(`write to ${layout.view}`));
    if (rows.length === 0) return Promise.resolve({ written: 0, skippedOlder: 0 });
    let encoded;
    try {
      for (const row of rows) checkEntityKey(row.entityKey);
      encoded = encodeRows(viewCodec(layout), rows);
    } catch (error) {
      return Promise.reject(error);
    }
    const { bytes, ends } = encoded;
    return this.#serial(() => this.#locked(async () => {
      if (signal?.aborted) throw aborted(`write to ${layout.view}`);
      const now = Date.now();
      const landed: LogEntry[] = [];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i] as OnlineRow;
        const value = Buffer.from(bytes.subarray(i === 0 ? 0 : (ends[i - 1] as number), ends[i] as number));
        const expireAt = expiresAt(row.eventTs, layout.ttlMs, now, this.#graceMs) ?? 0;
        if (this.#state.apply(layout.project, layout.view, row.entityKey, value, expireAt, now)) {
          landed.push({ entityKey: row.entityKey, expireAt, value });
        }
      }
      if (this.#log !== null && landed.length > 0) await this.#log.append(putRecord(layout.project, layout.view, landed, new ByteWriter(bytes.length + landed.length * 32 + 256)));
      return { written: landed.length, skippedOlder: rows.length - landed.length };
    })).then(async (result) => {
      await this.#serial(() => this.#compactIfMostlyDead()).catch(() => undefined);
      return result;
    });
  }

  read(requests: readonly ReadRequest[], options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<(StoredRow | null)[][]> {
    if (options.signal?.aborted) return Promise.reject(aborted('online read'));
    for (const { entityKeys } of requests) for (const key of entityKeys) checkEntityKey(key);
    return this.#serial(async () => {
      await this.#log?.catchUp(this.#state, false);
      const now = Date.now();
      return requests.map(({ layout, entityKeys }) => {
        const codec = viewCodec(layout);
        return entityKeys.map((entityKey) => {
          const bytes = this.#state.get(layout.project, layout.view, entityKey, now);
          if (bytes === null) return null;
          try {
            return decodeValue(codec, bytes);
          } catch (error) {
            if (!(error instanceof CorruptValueError)) throw error;
            throw larderError('LARDER_E_IO', { path: `${this.#log?.path ?? 'memory'} ${layout.view}/${entityKey}`, reason: error.message }, { cause: error });
          }
        });
      });
    });
  }

  clearProject(project: string): Promise<void> {
    return this.#serial(() => this.#locked(async () => {
      if (!this.#state.projects.has(project)) return;
      this.#state.clear(project);
      await this.#log?.append(clearRecord(project));
    }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#tail;
    this.#closed = true;
    this.#state.reset();
  }
}

/**
 * The embedded online store; with `dir`, persisted there and shared with other processes.
 * @example const online = await createMemoryOnlineStore({ dir: join(projectDir, '.larder', 'online') });
 */
export async function createMemoryOnlineStore(options: MemoryOnlineStoreOptions): Promise<OnlineStore> {
  return new MemoryOnlineStore(options).open();
}
