/**
 * @module dataset-context
 * What dataset writing and rebuilding need from the store, and the hashes they record.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { DefinitionRegistry } from '../registry/index.ts';
import type { ProjectDefinitions } from './define/project.ts';
import type { OfflineStore } from './offline/store.ts';

export interface DatasetContext {
  readonly dir: string;
  readonly project: ProjectDefinitions;
  readonly registry: DefinitionRegistry;
  readonly registryDir: string;
  readonly offline: OfflineStore;
  readonly timestampColumn: string;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

