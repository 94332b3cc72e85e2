/**
 * @module registry/objects
 * `objects/<sha256>.json`: every spec version ever applied, stored once under the hash of its
 * canonical JSON and never modified. A read re-hashes the content, so a damaged object file is
 * reported rather than silently used.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { larderError } from '../errors.ts';
import { canonicalJson, type DefinitionSpec } from '../featurestore/define/spec.ts';
import { parseJsonFile, readTextIfExists, writeFileAtomic } from './atomic.ts';
import { hashSpec } from './plan.ts';
import { asSpec, checkShape, specSchema } from './schemas.ts';

export function objectPath(objectsDir: string, hash: string): string {
  return join(objectsDir, `${hash}.json`);
}

/** Stores a spec under its hash unless it is already there (same hash, same content). */
export async function writeObject(objectsDir: string, spec: DefinitionSpec, hash: string): Promise<void> {
  const path = objectPath(objectsDir, hash);
  const exists = await access(path).then(() => true, () => false);
  if (!exists) await writeFileAtomic(path, canonicalJson(spec));
}

/** The spec stored under `hash`. @throws LARDER_E_REGISTRY_CORRUPT when missing or altered */
export async function readObject(objectsDir: string, hash: string): Promise<DefinitionSpec> {
  const path = objectPath(objectsDir, hash);
  const text = await readTextIfExists(path);
  if (text === undefined) {
    throw larderError('LARDER_E_REGISTRY_CORRUPT', { path, reason: 'the object file is missing though the history refers to it' }, { details: { path, hash } });
  }
  const spec = asSpec(checkShape(specSchema, parseJsonFile(path, text), path));
  if (hashSpec(spec) !== hash) {
    throw larderError('LARDER_E_REGISTRY_CORRUPT', { path, reason: 'its content does not match its hash' }, { details: { path, hash } });
  }
  return spec;
}
