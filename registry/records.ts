/**
 * @module registry/records
 * Small keyed JSON records (`records/<encoded key>.json`), e.g. materialization watermarks.
 * A key may be any non-empty string: every character outside `[A-Za-z0-9_-]` is %-encoded in
 * the file name, so keys cannot escape the folder, collide with temp files, or clash on
 * case-preserving file systems through punctuation.
 */
import { join } from 'node:path';
import { larderError } from '../errors.ts';
import { parseJsonFile, readTextIfExists, writeFileAtomic } from './atomic.ts';
import { checkShape, recordFileSchema } from './schemas.ts';

const MAX_KEY_LENGTH = 200;

export function recordPath(recordsDir: string, key: string): string {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `record key must have 1 to ${MAX_KEY_LENGTH} characters` });
  }
  const encoded = [...Buffer.from(key, 'utf8')]
    .map((byte) => (/[A-Za-z0-9_-]/.test(String.fromCharCode(byte)) && byte < 0x80 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
  return join(recordsDir, `${encoded}.json`);
}

export async function readRecord<T>(recordsDir: string, key: string): Promise<T | undefined> {
  const path = recordPath(recordsDir, key);
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  const record = checkShape(recordFileSchema, parseJsonFile(path, text), path);
  if (record.key !== key) throw larderError('LARDER_E_REGISTRY_CORRUPT', { path, reason: `it holds record ${JSON.stringify(record.key)}` });
  return record.value as T;
}

/** Replaces a record atomically. The value must survive JSON (no `undefined`, functions, cycles). */
export async function writeRecord(recordsDir: string, key: string, value: unknown): Promise<void> {
  const path = recordPath(recordsDir, key);
  if (value === undefined) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `record ${JSON.stringify(key)} cannot be set to undefined` });
  }
  await writeFileAtomic(path, `${JSON.stringify({ key, updatedAt: new Date().toISOString(), value })}\n`);
}
