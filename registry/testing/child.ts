/**
 * @module registry/testing/child
 * Runs `registry-child.ts` in a separate Node process and reads its JSON lines.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./registry-child.ts', import.meta.url));
/** The repository root, where `--import tsx` resolves. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RegistryChild {
  readonly process: ChildProcessWithoutNullStreams;
  /** The next JSON line the child prints. */
  next(): Promise<Record<string, unknown>>;
  /** Resolves with the exit code once the child has exited. */
  readonly exited: Promise<number | null>;
}

export function startChild(args: readonly string[]): RegistryChild {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: ROOT, stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    process: child,
    exited,
    async next() {
      const line = await lines.next();
      if (line.done) throw new Error(`registry child ended without output (exit ${String(await exited)}): ${stderr}`);
      return JSON.parse(line.value) as Record<string, unknown>;
    },
  };
}

/** Runs one child to completion and returns its single output line. */
export async function runChild(args: readonly string[]): Promise<Record<string, unknown>> {
  const child = startChild(args);
  const out = await child.next();
  await child.exited;
  return out;
}
