/**
 * @module pipelines/jobs/bullmq
 * The {@link JobRunner} on BullMQ: flows are submitted as parent/child job chains (see
 * bullmq-flow.ts) that any number of {@link startWorker} processes run, and schedules fire flows
 * through BullMQ job schedulers. The runner itself runs no stages; with no worker attached a
 * submitted flow waits in Redis.
 */
import { FlowProducer, Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { isLarderError } from '../../errors.ts';
import { addFlow, DEFAULT_QUEUE, readFlowStatus, redisOptions, stageOfJobId } from './bullmq-flow.ts';
import { abortedError, resolveFlow, resolveRetry, resultOfStatus } from './flow.ts';
import { deleteSchedule, readSchedules, upsertSchedule } from './schedules.ts';
import type { FlowResult, FlowScheduler, JobRunner, RetryOptions, RunFlowOptions } from './types.ts';

export interface BullmqRunnerOptions extends RetryOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  readonly connection: string;
  /** Namespace of the queue's keys (BullMQ prefix); workers must use the same. */
  readonly prefix: string;
  readonly queueName?: string;
}

export type BullmqRunner = JobRunner & FlowScheduler;

/**
 * Creates a runner that submits flows to BullMQ; start workers with {@link startWorker}.
 * @example
 * const runner = createBullmqRunner({ connection: 'redis://127.0.0.1:6379', prefix: 'larder' });
 * await runner.setSchedule({ id: 'weekly-retrain', pattern: '0 3 * * 1', flow: { kind: 'retrain', stages, params } });
 */
export function createBullmqRunner(options: BullmqRunnerOptions): BullmqRunner {
  const retry = resolveRetry(options);
  const queueName = options.queueName ?? DEFAULT_QUEUE;
  const { prefix } = options;
  const queue = new Queue(queueName, { connection: redisOptions(options.connection, false), prefix });
  const producer = new FlowProducer({ connection: redisOptions(options.connection, false), prefix });
  // Errors also reach the calls that hit them; without listeners EventEmitter would throw them.
  queue.on('error', () => undefined);
  producer.on('error', () => undefined);
  let events: Promise<QueueEvents> | undefined;
  /** Aborted by close(): runFlow calls still waiting reject instead of hanging. */
  const closing = new AbortController();

  /**
   * One QueueEvents for the runner, reading the event stream from its current end. Starting at a
   * known id (rather than `$` when its first read happens) means no event written after this call
   * is missed, which runFlow relies on: it listens, then checks the state.
   */
  function queueEvents(): Promise<QueueEvents> {
    if (closing.signal.aborted) return Promise.reject(abortedError('waiting for a flow: the runner is closed'));
    events ??= (async () => {
      const client = new Redis(options.connection, { lazyConnect: true, maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      let lastEventId = '0-0';
      try {
        const [last] = await client.xrevrange(queue.keys['events'] as string, '+', '-', 'COUNT', 1);
        if (last !== undefined) lastEventId = last[0];
      } finally {
        client.disconnect();
      }
      const created = new QueueEvents(queueName, { connection: redisOptions(options.connection, true), prefix, lastEventId });
      created.on('error', () => undefined);
      created.setMaxListeners(0); // three listeners per waiting runFlow call
      await created.waitUntilReady();
      return created;
    })();
    return events;
  }

  /** Resolves when the flow's root job has completed or failed; `stop` ends the wait with its reason. */
  async function waitForFlow(flowId: string, stages: readonly string[], runOptions: RunFlowOptions, stop: AbortSignal): Promise<void> {
    const { signal, onProgress } = runOptions;
    const source = await queueEvents();
    await new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        source.off('completed', onFinished);
        source.off('failed', onFinished);
        source.off('progress', onProgressEvent);
        signal?.removeEventListener('abort', onAbort);
        closing.signal.removeEventListener('abort', onClose);
        stop.removeEventListener('abort', onStop);
      };
      const finish = (error?: unknown): void => {
        cleanup();
        if (error === undefined) resolve();
        else reject(error);
      };
      const onFinished = ({ jobId }: { jobId: string }): void => {
        if (jobId === flowId) finish();
      };
      const onProgressEvent = ({ jobId, data }: { jobId: string; data: unknown }): void => {
        const stage = stageOfJobId(flowId, stages, jobId);
        if (stage !== undefined && onProgress) onProgress({ flowId, stage, progress: data as number | Record<string, unknown> });
      };
      const onAbort = (): void => finish(abortedError(`waiting for flow ${flowId}`, signal?.reason));
      const onClose = (): void => finish(abortedError(`waiting for flow ${flowId}: the runner closed`));
      const onStop = (): void => finish(stop.reason);
      source.on('completed', onFinished);
      source.on('failed', onFinished);
      source.on('progress', onProgressEvent);
      signal?.addEventListener('abort', onAbort, { once: true });
      closing.signal.addEventListener('abort', onClose, { once: true });
      stop.addEventListener('abort', onStop, { once: true });
      if (signal?.aborted) return onAbort();
      if (closing.signal.aborted) return onClose();
      if (stop.aborted) return onStop();
      // Listening first, then looking: a flow that finished before we listened is seen here.
      Job.fromId(queue, flowId)
        .then(async (root) => {
          const state = root === undefined ? 'unknown' : await root.getState();
          if (state === 'completed' || state === 'failed') finish();
        })
        .catch((error: unknown) => finish(error));
    });
  }

  /** Runs `work`; a failure caused by close() (closed connections) is reported as LARDER_E_ABORTED. */
  async function whileOpen<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (closing.signal.aborted) throw abortedError(`${what}: the runner is closed`);
    try {
      return await work();
    } catch (error) {
      if (closing.signal.aborted && !(isLarderError(error) && error.code === 'LARDER_E_ABORTED')) {
        throw abortedError(`${what}: the runner closed`, error);
      }
      throw error;
    }
  }

  async function resultOf(flowId: string): Promise<FlowResult> {
    const status = await readFlowStatus(queue, flowId);
    if (status === undefined) throw new Error(`flow ${flowId} vanished from queue ${queueName}`);
    return resultOfStatus(status);
  }

  return {
    submitFlow: (request) => whileOpen('submitting a flow', async () => addFlow(producer, queue, resolveFlow(request), retry)),

    runFlow: (request, runOptions = {}) => whileOpen('running a flow', async () => {
      if (runOptions.signal?.aborted) throw abortedError('waiting for a flow', runOptions.signal.reason);
      const flow = resolveFlow(request);
      await queueEvents();
      const existing = await Job.fromId<{ stages: readonly string[] }>(queue, flow.flowId);
      // An existing flowId keeps the stages it was submitted with.
      const stages = existing?.data.stages ?? flow.stages;
      const stop = new AbortController();
      const waiting = waitForFlow(flow.flowId, stages, runOptions, stop.signal);
      waiting.catch(() => undefined);
      try {
        await addFlow(producer, queue, flow, retry);
      } catch (error) {
        stop.abort(error); // no listeners left behind
        throw error;
      }
      await waiting;
      return resultOf(flow.flowId);
    }),

    flowStatus: (flowId) => readFlowStatus(queue, flowId),

    setSchedule: (spec) => upsertSchedule(queue, spec, retry),
    listSchedules: () => readSchedules(queue),
    removeSchedule: (id) => deleteSchedule(queue, id),

    async close() {
      closing.abort();
      const source = events;
      await Promise.allSettled([
        source?.then((e) => e.close()),
        producer.close(),
        queue.close(),
      ]);
    },
  };
}
