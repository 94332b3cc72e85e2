/**
 * @module load
 * Loads a project: its `larder.config.ts` and the feature modules it names, as TypeScript,
 * with no build step (through tsx, in a fresh namespace each time so edited modules are
 * re-read). Definitions are found by scanning module exports for the Larder brand.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { glob } from 'tinyglobby';
import { register } from 'tsx/esm/api';
import { larderError, reasonOf } from '../errors.ts';
import { resolveConfig, type ResolvedConfig } from './config.ts';
import { buildProject, collectDefinitions, type ProjectResult } from './define/project.ts';

const CONFIG_FILES = ['larder.config.ts', 'larder.config.mts', 'larder.config.js', 'larder.config.mjs'];

export interface LoadedProject extends ProjectResult {
  readonly config: ResolvedConfig;
  /** The modules definitions were read from, relative to the project folder. */
  readonly modules: readonly string[];
}

export function findConfig(dir: string): string {
  for (const name of CONFIG_FILES) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw larderError('LARDER_E_CONFIG_NOT_FOUND', { dir });
}

/** Loads config and definitions; problems in the definitions are returned in `issues`, not thrown. */
export async function loadProject(dir: string): Promise<LoadedProject> {
  const root = path.resolve(dir);
  const configPath = findConfig(root);
  const api = register({ namespace: `larder-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}` });
  try {
    const importFile = async (file: string): Promise<Record<string, unknown>> => {
      try {
        return (await api.import(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
      } catch (error) {
        throw larderError('LARDER_E_MODULE_LOAD', { path: path.relative(root, file) || file, reason: reasonOf(error) }, { cause: error });
      }
    };
    const configModule = await importFile(configPath);
    const config = resolveConfig(configModule.default, root, configPath);
    const modules = (await glob([...config.definitions], { cwd: root, ignore: ['**/node_modules/**', '**/*.test.ts', '**/*.d.ts'] })).sort();
    const exportsList: unknown[] = [configModule];
    for (const file of modules) exportsList.push(await importFile(path.join(root, file)));
    return { config, modules, ...buildProject(collectDefinitions(exportsList)) };
  } finally {
    await api.unregister();
  }
}
