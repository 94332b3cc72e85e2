/**
 * @module threads
 * Worker threads running Larder's TypeScript. A worker's entry module loads before `--import`
 * hooks apply to it, so `new Worker('x.ts')` fails even under tsx; the worker is started from a
 * one-line bootstrap that registers tsx's loader and then imports the entry. Used for CPU-bound
 * work that must not block an event loop (training inside a BullMQ worker, whose lock renewals
 * need the loop; heavy model inference in `larder serve`).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on a TypeScript module.
 * @example const worker = startTsWorker(new URL('./train-worker.ts', import.meta.url));
 */
export function startTsWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  // Resolved here, from Larder's own folder: the worker's bare specifiers would resolve from the cwd.
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
