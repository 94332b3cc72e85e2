import { afterEach, describe, expect, it } from 'vitest';
import { isLarderError } from '../../errors.ts';
import { requireRedisForTests, TEST_REDIS_URL } from '../../featurestore/online/testing/redis-for-tests.ts';
import { createBullmqRunner, type BullmqRunner } from './bullmq.ts';
import { jobRunnerSuite } from './runner.suite.ts';
import { countQueueKeys, deleteQueueKeys, testPrefix } from './testing/queue-for-tests.ts';
import type { StageHandlers } from './types.ts';
import { startWorker, type RunningWorker } from './worker.ts';

const url = TEST_REDIS_URL;
const available = await requireRedisForTests('the BullMQ job runner tests', url);

const FAST = { lockDurationMs: 2000, stalledIntervalMs: 1000 } as const;

if (available) {
  jobRunnerSuite('bullmq', async (handlers, retry) => {
    const prefix = testPrefix();
    return {
      runner: createBullmqRunner({ connection: url, prefix, ...retry }),
      start: async () => {
        const worker = await startWorker({ connection: url, prefix, handlers, ...FAST });
        return () => worker.close();
      },
      dispose: async () => { await deleteQueueKeys(url, prefix); },
    };
  });
}

async function problemsOf(promise: Promise<unknown>): Promise<{ code: string; problems: string[] }> {
  try {
    await promise;
  } catch (error) {
    if (isLarderError(error)) return { code: error.code, problems: (error.details as { problems: string[] }).problems };
    throw error;
  }
  return { code: 'no error', problems: [] };
}

