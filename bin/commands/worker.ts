/**
 * @module commands/worker
 * `larder worker`: runs the project's pipeline stages (retraining flows, scheduled incremental
 * materialization) from its BullMQ queue until SIGTERM/SIGINT, which lets the current job finish
 * (or, after --return-after, hands it back to the queue) before exiting 0.
 */
import { loadProject } from '../../featurestore/load.ts';
import type { Command, CommandContext } from '../command.ts';
import { usageError } from '../output.ts';
import { requireQueueTarget } from './jobs-target.ts';

const USAGE = `Usage: larder worker [--concurrency N] [--return-after SECONDS] [--lock-duration SECONDS] [--project DIR]

Takes jobs from the project's queue (REDIS_URL; prefix larder-<project>, or LARDER_QUEUE_PREFIX)
and runs them: the retraining flow's stages and scheduled materializations. Jobs that fail with a
transient error are retried with exponential backoff; validation failures are not. A job whose
worker dies is picked up by another worker. On SIGTERM or SIGINT the worker stops taking jobs,
finishes the current one (or returns it to the queue after --return-after seconds) and exits 0;
a second signal exits at once. --lock-duration (default 30) is how long a job's lock lives
without renewal, and so how soon another worker takes over the job of one that died.`;

export const workerCommand: Command = {
  summary: 'run pipeline jobs (training flows, scheduled materialization) from the queue',
  usage: USAGE,
  options: { concurrency: { type: 'string' }, 'return-after': { type: 'string' }, 'lock-duration': { type: 'string' } },
  async run({ io, values, projectDir }: CommandContext): Promise<number> {
    const concurrency = values.concurrency === undefined ? 1 : Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw usageError('--concurrency needs a whole number of 1 or more');
    const returnAfter = values['return-after'] === undefined ? undefined : Number(values['return-after']);
    if (returnAfter !== undefined && !(returnAfter >= 0)) throw usageError('--return-after needs a number of seconds');
    const lockSeconds = values['lock-duration'] === undefined ? 30 : Number(values['lock-duration']);
    if (!(lockSeconds >= 1)) throw usageError('--lock-duration needs a number of seconds, at least 1');
    const { config } = await loadProject(projectDir);
    const target = requireQueueTarget(config, 'larder worker');
    const { startWorker, installGracefulShutdown } = await import('../../pipelines/jobs/worker.ts');
    const { workerStages } = await import('../../pipelines/handlers.ts');
    const worker = await startWorker({
      ...target, handlers: workerStages(), concurrency, name: `larder-worker-${process.pid}`,
      lockDurationMs: lockSeconds * 1000, stalledIntervalMs: lockSeconds * 1000,
    });
    installGracefulShutdown(worker, {
      log: (line) => io.err(line),
      ...(returnAfter === undefined ? {} : { returnAfterMs: returnAfter * 1000 }),
    });
    io.err(`larder worker ${process.pid}: project ${config.project}, queue prefix ${target.prefix}, concurrency ${concurrency}; SIGTERM to stop`);
    await worker.closed;
    return 0;
  },
};
