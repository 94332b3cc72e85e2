import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError } from '../output.ts';

/** The larder package this command runs from. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EXAMPLE_DIR = path.join(PACKAGE_ROOT, 'fixtures', 'example');

function resolvesLarder(dir: string): boolean {
  try {
    createRequire(path.join(dir, 'package.json')).resolve('larder/package.json');
    return true;
  } catch {
    return false;
  }
}

/** Copies the example project into `target`, making `import … from 'larder'` resolve there. */
export async function scaffoldProject(target: string): Promise<string[]> {
  await mkdir(target, { recursive: true });
  const existing = (await readdir(target)).filter((f) => !f.startsWith('.'));
  if (existing.includes('larder.config.ts')) throw usageError(`${target} already has a larder.config.ts`);
  const written: string[] = [];
  for (const item of ['larder.config.ts', 'features', 'data']) {
    await cp(path.join(EXAMPLE_DIR, item), path.join(target, item), { recursive: true, errorOnExist: true, force: false });
    written.push(item);
  }
  if (!existsSync(path.join(target, 'package.json'))) {
    const pkg = {
      name: path.basename(path.resolve(target)).toLowerCase().replace(/[^a-z0-9-]/g, '-') || 'larder-project',
      private: true,
      type: 'module',
      dependencies: { larder: `file:${PACKAGE_ROOT}` },
    };
    await writeFile(path.join(target, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    written.push('package.json');
  }
  if (!existsSync(path.join(target, '.gitignore'))) {
    await writeFile(path.join(target, '.gitignore'), 'node_modules/\n.larder/\n');
    written.push('.gitignore');
  }
  if (!resolvesLarder(target)) {
    // What `npm install` of the file: dependency would do, so the project works at once.
    await mkdir(path.join(target, 'node_modules'), { recursive: true });
    await symlink(PACKAGE_ROOT, path.join(target, 'node_modules', 'larder'), 'dir');
    written.push('node_modules/larder');
  }
  return written;
}

export const initCommand: Command = {
  summary: 'scaffold a working example project in DIR (default: the current folder)',
  usage: 'Usage: larder init [DIR] [--json]',
  options: {},
  async run({ io, positionals, values }: CommandContext): Promise<number> {
    const target = path.resolve(positionals[0] ?? (typeof values.project === 'string' ? values.project : '.'));
    const written = await scaffoldProject(target);
    if (io.json) io.out(JSON.stringify({ dir: target, written }));
    else {
      io.out(`Created a Larder project in ${target}: ${written.join(', ')}`);
      io.out('Next:');
      io.out(`  npx larder plan --project ${target}`);
      io.out(`  npx larder apply --project ${target}`);
      io.out(`  npx larder dataset --project ${target} --entities data/trips.parquet --service ride_model --out train.parquet`);
    }
    return EXIT.ok;
  },
};
