/**
 * @module pipelines/jobs/testing/child-worker
 * Starts `worker-process.ts` in a child process and turns its stdout lines into awaitable events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const ENTRY = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

export interface ChildWorker {
  readonly child: ChildProcess;
  /** Everything printed so far, one entry per line. */
  readonly lines: readonly string[];
  /** Resolves with the first line (already printed or still to come) that matches. */
  line(match: RegExp): Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ChildWorkerEnv {
  readonly REDIS_URL: string;
  readonly JOBS_PREFIX: string;
  readonly JOBS_DIR: string;
  readonly LOCK_MS?: string;
  readonly STALLED_MS?: string;
  readonly RETURN_AFTER_MS?: string;
}

/** Starts the worker process and resolves once it prints `ready`. */
export async function startChildWorker(env: ChildWorkerEnv): Promise<ChildWorker> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: { match: RegExp; resolve: (line: string) => void }[] = [];
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.match.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const worker: ChildWorker = {
    child, lines, exited,
    line(match) {
      const seen = lines.find((l) => match.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        exited.then(({ code, signal }) => reject(new Error(`worker exited (${code ?? signal}) before printing ${match}; it printed:\n${lines.join('\n')}`)));
      });
    },
  };
  await worker.line(/^ready$/);
  return worker;
}
