/**
 * @module registry/lock
 * The registry's exclusive lock: a `lock` file created with O_EXCL (`wx`) holding the holder's
 * pid, host, start time and a random token. A second process is refused at once with
 * LARDER_E_REGISTRY_LOCKED (or after `waitMs`). A lock whose holder is a dead process on this
 * host is stale and is taken over; the takeover itself is serialized by a `lock.takeover` file so
 * two processes that both see the same stale lock cannot both win. Within one process,
 * {@link RegistryLock} queues callers and is re-entrant for the async context that holds it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { larderError } from '../errors.ts';
import { ioError, isErrno, readTextIfExists } from './atomic.ts';

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  token: string;
}

/**
 * How old an unreadable lock file must be before it counts as stale: a holder writes its content
 * right after creating the file, so an empty lock older than this was left by a crash.
 */
const UNREADABLE_STALE_MS = 10_000;
const POLL_MS = 50;

export interface HeldLock {
  readonly holder: LockHolder;
  release(): Promise<void>;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.since === 'string' && typeof value.token === 'string') {
      return value as LockHolder;
    }
  } catch {
    // fall through: unreadable
  }
  return undefined;
}

/** Whether a process exists; EPERM means it exists but belongs to someone else. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, 'ESRCH');
  }
}

async function createLockFile(path: string): Promise<HeldLock | undefined> {
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  const text = JSON.stringify(holder);
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return undefined;
    throw ioError(path, error);
  }
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw ioError(path, error);
  }
  await handle.close();
  return {
    holder,
    async release() {
      // Only remove the lock if it is still ours (it always should be: we are alive).
      if ((await readTextIfExists(path)) === text) await unlink(path).catch(() => undefined);
    },
  };
}

async function isStale(path: string, text: string, holder: LockHolder | undefined): Promise<boolean> {
  if (holder) return holder.host === hostname() && holder.pid !== process.pid && !processAlive(holder.pid);
  try {
    return Date.now() - (await stat(path)).mtimeMs > UNREADABLE_STALE_MS;
  } catch {
    return false;
  }
}

/** Creates the takeover guard; false when another process is taking over right now. */
async function createGuard(guard: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await (await open(guard, 'wx')).close();
      return true;
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw ioError(guard, error);
    }
    // A guard left by a crash mid-takeover must not block the registry for ever.
    const age = await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age <= UNREADABLE_STALE_MS) return false;
    await unlink(guard).catch(() => undefined);
  }
  return false;
}

/** Replaces a stale lock whose content is `observed`, unless someone else changed it meanwhile. */
async function takeOver(path: string, observed: string): Promise<HeldLock | undefined> {
  const guard = `${path}.takeover`;
  if (!(await createGuard(guard))) return undefined;
  try {
    if ((await readTextIfExists(path)) !== observed) return undefined;
    await unlink(path).catch((error: unknown) => {
      if (!isErrno(error, 'ENOENT')) throw ioError(path, error);
    });
    return await createLockFile(path);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

function lockedError(path: string, holder: LockHolder | undefined): Error {
  const pid = holder === undefined ? 'unknown' : holder.host === hostname() ? String(holder.pid) : `${holder.pid} on ${holder.host}`;
  return larderError('LARDER_E_REGISTRY_LOCKED', { lock: path, pid, since: holder?.since ?? 'unknown' }, {
    details: { lock: path, ...(holder ? { pid: holder.pid, host: holder.host, since: holder.since } : {}) },
  });
}

/**
 * Takes the lock file at `path`, waiting up to `waitMs` (default 0: refuse at once).
 * @throws LARDER_E_REGISTRY_LOCKED with the holder's pid and start time
 */
export async function acquireFileLock(path: string, waitMs = 0): Promise<HeldLock> {
  await mkdir(dirname(path), { recursive: true }).catch((error: unknown) => { throw ioError(dirname(path), error); });
  const deadline = Date.now() + waitMs;
  for (;;) {
    const held = await createLockFile(path);
    if (held) return held;
    const text = await readTextIfExists(path);
    if (text === undefined) continue; // released between our create and read: try again
    const holder = parseHolder(text);
    if (await isStale(path, text, holder)) {
      const taken = await takeOver(path, text);
      if (taken) return taken;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw lockedError(path, holder);
    await sleep(Math.min(POLL_MS, left));
  }
}

/** The lock as one registry instance uses it: queued in-process, re-entrant, file-locked across processes. */
export class RegistryLock {
  readonly #path: string;
  readonly #waitMs: number;
  readonly #context = new AsyncLocalStorage<RegistryLock>();
  #tail: Promise<void> = Promise.resolve();

  constructor(path: string, waitMs = 0) {
    this.#path = path;
    this.#waitMs = waitMs;
  }

  /** True inside a `run` callback of this lock. */
  get held(): boolean {
    return this.#context.getStore() === this;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.held) return fn();
    const previous = this.#tail;
    let done!: () => void;
    this.#tail = new Promise<void>((resolve) => { done = resolve; });
    try {
      await previous;
      const lock = await acquireFileLock(this.#path, this.#waitMs);
      try {
        return await this.#context.run(this, fn);
      } finally {
        await lock.release();
      }
    } finally {
      done();
    }
  }
}
