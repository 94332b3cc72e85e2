/**
 * @module pipelines/jobs/worker
 * The BullMQ worker behind `larder worker`: it runs the stages of flows submitted by
 * {@link createBullmqRunner} with the handlers it is given, launches the flows that schedules fire,
 * and shuts down gracefully. A worker that dies mid-stage loses its lock; after `lockDurationMs`
 * another worker's stalled check (every `stalledIntervalMs`) puts the job back and runs it again.
 */
import { FlowProducer, Job, Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { larderError, reasonOf } from '../../errors.ts';
import { addFlow, DEFAULT_QUEUE, LAUNCH_JOB, redisOptions, stageOfJobId, type LaunchJobData, type StageJobData } from './bullmq-flow.ts';
import { isRetryable, resolveFlow, toStageError } from './flow.ts';
import type { StageContext, StageHandlers, StageProgress } from './types.ts';

export interface StartWorkerOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  readonly connection: string;
  /** Namespace of the queue's keys; must match the runner's. */
  readonly prefix: string;
  readonly queueName?: string;
  readonly handlers: StageHandlers;
  /** Jobs run at once by this worker. Default 1. */
  readonly concurrency?: number;
  /** How long a job's lock lives without renewal: how soon a dead worker's job is noticed. Default 30000. */
  readonly lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died. Default 30000. */
  readonly stalledIntervalMs?: number;
  /** Times a job may be recovered from a dead worker before it fails. Default 1 (at least 1). */
  readonly maxStalledCount?: number;
  /** Shown in BullMQ's job records as the worker that ran the job. */
  readonly name?: string;
  /** Connection and bookkeeping errors that do not belong to a job. Default: `console.error`. */
  readonly onError?: (error: Error) => void;
}

export interface CloseWorkerOptions {
  /**
   * If the current job is still running after this long, abort its `ctx.signal`; a stage that
   * gives up is put back in the queue (not counted as a failed attempt) for another worker.
   * Default: wait for the job however long it takes.
   */
  readonly returnAfterMs?: number;
}

export interface RunningWorker {
  /** Stops taking jobs and resolves once the current ones are finished (or returned) and connections are closed. */
  close(options?: CloseWorkerOptions): Promise<void>;
  /** Settles when the worker has closed, whoever closed it. */
  readonly closed: Promise<void>;
}

type AnyJob = Job<StageJobData | LaunchJobData>;

/** The return values of the stages before this one, walking down the chain of children. */
async function earlierResults(queue: Queue, job: Job<StageJobData>): Promise<Record<string, unknown>> {
  const { flowId, stages } = job.data;
  const results: Record<string, unknown> = {};
  let current: Job | undefined = job;
  while (current !== undefined) {
    const values: Record<string, unknown> = await current.getChildrenValues();
    const child: [string, unknown] | undefined = Object.entries(values)[0];
    if (child === undefined) break;
    const [key, value] = child;
    // Keys are `<prefix>:<queue>:<jobId>` and our job ids hold no ':'.
    const childId: string = key.slice(key.lastIndexOf(':') + 1);
    const stage = stageOfJobId(flowId, stages, childId);
    if (stage === undefined) break;
    results[stage] = value;
    current = await Job.fromId(queue, childId);
  }
  return results;
}

/** When a schedule fired: from BullMQ's scheduler job id `repeat:<scheduler>:<millis>`. */
function firingTime(job: AnyJob): number {
  const match = /:(\d+)$/.exec(job.id ?? '');
  return match ? Number(match[1]) : job.timestamp + (job.opts.delay ?? 0);
}

/**
 * Starts a worker that runs flow stages with `handlers` until closed.
 * @example
 * const worker = await startWorker({ connection: process.env.REDIS_URL!, prefix: 'larder', handlers });
 * installGracefulShutdown(worker);
 */
