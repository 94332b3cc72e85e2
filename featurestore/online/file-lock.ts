/**
 * @module online/file-lock
 * A short-lived exclusive lock between processes: a file created with O_EXCL (`wx`) that holds
 * the holder's pid, host and a random token. The memory store holds it while it appends to or
 * compacts its log. A lock whose holder is a dead process on this host is stale and is taken
 * over; the takeover is serialized by a `.takeover` file so two processes that see the same stale
 * lock cannot both win.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { larderError, reasonOf } from '../../errors.ts';

/** An unreadable lock (crash between create and write) older than this is stale. */
const UNREADABLE_STALE_MS = 10_000;

function errnoOf(error: unknown): string | undefined {
  const code: unknown = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function ioError(path: string, error: unknown): Error {
  return larderError('LARDER_E_IO', { path, reason: reasonOf(error) }, { cause: error });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) !== 'ESRCH';
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw ioError(path, error);
  }
}

/** Creates the lock file; undefined when it exists. Returns the content that proves ownership. */
async function create(path: string): Promise<string | undefined> {
  const text = JSON.stringify({ pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex') });
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') return undefined;
    throw ioError(path, error);
  }
  try {
    await handle.writeFile(text, 'utf8');
  } finally {
    await handle.close();
  }
  return text;
}

async function isStale(path: string, text: string): Promise<boolean> {
  try {
    const holder = JSON.parse(text) as { pid?: unknown; host?: unknown };
    if (typeof holder.pid === 'number' && typeof holder.host === 'string') {
      return holder.host === hostname() && holder.pid !== process.pid && !processAlive(holder.pid);
    }
  } catch {
    // unreadable: judged by age below
  }
  return stat(path).then((s) => Date.now() - s.mtimeMs > UNREADABLE_STALE_MS, () => false);
}

async function takeOver(path: string, observed: string): Promise<string | undefined> {
  const guard = `${path}.takeover`;
  try {
    await (await open(guard, 'wx')).close();
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') throw ioError(guard, error);
    const age = await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > UNREADABLE_STALE_MS) await unlink(guard).catch(() => undefined);
    return undefined;
  }
  try {
    if ((await readText(path)) !== observed) return undefined;
    await unlink(path).catch(() => undefined);
    return await create(path);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

/**
 * Runs `fn` holding the lock file at `path`, waiting up to `waitMs` for another holder.
 * @throws LARDER_E_IO when the lock stays held by a live process
 */
export async function withFileLock<T>(path: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  let pause = 1;
  let text: string | undefined;
  for (;;) {
    text = await create(path);
    if (text !== undefined) break;
    const observed = await readText(path);
    if (observed === undefined) continue;
    if (await isStale(path, observed)) {
      text = await takeOver(path, observed);
      if (text !== undefined) break;
    }
    if (Date.now() >= deadline) {
      throw larderError('LARDER_E_IO', { path, reason: `locked by another process for more than ${waitMs} ms (${observed})` });
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 20);
  }
  try {
    return await fn();
  } finally {
    if ((await readText(path).catch(() => undefined)) === text) await unlink(path).catch(() => undefined);
  }
}
