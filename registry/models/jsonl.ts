/**
 * @module registry/models/jsonl
 * Append-only JSON-lines logs (status history, deploy history). A line is written with one
 * fsynced append under the registry lock; a crash can only leave a torn last line (no newline),
 * which readers ignore and the next append cuts off before writing, as the definition
 * registry's history does.
 */
import { open, truncate } from 'node:fs/promises';
import { larderError, reasonOf } from '../../errors.ts';
import { appendLine, ioError, isErrno, readTextIfExists } from '../atomic.ts';

/** The complete lines of a log, parsed; `[]` when the file does not exist. */
export async function readJsonl(path: string): Promise<unknown[]> {
  const text = await readTextIfExists(path);
  if (text === undefined) return [];
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').slice(0, -1).map((line, i) => {
    try {
      return JSON.parse(line) as unknown;
    } catch (error) {
      throw larderError('LARDER_E_MODEL_CORRUPT', { path, reason: `line ${i + 1} is not JSON (${reasonOf(error)})` }, { cause: error });
    }
  });
}

/** Cuts a torn last line left by a crash, so the next line starts on a line of its own. */
async function cutTornTail(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw ioError(path, error);
  }
  let text: string;
  try {
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  if (text.length === 0 || text.endsWith('\n')) return;
  const keep = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1), 'utf8');
  await truncate(path, keep).catch((error: unknown) => { throw ioError(path, error); });
}

/** Appends one JSON line. The caller holds the registry lock. */
export async function appendJsonl(path: string, value: unknown): Promise<void> {
  await cutTornTail(path);
  await appendLine(path, JSON.stringify(value));
}