export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const queueName = options.queueName ?? DEFAULT_QUEUE;
  const { prefix, handlers } = options;
  const onError = options.onError ?? ((error: Error) => console.error(`larder worker: ${error.message}`));
  const queue = new Queue(queueName, { connection: redisOptions(options.connection, false), prefix });
  queue.on('error', onError);
  let producer: FlowProducer | undefined;
  let returning = false;

  async function launch(job: Job<LaunchJobData>): Promise<unknown> {
    const { scheduleId, flow, retry } = job.data;
    const resolved = resolveFlow({ ...flow, flowId: `${scheduleId}@${firingTime(job)}` });
    if (producer === undefined) {
      producer = new FlowProducer({ connection: redisOptions(options.connection, false), prefix });
      producer.on('error', onError);
    }
    return addFlow(producer, queue, resolved, retry);
  }

  async function runStage(job: Job<StageJobData>, token: string | undefined, signal: AbortSignal): Promise<unknown> {
    const data = job.data;
    const handler = Object.hasOwn(handlers, data.stage) ? handlers[data.stage] : undefined;
    if (handler === undefined) {
      const error = larderError('LARDER_E_INVALID_REQUEST', { reason: `this worker has no handler for stage ${data.stage}` });
      await job.updateData({ ...data, error: toStageError(error) });
      throw new UnrecoverableError(error.message);
    }
    const results = await earlierResults(queue, job);
    const ctx: StageContext = {
      flowId: data.flowId,
      stage: data.stage,
      attempt: job.attemptsStarted,
      signal,
      progress: (value: StageProgress) => job.updateProgress(value),
      log: (message: string) => {
        job.log(message).catch((error: unknown) => onError(new Error(`job log: ${reasonOf(error)}`)));
      },
    };
    try {
      const value = await handler({ params: data.params, results }, ctx);
      return value === undefined ? null : value;
    } catch (error) {
      if (returning && signal.aborted && token !== undefined) {
        // Shutting down: hand the job back without spending an attempt.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const stageError = toStageError(error);
      await job.updateData({ ...data, error: stageError });
      if (!isRetryable(error)) throw new UnrecoverableError(stageError.message);
      throw error instanceof Error ? error : new Error(stageError.message);
    }
  }

  const worker = new Worker<StageJobData | LaunchJobData>(
    queueName,
    // Three parameters: BullMQ passes the abort signal only to processors that declare it.
    async (job: AnyJob, token: string | undefined, signal?: AbortSignal) => {
      if (job.name === LAUNCH_JOB) return launch(job as Job<LaunchJobData>);
      return runStage(job as Job<StageJobData>, token, signal ?? new AbortController().signal);
    },
    {
      connection: redisOptions(options.connection, true),
      prefix,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? 30_000,
      maxStalledCount: Math.max(1, options.maxStalledCount ?? 1),
      ...(options.name === undefined ? {} : { name: options.name }),
    },
  );
  worker.on('error', onError);
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => { resolveClosed = resolve; });
  worker.on('closed', () => resolveClosed());
  await worker.waitUntilReady();

  let closing: Promise<void> | undefined;
  return {
    closed,
    close(closeOptions: CloseWorkerOptions = {}) {
      closing ??= (async () => {
        const timer = closeOptions.returnAfterMs === undefined ? undefined : setTimeout(() => {
          returning = true;
          worker.cancelAllJobs('the worker is shutting down');
        }, closeOptions.returnAfterMs);
        try {
          await worker.close();
        } finally {
          clearTimeout(timer);
          await producer?.close();
          await queue.close();
          resolveClosed();
        }
      })();
      return closing;
    },
  };
}

export interface GracefulShutdownOptions extends CloseWorkerOptions {
  readonly signals?: readonly NodeJS.Signals[];
  /** Default `process.exit`. */
  readonly exit?: (code: number) => void;
  /** Default `console.error`. */
  readonly log?: (message: string) => void;
}

/**
 * On SIGTERM or SIGINT, closes the worker gracefully (the current job finishes, or is returned
 * after `returnAfterMs`) and exits 0; a second signal exits 1 at once, leaving the job to the
 * stalled check of another worker. Returns a function that removes the handlers.
 */
export function installGracefulShutdown(worker: RunningWorker, options: GracefulShutdownOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const log = options.log ?? ((message: string) => console.error(message));
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      log(`larder worker: ${signal} again, exiting without waiting`);
      exit(1);
      return;
    }
    shuttingDown = true;
    log(`larder worker: ${signal}, finishing the current job before exiting`);
    const closeOptions = options.returnAfterMs === undefined ? {} : { returnAfterMs: options.returnAfterMs };
    worker.close(closeOptions).then(
      () => exit(0),
      (error: unknown) => {
        log(`larder worker: closing failed: ${reasonOf(error)}`);
        exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