describe.skipIf(!available)('bullmq runner', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function setUp(): { prefix: string; runner: BullmqRunner } {
    const prefix = testPrefix();
    const runner = createBullmqRunner({ connection: url, prefix, attempts: 2, backoffMs: 20 });
    cleanups.push(async () => { await deleteQueueKeys(url, prefix); });
    cleanups.push(() => runner.close());
    return { prefix, runner };
  }

  async function worker(prefix: string, handlers: StageHandlers): Promise<RunningWorker> {
    const started = await startWorker({ connection: url, prefix, handlers, ...FAST });
    cleanups.push(() => started.close());
    return started;
  }

  it('keeps a submitted flow in Redis until a worker comes, then runs it', async () => {
    const { prefix, runner } = setUp();
    const flow = { kind: 'later', stages: ['a', 'b'], params: {}, flowId: 'waits-for-worker' };
    expect(await runner.submitFlow(flow)).toEqual({ flowId: 'waits-for-worker', created: true });
    const status = await runner.flowStatus('waits-for-worker');
    expect(status?.state).toBe('running');
    expect(status?.stages.map((s) => s.state)).toEqual(['waiting', 'pending']);
    await worker(prefix, { a: async () => 'a', b: async ({ results }) => ({ after: results['a'] }) });
    expect(await runner.runFlow(flow)).toMatchObject({ state: 'completed', results: { a: 'a', b: { after: 'a' } } });
  });

  it('close() releases runFlow calls still waiting, with LARDER_E_ABORTED', async () => {
    const { runner } = setUp();
    const flow = { kind: 'k', stages: ['a'], params: {}, flowId: 'never-runs' };
    await runner.submitFlow(flow);
    const outcome = runner.runFlow(flow).then(() => 'resolved', (error: unknown) => (isLarderError(error) ? error.code : String(error)));
    await runner.close();
    expect(await outcome).toBe('LARDER_E_ABORTED');
    expect(await runner.submitFlow(flow).then(() => 'resolved', (error: unknown) => (isLarderError(error) ? error.code : String(error)))).toBe('LARDER_E_ABORTED');
  });

  it('runs many flows on several workers: every stage of every flow once, each with its own results', async () => {
    const { prefix, runner } = setUp();
    const runs: string[] = [];
    const handlers: StageHandlers = {
      dataset: async ({ params }, ctx) => { runs.push(`${ctx.flowId}/dataset`); return { rows: params['i'] as number }; },
      train: async ({ results }, ctx) => { runs.push(`${ctx.flowId}/train`); return { fit: (results['dataset'] as { rows: number }).rows * 10 }; },
      register: async ({ results }, ctx) => { runs.push(`${ctx.flowId}/register`); return { version: (results['train'] as { fit: number }).fit + 1 }; },
    };
    await worker(prefix, handlers);
    await startWorker({ connection: url, prefix, handlers, concurrency: 3, ...FAST }).then((w) => { cleanups.push(() => w.close()); });
    const stages = ['dataset', 'train', 'register'];
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => runner.runFlow({ kind: 'many', stages, params: { i } })));
    expect(results.map((r) => r.results['register'])).toEqual(Array.from({ length: 8 }, (_, i) => ({ version: i * 10 + 1 })));
    expect(runs).toHaveLength(24);
    expect(new Set(runs).size).toBe(24);
  });

  it('fails a stage the worker has no handler for, without retrying', async () => {
    const { prefix, runner } = setUp();
    let ran = 0;
    await worker(prefix, { a: async () => { ran++; return 1; } });
    const result = await runner.runFlow({ kind: 'k', stages: ['a', 'unknown_stage'], params: {}, flowId: 'no-handler' });
    expect(result).toMatchObject({
      state: 'failed', failedStage: 'unknown_stage', results: { a: 1 },
      error: { code: 'LARDER_E_INVALID_REQUEST', message: 'Invalid request: this worker has no handler for stage unknown_stage' },
    });
    expect((await runner.flowStatus('no-handler'))?.stages[1]?.attempts).toBe(1);
    expect(ran).toBe(1);
  });

  it('leaves nothing in Redis once the test deletes its prefix', async () => {
    const { prefix, runner } = setUp();
    await worker(prefix, { a: async () => 1 });
    await runner.runFlow({ kind: 'k', stages: ['a'], params: {} });
    expect(await countQueueKeys(url, prefix)).toBeGreaterThan(0);
    await deleteQueueKeys(url, prefix);
    expect(await countQueueKeys(url, prefix)).toBe(0);
  });

  it('fires schedules (cron and every): each firing runs the flow once under <id>@<time>; removing one stops it', async () => {
    const { prefix, runner } = setUp();
    const fired: Record<string, string[]> = { cron: [], every: [] };
    let onFire: () => void = () => undefined;
    await worker(prefix, {
      tick: async ({ params }, ctx) => {
        fired[params['which'] as string]?.push(ctx.flowId);
        onFire();
        return { at: ctx.flowId };
      },
    });
    await runner.setSchedule({ id: 'per-second', pattern: '* * * * * *', tz: 'Europe/Berlin', flow: { kind: 'tick', stages: ['tick'], params: { which: 'cron' } } });
    await runner.setSchedule({ id: 'half-second', every: 500, flow: { kind: 'tick', stages: ['tick'], params: { which: 'every' } } });
    const schedules = await runner.listSchedules();
    expect(schedules.map(({ next: _next, firings: _firings, ...rest }) => rest)).toEqual([
      { id: 'half-second', every: 500, flow: { kind: 'tick', stages: ['tick'], params: { which: 'every' } } },
      { id: 'per-second', pattern: '* * * * * *', tz: 'Europe/Berlin', flow: { kind: 'tick', stages: ['tick'], params: { which: 'cron' } } },
    ]);
    for (const schedule of schedules) expect(schedule.next).toBeGreaterThan(Date.now() - 1000);

    await new Promise<void>((resolve) => {
      onFire = () => { if ((fired['cron']?.length ?? 0) >= 2 && (fired['every']?.length ?? 0) >= 2) resolve(); };
    });
    expect(await runner.removeSchedule('per-second')).toBe(true);
    expect(await runner.removeSchedule('half-second')).toBe(true);
    expect(await runner.removeSchedule('half-second')).toBe(false);
    expect(await runner.listSchedules()).toEqual([]);

    for (const [which, id] of [['cron', 'per-second'], ['every', 'half-second']] as const) {
      const flowIds = fired[which] ?? [];
      expect(new Set(flowIds).size).toBe(flowIds.length);
      for (const flowId of flowIds) {
        expect(flowId).toMatch(new RegExp(`^${id}@\\d+$`));
        expect(await runner.flowStatus(flowId)).toMatchObject({ state: 'completed', stages: [{ result: { at: flowId } }] });
      }
      const times = flowIds.map((f) => Number(f.split('@')[1]));
      // Firings a whole number of periods apart (a busy machine may skip one); cron on whole seconds.
      const period = which === 'cron' ? 1000 : 500;
      expect(times[1]! - times[0]!).toBeGreaterThan(0);
      expect((times[1]! - times[0]!) % period).toBe(0);
      if (which === 'cron') expect(times[0]! % period).toBe(0);
    }
    // Nothing fires after removal (a launch already taken may still finish).
    const counts = { cron: fired['cron']!.length, every: fired['every']!.length };
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(fired['cron']!.length).toBeLessThanOrEqual(counts.cron + 1);
    expect(fired['every']!.length).toBeLessThanOrEqual(counts.every + 1);
    const settled = { cron: fired['cron']!.length, every: fired['every']!.length };
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect({ cron: fired['cron']!.length, every: fired['every']!.length }).toEqual(settled);
  });

  it('refuses bad schedules with every problem listed, and writes nothing', async () => {
    const { runner } = setUp();
    const flow = { kind: 'tick', stages: ['tick'], params: {} };
    expect(await problemsOf(runner.setSchedule({ id: 'x', pattern: 'every monday', flow }))).toMatchObject({
      code: 'LARDER_E_INVALID_REQUEST', problems: [expect.stringMatching(/^pattern "every monday" is not a valid cron expression/)],
    });
    const many = await problemsOf(runner.setSchedule({ id: 'bad id', pattern: '0 3 * * 1', every: 1000, tz: 'Mars/Olympus', flow: { ...flow, stages: [], flowId: 'x' } as never }));
    expect(many.code).toBe('LARDER_E_INVALID_REQUEST');
    expect(many.problems).toHaveLength(5);
    expect(await problemsOf(runner.setSchedule({ id: 'x', flow }))).toMatchObject({ problems: ['give exactly one of pattern (cron) and every (ms)'] });
    expect(await problemsOf(runner.setSchedule({ id: 'x', every: 0.5, flow }))).toMatchObject({ problems: ['every must be a whole number of ms ≥ 1, got 0.5'] });
    expect(await runner.listSchedules()).toEqual([]);
  });
});
