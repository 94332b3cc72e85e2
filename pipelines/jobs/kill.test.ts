/**
 * Workers in child processes, killed or stopped in the middle of a stage: the end state must
 * equal a clean run's, with the final stage's side effect exactly once.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireRedisForTests, TEST_REDIS_URL } from '../../featurestore/online/testing/redis-for-tests.ts';
import { createBullmqRunner, type BullmqRunner } from './bullmq.ts';
import { createInlineRunner } from './inline.ts';
import { startChildWorker, type ChildWorker } from './testing/child-worker.ts';
import { fixtureHandlers, FIXTURE_STAGES } from './testing/fixture-handlers.ts';
import { deleteQueueKeys, testPrefix } from './testing/queue-for-tests.ts';
import type { FlowRequest, FlowResult } from './types.ts';
import { startWorker, type RunningWorker } from './worker.ts';

const url = TEST_REDIS_URL;
const available = await requireRedisForTests('the BullMQ worker kill/shutdown tests', url);

async function recorded(dir: string): Promise<unknown[]> {
  const text = await readFile(join(dir, 'results.jsonl'), 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as unknown);
}

/** The same flow through the inline runner, its `slow` stage not holding: what a clean run leaves. */
async function cleanRun(request: FlowRequest): Promise<{ result: FlowResult; records: unknown[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'larder-jobs-clean-'));
  try {
    await writeFile(join(dir, 'slow.started'), 'clean run');
    const runner = createInlineRunner(fixtureHandlers(dir));
    const result = await runner.runFlow(request);
    await runner.close();
    return { result, records: await recorded(dir) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!available)('workers that die or stop mid-stage', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(): Promise<{ prefix: string; dir: string; runner: BullmqRunner }> {
    const prefix = testPrefix();
    const dir = await mkdtemp(join(tmpdir(), 'larder-jobs-'));
    const runner = createBullmqRunner({ connection: url, prefix, attempts: 3, backoffMs: 50 });
    cleanups.push(async () => {
      await rm(dir, { recursive: true, force: true });
      await deleteQueueKeys(url, prefix);
    });
    cleanups.push(() => runner.close());
    return { prefix, dir, runner };
  }

  function child(worker: ChildWorker): ChildWorker {
    cleanups.push(async () => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
      await worker.exited;
    });
    return worker;
  }

  function inProcess(worker: RunningWorker): RunningWorker {
    cleanups.push(() => worker.close());
    return worker;
  }

  it('SIGKILL mid-stage: another worker reruns the stage and the end state equals a clean run', async () => {
    const { prefix, dir, runner } = await setUp();
    const request: FlowRequest = { kind: 'fixture', stages: FIXTURE_STAGES, params: { n: 21, holdMs: 60_000 }, flowId: 'killed-mid-stage' };
    const first = child(await startChildWorker({ REDIS_URL: url, JOBS_PREFIX: prefix, JOBS_DIR: dir, LOCK_MS: '1000', STALLED_MS: '500' }));
    const run = runner.runFlow(request);
    await first.line(/^started slow attempt=1 first=true$/);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const lines: string[] = [];
    inProcess(await startWorker({
      connection: url, prefix, handlers: fixtureHandlers(dir, (line) => lines.push(line)), lockDurationMs: 1000, stalledIntervalMs: 500,
    }));
    const result = await run;
    const clean = await cleanRun(request);
    expect(result).toEqual(clean.result);
    expect(result).toEqual({
      flowId: 'killed-mid-stage', state: 'completed',
      results: { prepare: { n: 21 }, slow: { doubled: 42 }, record: { recorded: true } },
    });
    expect(await recorded(dir)).toEqual(clean.records);
    expect(await recorded(dir)).toHaveLength(1);
    expect(lines).toEqual(['started slow attempt=2 first=false', 'recorded']);
    const status = await runner.flowStatus('killed-mid-stage');
    expect(status?.stages.map((s) => [s.stage, s.attempts])).toEqual([['prepare', 1], ['slow', 2], ['record', 1]]);
  });

  it('SIGTERM mid-stage: the worker finishes the job, then exits 0', async () => {
    const { prefix, dir, runner } = await setUp();
    const request: FlowRequest = { kind: 'fixture', stages: FIXTURE_STAGES, params: { n: 5, holdMs: 1500 }, flowId: 'terminated-mid-stage' };
    const worker = child(await startChildWorker({ REDIS_URL: url, JOBS_PREFIX: prefix, JOBS_DIR: dir }));
    const run = runner.runFlow(request);
    await worker.line(/^started slow attempt=1 first=true$/);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    // It finished `slow` and stopped taking jobs: `record` is left for the next worker.
    expect(worker.lines).not.toContain('recorded');
    expect((await runner.flowStatus('terminated-mid-stage'))?.stages.map((s) => s.state)).toEqual(['completed', 'completed', 'waiting']);
    inProcess(await startWorker({ connection: url, prefix, handlers: fixtureHandlers(dir) }));
    const result = await run;
    expect(result).toEqual((await cleanRun(request)).result);
    expect(await recorded(dir)).toHaveLength(1);
    expect((await runner.flowStatus('terminated-mid-stage'))?.stages.map((s) => s.attempts)).toEqual([1, 1, 1]);
  });

  it('SIGTERM with returnAfterMs: a stage that honours its signal goes back to the queue, not counted as failed', async () => {
    const { prefix, dir, runner } = await setUp();
    const request: FlowRequest = { kind: 'fixture', stages: FIXTURE_STAGES, params: { n: 7, holdMs: 60_000 }, flowId: 'returned-mid-stage' };
    const worker = child(await startChildWorker({ REDIS_URL: url, JOBS_PREFIX: prefix, JOBS_DIR: dir, RETURN_AFTER_MS: '200' }));
    const run = runner.runFlow(request);
    await worker.line(/^started slow attempt=1 first=true$/);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const status = await runner.flowStatus('returned-mid-stage');
    expect(status?.stages.map((s) => s.state)).toEqual(['completed', 'waiting', 'pending']);
    expect(status?.stages[1]?.error).toBeUndefined();
    inProcess(await startWorker({ connection: url, prefix, handlers: fixtureHandlers(dir) }));
    expect(await run).toEqual((await cleanRun(request)).result);
    expect(await recorded(dir)).toHaveLength(1);
  });
});
