/**
 * @module registry/models/artifacts
 * Model artifacts stored by content: `models/objects/<sha256>.onnx`, written atomically and
 * never modified. Every load re-hashes the bytes, so a damaged or swapped file is refused with
 * LARDER_E_MODEL_CORRUPT instead of being served.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { larderError } from '../../errors.ts';
import { ioError, isErrno, writeFileAtomic } from '../atomic.ts';

const SHA256 = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function artifactPath(objectsDir: string, sha256: string): string {
  if (!SHA256.test(sha256)) throw larderError('LARDER_E_MODEL_CORRUPT', { path: objectsDir, reason: `${JSON.stringify(sha256)} is not a sha256` });
  return join(objectsDir, `${sha256}.onnx`);
}

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw ioError(path, error);
  }
}

/**
 * Stores `bytes` under their hash. An object already there with the right content is kept; one
 * whose content no longer matches (damaged) is replaced by the good bytes.
 */
export async function storeArtifact(objectsDir: string, bytes: Uint8Array, sha256: string): Promise<void> {
  const path = artifactPath(objectsDir, sha256);
  const existing = await readIfExists(path);
  if (existing !== undefined && sha256Hex(existing) === sha256) return;
  await writeFileAtomic(path, bytes);
}

/** The artifact stored under `sha256`, re-hashed. @throws LARDER_E_MODEL_CORRUPT */
export async function loadArtifactBytes(objectsDir: string, sha256: string): Promise<Uint8Array> {
  const path = artifactPath(objectsDir, sha256);
  const bytes = await readIfExists(path);
  if (bytes === undefined) throw larderError('LARDER_E_MODEL_CORRUPT', { path, reason: 'the file is missing' }, { details: { path, sha256 } });
  const actual = sha256Hex(bytes);
  if (actual !== sha256) {
    throw larderError('LARDER_E_MODEL_CORRUPT', { path, reason: `its sha256 is ${actual}, not the registered ${sha256}` }, { details: { path, sha256, actual } });
  }
  return bytes;
}
