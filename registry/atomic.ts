/**
 * @module registry/atomic
 * Crash-safe file primitives. A file is replaced by writing a temp file in the same directory,
 * fsyncing it, renaming it over the target and fsyncing the directory, so a reader sees either
 * the old or the new content, never a mix. Temp files are named `.<name>.<pid>.<random>.tmp`;
 * one left behind by a crash is ignored by every reader (none of them match registry names).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { larderError, reasonOf } from '../errors.ts';

/** Wraps a file system failure as LARDER_E_IO naming the path, keeping the original as cause. */
export function ioError(path: string, error: unknown): Error {
  return larderError('LARDER_E_IO', { path, reason: reasonOf(error) }, { cause: error });
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/** True for the temp files {@link writeFileAtomic} creates. */
export function isTempFile(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/** Makes a rename durable. Some platforms cannot open a directory; durability is best effort there. */
async function fsyncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows and some network file systems refuse to fsync a directory.
  } finally {
    await handle?.close();
  }
}

/** Replaces `path` with `data` atomically (temp file + fsync + rename + directory fsync). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await fsyncDir(dir);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw ioError(path, error);
  }
}

/**
 * Appends one complete line with a single write on an O_APPEND handle and fsyncs it. Callers hold
 * the registry lock, so lines never interleave; a crash can only leave a torn last line.
 */
export async function appendLine(path: string, line: string): Promise<void> {
  if (line.includes('\n')) throw new Error('appendLine: a line must not contain a newline');
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'a');
    try {
      await handle.write(`${line}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw ioError(path, error);
  }
}

/** The file's text, or `undefined` when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw ioError(path, error);
  }
}

/** Parses JSON read from `path`; malformed text is LARDER_E_REGISTRY_CORRUPT naming the file. */
export function parseJsonFile(path: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw larderError('LARDER_E_REGISTRY_CORRUPT', { path, reason: `invalid JSON (${reasonOf(error)})` }, { cause: error });
  }
}

/** Reads and parses a JSON file; `undefined` when it does not exist. */
export async function readJsonIfExists(path: string): Promise<unknown> {
  const text = await readTextIfExists(path);
  return text === undefined ? undefined : parseJsonFile(path, text);
}
