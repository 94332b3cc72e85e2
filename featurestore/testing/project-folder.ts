/**
 * @module testing/project-folder
 * Test and bench support (not shipped): a project folder as a user has it — `package.json`
 * (ESM), `larder.config.ts`, one definitions module, an empty `data/`, and `node_modules/larder`
 * linked to this checkout so the modules' `import … from 'larder'` resolves.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ProjectFolderOptions {
  readonly project: string;
  /** The text of `features/defs.ts`. */
  readonly definitions: string;
  /** Default: the memory store. */
  readonly online?: { type: 'memory' } | { type: 'redis'; url: string };
}

/** Writes the folder's files into `dir` (created if needed) and returns `dir`. */
export function writeProjectFolder(dir: string, options: ProjectFolderOptions): string {
  mkdirSync(path.join(dir, 'features'), { recursive: true });
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  symlinkSync(fileURLToPath(new URL('../..', import.meta.url)), path.join(dir, 'node_modules', 'larder'), 'dir');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  writeFileSync(path.join(dir, 'larder.config.ts'), `import { defineConfig } from 'larder';\n\nexport default defineConfig(${JSON.stringify({
    project: options.project, definitions: ['features/**/*.ts'], online: options.online ?? { type: 'memory' },
  }, null, 2)});\n`);
  writeFileSync(path.join(dir, 'features', 'defs.ts'), options.definitions);
  return dir;
}
