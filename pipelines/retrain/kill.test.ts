/**
 * The retraining flow on BullMQ with real `larder worker` processes: the worker running the train
 * stage is killed with SIGKILL; another worker takes the stage over once its lock expires, and
 * the registry ends with exactly one new version. A corrupted dataset then stops at validation
 * with its report and nothing registered. The second worker stops on SIGTERM, exit 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../featurestore/store.ts';
import { requireRedisForTests, TEST_REDIS_URL } from '../../featurestore/online/testing/redis-for-tests.ts';
import { createBullmqRunner } from '../jobs/bullmq.ts';
import { deleteQueueKeys, testPrefix } from '../jobs/testing/queue-for-tests.ts';
import { retrainFlow } from './flow.ts';
import { createAppliedChurnProject } from './testing/churn-project.ts';
import { expectValidationStop } from './testing/expect-validation-stop.ts';

const BIN = fileURLToPath(new URL('../../bin/larder.js', import.meta.url));
const redisUp = await requireRedisForTests('the retraining flow on BullMQ workers');

/** `larder worker` in its own process; resolves once it says it takes jobs. */
async function startWorker(project: string, prefix: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--project', project, '--lock-duration', '2'], {
    env: { ...process.env, REDIS_URL: TEST_REDIS_URL, LARDER_QUEUE_PREFIX: prefix }, stdio: ['ignore', 'inherit', 'pipe'],
  });
  const lines = createInterface({ input: child.stderr! });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => { if (/SIGTERM to stop/.test(line)) resolve(); });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
  });
  return child;
}

describe.runIf(redisUp)('retraining on BullMQ workers', () => {
  let root: string;
  let project: string;
  let corrupt: string;
  const prefix = testPrefix();
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'larder-retrain-kill-'));
    project = await createAppliedChurnProject(join(root, 'churn'), { customers: 1000, days: 12 });
    corrupt = await createAppliedChurnProject(join(root, 'corrupt'), { customers: 100, days: 5, corrupt: true });
  }, 60_000);
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await deleteQueueKeys(TEST_REDIS_URL, prefix);
    await rm(root, { recursive: true, force: true });
  });

  it('a worker killed mid-train: another one finishes the flow and one version is registered', async () => {
    const first = await startWorker(project, prefix);
    children.push(first);
    const runner = createBullmqRunner({ connection: TEST_REDIS_URL, prefix, backoffMs: 100 });
    let second: Promise<ChildProcess> | undefined;
    try {
      const flow = retrainFlow({
        project, model: 'churn', service: 'churn', label: 'churned', entities: 'data/entities.parquet',
        trainerParams: { rounds: 400, learningRate: 0.02, earlyStoppingRounds: 400 },
      });
      const result = await runner.runFlow(flow, {
        onProgress: (event) => {
          if (event.stage === 'train' && second === undefined) {
            first.kill('SIGKILL');
            second = startWorker(project, prefix);
          }
        },
      });
      expect(second).toBeDefined();
      expect(first.signalCode).toBe('SIGKILL');
      expect(result.error).toBeUndefined();
      expect(result.state).toBe('completed');
      const status = await runner.flowStatus(result.flowId);
      expect(status?.stages.map((s) => `${s.stage}:${s.state}:${s.attempts}`)).toEqual([
        'dataset:completed:1', 'validate:completed:1', 'train:completed:2', 'evaluate:completed:1', 'register:completed:1',
      ]);
      expect(result.results['register']).toMatchObject({ version: '1.0.0', created: true });
      const store = await openStore({ dir: project });
      try {
        expect((await store.models().versions('churn')).map((v) => v.version)).toEqual(['1.0.0']);
      } finally {
        await store.close();
      }
      // Submitting the same flow again runs nothing new.
      expect(await runner.submitFlow(flow)).toEqual({ flowId: result.flowId, created: false });

      // A corrupted dataset stops at validation, once (no retry), with the report attached.
      await expectValidationStop(runner, corrupt);
    } finally {
      await runner.close();
      const worker = await second;
      if (worker !== undefined) {
        children.push(worker);
        const exited = once(worker, 'exit');
        worker.kill('SIGTERM');
        const [code] = await exited;
        expect(code).toBe(0);
      }
    }
  }, 120_000);
});
