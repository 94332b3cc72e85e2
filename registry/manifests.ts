/**
 * @module registry/manifests
 * Dataset manifests, one file per dataset: `datasets/<id>.json`. Ids are `[A-Za-z0-9_-]+`
 * (no dots), so other files kept beside a manifest — the facade stores entity snapshots as
 * `datasets/<id>.entities.json|arrow` — are never mistaken for manifests, and an id can never
 * reach outside the folder.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { larderError } from '../errors.ts';
import { ioError, isErrno, parseJsonFile, readTextIfExists, writeFileAtomic } from './atomic.ts';
import { asManifest, checkShape, manifestSchema } from './schemas.ts';
import type { DatasetManifest } from './types.ts';

const DATASET_ID = /^[A-Za-z0-9_-]+$/;
const MANIFEST_FILE = /^([A-Za-z0-9_-]+)\.json$/;

/**
 * A new dataset id: `ds_<yyyymmddhhmmss UTC>_<6 hex>`, so ids sort by creation time.
 * @example newDatasetId(new Date('2024-05-01T12:30:00Z')) // 'ds_20240501123000_9f2c1a'
 */
export function newDatasetId(at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `ds_${stamp}_${randomBytes(3).toString('hex')}`;
}

function manifestPath(datasetsDir: string, id: string): string {
  return join(datasetsDir, `${id}.json`);
}

/** Writes (or atomically replaces) a manifest. */
export async function saveManifest(datasetsDir: string, manifest: DatasetManifest): Promise<void> {
  if (!DATASET_ID.test(manifest.id)) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `dataset id ${JSON.stringify(manifest.id)} must match [A-Za-z0-9_-]+` });
  }
  const checked = manifestSchema.safeParse(manifest);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `dataset manifest ${manifest.id}: ${issues.join('; ')}` }, { details: { issues } });
  }
  await writeFileAtomic(manifestPath(datasetsDir, manifest.id), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** @throws LARDER_E_DATASET_NOT_FOUND, LARDER_E_REGISTRY_CORRUPT */
export async function getManifest(datasetsDir: string, id: string): Promise<DatasetManifest> {
  const path = manifestPath(datasetsDir, id);
  const text = DATASET_ID.test(id) ? await readTextIfExists(path) : undefined;
  if (text === undefined) throw larderError('LARDER_E_DATASET_NOT_FOUND', { id });
  const manifest = asManifest(checkShape(manifestSchema, parseJsonFile(path, text), path));
  if (manifest.id !== id) {
    throw larderError('LARDER_E_REGISTRY_CORRUPT', { path, reason: `it holds dataset ${manifest.id}, not ${id}` });
  }
  return manifest;
}

/** Every manifest, oldest first (createdAt, then id). */
export async function listManifests(datasetsDir: string): Promise<DatasetManifest[]> {
  let names: string[];
  try {
    names = await readdir(datasetsDir);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw ioError(datasetsDir, error);
  }
  const ids = names.map((n) => MANIFEST_FILE.exec(n)?.[1]).filter((id): id is string => id !== undefined);
  const manifests = await Promise.all(ids.map((id) => getManifest(datasetsDir, id)));
  return manifests.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
