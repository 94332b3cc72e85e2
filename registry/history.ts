/**
 * @module registry/history
 * `history.jsonl`: one JSON line per apply that changed something, serials 1, 2, 3… with no
 * gaps. The line is the apply's commit point (it is written after the objects and before
 * `state.json`), so the history is the source of truth and the state a snapshot of it.
 *
 * Torn tail: a line is appended with one write under the lock, so a crash can only leave a last
 * line without its newline. Readers ignore such a tail (that apply did not commit) and report
 * it in `tornTail`; the next apply truncates it under the lock before appending. Anything else
 * malformed (a bad line that ends in a newline, a serial out of sequence) is
 * LARDER_E_REGISTRY_CORRUPT naming the file and line.
 */
import { readFile, truncate } from 'node:fs/promises';
import { larderError, reasonOf } from '../errors.ts';
import { ioError, isErrno } from './atomic.ts';
import { asHistoryEntry, checkShape, historyEntrySchema } from './schemas.ts';
import type { HistoryEntry } from './types.ts';

export interface HistoryFile {
  entries: HistoryEntry[];
  /** Bytes after the last newline, left by an interrupted append; `undefined` when clean. */
  tornTail: { offset: number; bytes: number } | undefined;
}

const NEWLINE = 0x0a;

/** Reads and checks the whole history; a missing file is an empty history. */
export async function readHistory(path: string): Promise<HistoryFile> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return { entries: [], tornTail: undefined };
    throw ioError(path, error);
  }
  const end = buffer.lastIndexOf(NEWLINE) + 1;
  const tornTail = end < buffer.length ? { offset: end, bytes: buffer.length - end } : undefined;
  const lines = end === 0 ? [] : buffer.subarray(0, end - 1).toString('utf8').split('\n');
  const entries = lines.map((line, i) => {
    const where = `line ${i + 1}: `;
    let value: unknown;
    try {
      value = JSON.parse(line) as unknown;
    } catch (error) {
      throw larderError('LARDER_E_REGISTRY_CORRUPT', { path, reason: `${where}invalid JSON (${reasonOf(error)})` }, { details: { path, line: i + 1 }, cause: error });
    }
    const entry = asHistoryEntry(checkShape(historyEntrySchema, value, path, where));
    if (entry.serial !== i + 1) {
      throw larderError('LARDER_E_REGISTRY_CORRUPT', { path, reason: `${where}serial ${entry.serial} where ${i + 1} was expected` }, { details: { path, line: i + 1 } });
    }
    return entry;
  });
  return { entries, tornTail };
}

/** Cuts off a torn last line. Call only under the registry lock. */
export async function dropTornTail(path: string, history: HistoryFile): Promise<void> {
  if (!history.tornTail) return;
  try {
    await truncate(path, history.tornTail.offset);
  } catch (error) {
    throw ioError(path, error);
  }
}

/** The highest version each `kind:name` ever had, removed objects included. */
export function versionsOf(entries: readonly HistoryEntry[]): Record<string, number> {
  const versions: Record<string, number> = {};
  for (const entry of entries) {
    for (const e of entry.entries) {
      if (e.toVersion === undefined) continue;
      const key = `${e.kind}:${e.name}`;
      versions[key] = Math.max(versions[key] ?? 0, e.toVersion);
    }
  }
  return versions;
}

/** Keeps only the plan entries matching the filter, and the applies that still have some. */
export function filterHistory(entries: readonly HistoryEntry[], filter: { kind?: string; name?: string } = {}): HistoryEntry[] {
  if (filter.kind === undefined && filter.name === undefined) return [...entries];
  const out: HistoryEntry[] = [];
  for (const entry of entries) {
    const kept = entry.entries.filter((e) => (filter.kind === undefined || e.kind === filter.kind) && (filter.name === undefined || e.name === filter.name));
    if (kept.length > 0) out.push({ ...entry, entries: kept });
  }
  return out;
}
