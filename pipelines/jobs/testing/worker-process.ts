/**
 * A worker in its own process for the kill and shutdown tests, as `larder worker` would run one:
 * `node --import tsx pipelines/jobs/testing/worker-process.ts`. Configured by environment:
 * REDIS_URL, JOBS_PREFIX, JOBS_DIR (for the fixture handlers), LOCK_MS, STALLED_MS and
 * RETURN_AFTER_MS (optional). Prints `ready` once it takes jobs and a line per stage event.
 */
import { fixtureHandlers } from './fixture-handlers.ts';
import { installGracefulShutdown, startWorker } from '../worker.ts';

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

const say = (line: string): void => { process.stdout.write(`${line}\n`); };
const worker = await startWorker({
  connection: env('REDIS_URL'),
  prefix: env('JOBS_PREFIX'),
  handlers: fixtureHandlers(env('JOBS_DIR'), say),
  lockDurationMs: Number(process.env['LOCK_MS'] ?? 30_000),
  stalledIntervalMs: Number(process.env['STALLED_MS'] ?? 30_000),
});
const returnAfter = process.env['RETURN_AFTER_MS'];
installGracefulShutdown(worker, {
  ...(returnAfter === undefined ? {} : { returnAfterMs: Number(returnAfter) }),
  log: say,
});
say('ready');
