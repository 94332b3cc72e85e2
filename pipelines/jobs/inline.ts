/**
 * @module pipelines/jobs/inline
 * The embedded {@link JobRunner}: stages run in this process, one after another, with the same
 * retry rules, results and statuses as the BullMQ runner. Flow state lives in memory, so a flowId
 * is idempotent for the life of the runner; nothing survives a restart. Used when there is no
 * Redis (the default project setup) and in tests.
 */
import { larderError } from '../../errors.ts';
import {
  abortedError, backoffDelay, isRetryable, missingHandlers, resolveFlow, resolveRetry, resultOfStatus, sleep, toStageError,
  type ResolvedFlow,
} from './flow.ts';
import type {
  FlowProgressEvent, FlowRequest, FlowResult, FlowState, FlowStatus, JobRunner, RetryOptions, RunFlowOptions, StageError,
  StageHandlers, StageProgress, StageState,
} from './types.ts';

export interface InlineRunnerOptions extends RetryOptions {
  /** Where `ctx.log` lines go; dropped by default. */
  readonly log?: (line: { flowId: string; stage: string; message: string }) => void;
}

interface StageRecord {
  stage: string;
  state: StageState;
  attempts: number;
  progress: StageProgress;
  result?: unknown;
  error?: StageError;
}

interface FlowRecord {
  readonly flow: ResolvedFlow;
  readonly stages: StageRecord[];
  state: FlowState;
  done?: Promise<FlowResult>;
}

/**
 * Creates a runner that executes flows in this process.
 * @example
 * const runner = createInlineRunner({ validate, train }, { attempts: 3, backoffMs: 1000 });
 * const result = await runner.runFlow({ kind: 'retrain', stages: ['validate', 'train'], params: {} });
 */
export function createInlineRunner(handlers: StageHandlers, options: InlineRunnerOptions = {}): JobRunner {
  const retry = resolveRetry(options);
  const flows = new Map<string, FlowRecord>();
  const listeners = new Set<(event: FlowProgressEvent) => void>();
  const closing = new AbortController();

  function statusOf(record: FlowRecord): FlowStatus {
    return {
      flowId: record.flow.flowId,
      kind: record.flow.kind,
      params: record.flow.params,
      state: record.state,
      stages: record.stages.map((s) => ({ ...s, ...(s.error === undefined ? {} : { error: { ...s.error } }) })),
    };
  }

  async function runStage(record: FlowRecord, index: number, results: Record<string, unknown>): Promise<boolean> {
    const stage = record.stages[index] as StageRecord;
    const handler = handlers[stage.stage];
    if (handler === undefined) throw new Error(`no handler for stage ${stage.stage}`); // checked on submit
    for (;;) {
      stage.state = 'active';
      stage.attempts += 1;
      const ctx = {
        flowId: record.flow.flowId,
        stage: stage.stage,
        attempt: stage.attempts,
        signal: closing.signal,
        progress: async (value: StageProgress): Promise<void> => {
          stage.progress = value;
          for (const listener of listeners) listener({ flowId: record.flow.flowId, stage: stage.stage, progress: value });
        },
        log: (message: string): void => options.log?.({ flowId: record.flow.flowId, stage: stage.stage, message }),
      };
      try {
        const value: unknown = await handler({ params: record.flow.params, results: { ...results } }, ctx);
        // Through JSON, so results look exactly as they do after a trip through Redis.
        const stored: unknown = JSON.parse(JSON.stringify(value ?? null));
        stage.result = stored;
        results[stage.stage] = stored;
        stage.state = 'completed';
        return true;
      } catch (error) {
        const aborted = closing.signal.aborted;
        if (aborted || !isRetryable(error) || stage.attempts >= retry.attempts) {
          stage.state = 'failed';
          stage.error = toStageError(aborted ? abortedError(`stage ${stage.stage} of flow ${record.flow.flowId}: the runner closed`, error) : error);
          return false;
        }
        stage.state = 'delayed';
        try {
          await sleep(backoffDelay(retry, stage.attempts), closing.signal);
        } catch {
          stage.state = 'failed';
          stage.error = toStageError(abortedError(`stage ${stage.stage} of flow ${record.flow.flowId}: the runner closed`));
          return false;
        }
      }
    }
  }

  async function run(record: FlowRecord): Promise<FlowResult> {
    const results: Record<string, unknown> = {};
    for (let index = 0; index < record.stages.length; index++) {
      const stage = record.stages[index] as StageRecord;
      stage.state = 'waiting';
      if (!(await runStage(record, index, results))) {
        for (const later of record.stages.slice(index + 1)) later.state = 'skipped';
        record.state = 'failed';
        return resultOfStatus(statusOf(record));
      }
    }
    record.state = 'completed';
    return resultOfStatus(statusOf(record));
  }

  function submit(request: FlowRequest): { record: FlowRecord; created: boolean } {
    if (closing.signal.aborted) throw abortedError('submitting a flow: the inline runner is closed');
    const flow = resolveFlow(request);
    const existing = flows.get(flow.flowId);
    if (existing !== undefined) return { record: existing, created: false };
    const missing = missingHandlers(flow.stages, handlers);
    if (missing.length > 0) {
      throw larderError('LARDER_E_INVALID_REQUEST', { reason: `no handler for stage(s) ${missing.join(', ')}` }, { details: { missing } });
    }
    const record: FlowRecord = {
      flow,
      state: 'running',
      stages: flow.stages.map((stage) => ({ stage, state: 'pending', attempts: 0, progress: 0 })),
    };
    flows.set(flow.flowId, record);
    record.done = run(record);
    return { record, created: true };
  }

  return {
    async submitFlow(request) {
      const { record, created } = submit(request);
      return { flowId: record.flow.flowId, created };
    },

    async runFlow(request: FlowRequest, runOptions: RunFlowOptions = {}) {
      const { signal, onProgress } = runOptions;
      if (signal?.aborted) throw abortedError('waiting for a flow', signal.reason);
      // Listen before submitting: a stage may report progress before submit() returns.
      const flowId = resolveFlow(request).flowId;
      const listener = onProgress === undefined ? undefined : (event: FlowProgressEvent): void => {
        if (event.flowId === flowId) onProgress(event);
      };
      if (listener) listeners.add(listener);
      try {
        const { record } = submit(request);
        const done = record.done as Promise<FlowResult>;
        if (signal === undefined) return await done;
        return await new Promise<FlowResult>((resolve, reject) => {
          const onAbort = (): void => reject(abortedError(`waiting for flow ${flowId}`, signal.reason));
          signal.addEventListener('abort', onAbort, { once: true });
          done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
        });
      } finally {
        if (listener) listeners.delete(listener);
      }
    },

    async flowStatus(flowId) {
      const record = flows.get(flowId);
      return record === undefined ? undefined : statusOf(record);
    },

    async close() {
      closing.abort(abortedError('the inline runner closed'));
      await Promise.allSettled([...flows.values()].map((record) => record.done));
      listeners.clear();
    },
  };
}
