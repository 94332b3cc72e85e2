/**
 * @module pipelines/jobs/runner.suite
 * The {@link JobRunner} contract as a test suite: `inline.test.ts` and `bullmq.test.ts` both run
 * it. Each test builds a runner around its own handlers (for BullMQ: its own queue prefix and
 * workers in this process), so handlers can record what they saw in plain arrays.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { isLarderError, larderError } from '../../errors.ts';
import { defaultFlowId } from './flow.ts';
import type { FlowProgressEvent, JobRunner, RetryOptions, StageHandlers, StageInput } from './types.ts';
import { codeOf } from '../../registry/testing/failure.ts';

export interface RunnerUnderTest {
  readonly runner: JobRunner;
  /** Starts whatever executes the stages (workers); returns how to stop it. Absent: the runner runs them itself. */
  readonly start?: () => Promise<() => Promise<void>>;
  /** Removes what the runner left behind (queues, keys), after `runner.close()`. */
  readonly dispose?: () => Promise<void>;
}

export type MakeRunner = (handlers: StageHandlers, retry: Required<RetryOptions>) => Promise<RunnerUnderTest>;

const RETRY = { attempts: 3, backoffMs: 20 } as const;

interface Call { stage: string; attempt: number; input: StageInput }


export function jobRunnerSuite(name: string, makeRunner: MakeRunner): void {
  describe(`JobRunner contract: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    /** A runner with its workers started; everything is closed after the test. */
    async function started(handlers: StageHandlers, retry: Required<RetryOptions> = RETRY): Promise<JobRunner> {
      const { runner, start, dispose } = await makeRunner(handlers, retry);
      if (dispose) cleanups.push(dispose);
      cleanups.push(() => runner.close());
      if (start) {
        const stop = await start();
        cleanups.push(stop);
      }
      return runner;
    }

    function recording(calls: Call[], stages: readonly string[], extra: Partial<Record<string, StageHandlers[string]>> = {}): StageHandlers {
      const handlers: Record<string, StageHandlers[string]> = {};
      for (const stage of stages) {
        handlers[stage] = async (input, ctx) => {
          calls.push({ stage, attempt: ctx.attempt, input: structuredClone(input) });
          const own = extra[stage];
          return own ? own(input, ctx) : { stage, n: Object.keys(input.results).length };
        };
      }
      return handlers;
    }

    const uniqueId = (): string => `flow-${randomUUID()}`;

    it('runs the stages in order; each sees the params and every earlier result', async () => {
      const calls: Call[] = [];
      const runner = await started(recording(calls, ['dataset', 'validate', 'train'], {
        dataset: async ({ params }) => ({ rows: (params['rows'] as number) * 2 }),
        train: async ({ results }) => ({ trainedOn: (results['dataset'] as { rows: number }).rows }),
      }));
      const result = await runner.runFlow({ kind: 'retrain', stages: ['dataset', 'validate', 'train'], params: { rows: 21, tags: ['a', 'b'] } });
      expect(result).toEqual({
        flowId: defaultFlowId({ kind: 'retrain', stages: ['dataset', 'validate', 'train'], params: { rows: 21, tags: ['a', 'b'] } }),
        state: 'completed',
        results: { dataset: { rows: 42 }, validate: { stage: 'validate', n: 1 }, train: { trainedOn: 42 } },
      });
      expect(calls.map((c) => c.stage)).toEqual(['dataset', 'validate', 'train']);
      for (const call of calls) expect(call.input.params).toEqual({ rows: 21, tags: ['a', 'b'] });
      expect(calls.map((c) => Object.keys(c.input.results).sort())).toEqual([[], ['dataset'], ['dataset', 'validate']]);
      expect(calls[2]?.input.results).toEqual({ dataset: { rows: 42 }, validate: { stage: 'validate', n: 1 } });
    });

    it('stores results as JSON: undefined becomes null, dates become strings', async () => {
      const runner = await started({
        nothing: async () => undefined,
        when: async () => ({ at: new Date(0) }),
        check: async ({ results }) => ({ seen: results }),
      });
      const result = await runner.runFlow({ kind: 'json', stages: ['nothing', 'when', 'check'], params: {}, flowId: uniqueId() });
      expect(result.results).toEqual({
        nothing: null,
        when: { at: '1970-01-01T00:00:00.000Z' },
        check: { seen: { nothing: null, when: { at: '1970-01-01T00:00:00.000Z' } } },
      });
    });

    it('reports progress per stage to onProgress and in flowStatus', async () => {
      const runner = await started({
        dataset: async (_input, ctx) => {
          await ctx.progress(50);
          await ctx.progress(100);
          return 'ok';
        },
        train: async (_input, ctx) => {
          ctx.log('epoch 1');
          await ctx.progress({ epoch: 1, loss: 0.5 });
          return 'ok';
        },
      });
      const events: FlowProgressEvent[] = [];
      const flowId = uniqueId();
      const result = await runner.runFlow({ kind: 'retrain', stages: ['dataset', 'train'], params: {}, flowId }, { onProgress: (e) => events.push(e) });
      expect(result.state).toBe('completed');
      expect(events).toEqual([
        { flowId, stage: 'dataset', progress: 50 },
        { flowId, stage: 'dataset', progress: 100 },
        { flowId, stage: 'train', progress: { epoch: 1, loss: 0.5 } },
      ]);
      const status = await runner.flowStatus(flowId);
      expect(status?.stages.map((s) => [s.stage, s.state, s.progress])).toEqual([
        ['dataset', 'completed', 100],
        ['train', 'completed', { epoch: 1, loss: 0.5 }],
      ]);
    });

    it('retries a transient failure with backoff, and the stage sees its attempt number', async () => {
      const calls: Call[] = [];
      const started_at: number[] = [];
      const runner = await started(recording(calls, ['dataset', 'train'], {
        dataset: async (_input, ctx) => {
          started_at.push(Date.now());
          if (ctx.attempt < 3) throw new Error(`connection reset (attempt ${ctx.attempt})`);
          return { attempt: ctx.attempt };
        },
      }), { attempts: 3, backoffMs: 40 });
      const flowId = uniqueId();
      const result = await runner.runFlow({ kind: 'retrain', stages: ['dataset', 'train'], params: {}, flowId });
      expect(result.state).toBe('completed');
      expect(result.results['dataset']).toEqual({ attempt: 3 });
      expect(calls.map((c) => [c.stage, c.attempt])).toEqual([['dataset', 1], ['dataset', 2], ['dataset', 3], ['train', 1]]);
      // Exponential: ≥ 40 ms before the first retry, ≥ 80 ms before the second.
      expect((started_at[1] as number) - (started_at[0] as number)).toBeGreaterThanOrEqual(35);
      expect((started_at[2] as number) - (started_at[1] as number)).toBeGreaterThanOrEqual(75);
      const status = await runner.flowStatus(flowId);
      expect(status?.stages.map((s) => [s.stage, s.state, s.attempts])).toEqual([['dataset', 'completed', 3], ['train', 'completed', 1]]);
    });

    it('fails the flow after the last attempt of a transient failure, keeping a 5xx code', async () => {
      const calls: Call[] = [];
      const runner = await started(recording(calls, ['dataset', 'train'], {
        dataset: async () => { throw larderError('LARDER_E_IO', { path: '/data/x.parquet', reason: 'EIO' }); },
      }), { attempts: 2, backoffMs: 10 });
      const flowId = uniqueId();
      const result = await runner.runFlow({ kind: 'retrain', stages: ['dataset', 'train'], params: {}, flowId });
      expect(result).toEqual({
        flowId, state: 'failed', results: {}, failedStage: 'dataset',
        error: { code: 'LARDER_E_IO', message: 'I/O failure on /data/x.parquet: EIO' },
      });
      expect(calls.map((c) => c.stage)).toEqual(['dataset', 'dataset']);
    });

    it('stops at a failed validation: no retry, nothing downstream runs, the report is attached', async () => {
      const calls: Call[] = [];
      const report = { issues: [{ code: 'null_rate', path: 'features.avg_delay', message: 'null rate 0.4 > 0.1', severity: 'error' }] };
      const runner = await started(recording(calls, ['dataset', 'validate', 'train', 'register'], {
        validate: async () => { throw larderError('LARDER_E_VALIDATION_FAILED', { count: 1, summary: 'null_rate' }, { details: report }); },
      }));
      const flowId = uniqueId();
      const result = await runner.runFlow({ kind: 'retrain', stages: ['dataset', 'validate', 'train', 'register'], params: {}, flowId });
      expect(result).toEqual({
        flowId, state: 'failed',
        results: { dataset: { stage: 'dataset', n: 0 } },
        failedStage: 'validate',
        error: { code: 'LARDER_E_VALIDATION_FAILED', message: 'Validation failed with 1 error(s): null_rate', details: report },
      });
      expect(calls.map((c) => c.stage)).toEqual(['dataset', 'validate']);
      const status = await runner.flowStatus(flowId);
      expect(status?.state).toBe('failed');
      expect(status?.stages.map((s) => [s.stage, s.state, s.attempts])).toEqual([
        ['dataset', 'completed', 1], ['validate', 'failed', 1], ['train', 'skipped', 0], ['register', 'skipped', 0],
      ]);
      expect(status?.stages[1]?.error).toEqual(result.error);
    });

    it('does not retry other caller mistakes (4xx codes)', async () => {
      const calls: Call[] = [];
      const runner = await started(recording(calls, ['dataset'], {
        dataset: async () => { throw larderError('LARDER_E_UNKNOWN_SERVICE', { name: 'nope' }); },
      }));
      const result = await runner.runFlow({ kind: 'retrain', stages: ['dataset'], params: {}, flowId: uniqueId() });
      expect(result.error?.code).toBe('LARDER_E_UNKNOWN_SERVICE');
      expect(calls).toHaveLength(1);
    });

    it('is idempotent by flowId: submitting the same flow again runs nothing new', async () => {
      const calls: Call[] = [];
      const runner = await started(recording(calls, ['dataset', 'train']));
      const request = { kind: 'retrain', stages: ['dataset', 'train'], params: { day: '2026-11-29' } } as const;
      const [a, b] = await Promise.all([runner.submitFlow(request), runner.submitFlow(request)]);
      expect([a.created, b.created].sort()).toEqual([false, true]);
      expect(a.flowId).toBe(b.flowId);
      const first = await runner.runFlow(request);
      const second = await runner.runFlow(request);
      expect(await runner.submitFlow(request)).toEqual({ flowId: a.flowId, created: false });
      expect(second).toEqual(first);
      expect(first.state).toBe('completed');
      expect(calls.map((c) => c.stage)).toEqual(['dataset', 'train']);
      // Other params, other flow.
      const other = await runner.runFlow({ ...request, params: { day: '2026-11-30' } });
      expect(other.flowId).not.toBe(first.flowId);
      expect(calls).toHaveLength(4);
    });

    it('keeps a failed flow failed under its flowId', async () => {
      const calls: Call[] = [];
      const runner = await started(recording(calls, ['validate'], {
        validate: async () => { throw larderError('LARDER_E_VALIDATION_FAILED', { count: 1, summary: 'x' }); },
      }));
      const request = { kind: 'retrain', stages: ['validate'], params: {}, flowId: uniqueId() };
      const first = await runner.runFlow(request);
      expect(await runner.submitFlow(request)).toEqual({ flowId: request.flowId, created: false });
      expect(await runner.runFlow(request)).toEqual(first);
      expect(calls).toHaveLength(1);
    });

    it('answers flowStatus per stage, and undefined for an unknown flow', async () => {
      const runner = await started({ a: async () => 1, b: async () => ({ two: 2 }) });
      expect(await runner.flowStatus(uniqueId())).toBeUndefined();
      const flowId = uniqueId();
      await runner.runFlow({ kind: 'status', stages: ['a', 'b'], params: { p: 1 }, flowId });
      expect(await runner.flowStatus(flowId)).toEqual({
        flowId, kind: 'status', params: { p: 1 }, state: 'completed',
        stages: [
          { stage: 'a', state: 'completed', attempts: 1, progress: 0, result: 1 },
          { stage: 'b', state: 'completed', attempts: 1, progress: 0, result: { two: 2 } },
        ],
      });
    });

    it('rejects malformed requests with LARDER_E_INVALID_REQUEST', async () => {
      const runner = await started({ a: async () => 1 });
      expect(await codeOf(runner.submitFlow({ kind: 'Bad Kind', stages: ['a'], params: {} }))).toBe('LARDER_E_INVALID_REQUEST');
      expect(await codeOf(runner.submitFlow({ kind: 'k', stages: [], params: {} }))).toBe('LARDER_E_INVALID_REQUEST');
      expect(await codeOf(runner.submitFlow({ kind: 'k', stages: ['a', 'a'], params: {} }))).toBe('LARDER_E_INVALID_REQUEST');
      expect(await codeOf(runner.submitFlow({ kind: 'k', stages: ['a'], params: {}, flowId: 'has:colon' }))).toBe('LARDER_E_INVALID_REQUEST');
      expect(await codeOf(runner.submitFlow({ kind: 'k', stages: ['a'], params: {}, flowId: '12345' }))).toBe('LARDER_E_INVALID_REQUEST');
      expect(await codeOf(runner.runFlow({ kind: 'k', stages: ['a.b'], params: {} }))).toBe('LARDER_E_INVALID_REQUEST');
    });

    it('stops waiting when the signal aborts', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      const runner = await started({ slow: async () => { await gate; return 'done'; } });
      const controller = new AbortController();
      const flowId = uniqueId();
      const waiting = runner.runFlow({ kind: 'slow', stages: ['slow'], params: {}, flowId }, { signal: controller.signal });
      controller.abort();
      expect(await codeOf(waiting)).toBe('LARDER_E_ABORTED');
      release();
      expect((await runner.runFlow({ kind: 'slow', stages: ['slow'], params: {}, flowId })).results).toEqual({ slow: 'done' });
    });
  });
}
