/**
 * `larder schedule set|list|remove` in-process against the real Redis, on a project of its own
 * (its queue prefix is private to the test and deleted afterwards).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLarderError } from '../../errors.ts';
import { requireRedisForTests, TEST_REDIS_URL } from '../../featurestore/online/testing/redis-for-tests.ts';
import { deleteQueueKeys, testPrefix } from '../../pipelines/jobs/testing/queue-for-tests.ts';
import { createChurnProject } from '../../pipelines/retrain/testing/churn-project.ts';
import { exitCodeOf, type Io } from '../output.ts';
import { scheduleCommand } from './schedule.ts';

const redisUp = await requireRedisForTests('larder schedule');

describe.runIf(redisUp)('larder schedule', () => {
  let root: string;
  let project: string;
  const prefix = testPrefix();
  const saved = { url: process.env['REDIS_URL'], prefix: process.env['LARDER_QUEUE_PREFIX'] };
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'larder-schedule-'));
    project = await createChurnProject(join(root, 'churn'), { customers: 10, days: 3 });
    process.env['REDIS_URL'] = TEST_REDIS_URL;
    process.env['LARDER_QUEUE_PREFIX'] = prefix;
  });
  afterAll(async () => {
    for (const [key, value] of [['REDIS_URL', saved.url], ['LARDER_QUEUE_PREFIX', saved.prefix]] as const) {
      if (value === undefined) delete process.env[key]; else process.env[key] = value;
    }
    await deleteQueueKeys(TEST_REDIS_URL, prefix);
    await rm(root, { recursive: true, force: true });
  });

  async function run(values: Record<string, string | boolean>, positionals: string[]) {
    const out: string[] = [];
    const io: Io = { out: (t) => out.push(t), err: () => undefined, json: true, tty: false };
    try {
      return { code: await scheduleCommand.run({ io, projectDir: project, values, positionals }), out: out.join('\n'), error: undefined };
    } catch (error) {
      return { code: exitCodeOf(error), out: out.join('\n'), error };
    }
  }

  it('sets a weekly retrain and an hourly materialization, lists them, removes one', async () => {
    expect((await run({ every: '1h', materialize: true }, ['set', 'hourly'])).code).toBe(0);
    const retrain = await run({ cron: '0 3 * * 1', tz: 'Europe/Berlin', retrain: true, service: 'churn', entities: 'data/entities.parquet', label: 'churned' }, ['set', 'weekly']);
    expect(retrain.code).toBe(0);
    const list = JSON.parse((await run({}, ['list'])).out) as { id: string; pattern?: string; every?: number; tz?: string; flow: { kind: string; params: Record<string, unknown> }; next?: number }[];
    const byId = Object.fromEntries(list.map((s) => [s.id, s]));
    expect(byId['hourly']).toMatchObject({ every: 3_600_000, flow: { kind: 'materialize', params: { project } } });
    expect(byId['weekly']).toMatchObject({ pattern: '0 3 * * 1', tz: 'Europe/Berlin', flow: { kind: 'retrain', params: { service: 'churn', label: 'churned', trainer: 'gbdt' } } });
    expect(byId['weekly']?.next).toBeGreaterThan(Date.now());
    expect(JSON.parse((await run({}, ['remove', 'hourly'])).out)).toEqual({ id: 'hourly', removed: true });
    expect((await run({}, ['remove', 'hourly'])).code).toBe(1);
    expect(JSON.parse((await run({}, ['list'])).out).map((s: { id: string }) => s.id)).toEqual(['weekly']);
  });

  it('refuses a bad cron pattern and a schedule that says neither what nor when', async () => {
    const bad = await run({ cron: 'every monday', materialize: true }, ['set', 'x']);
    expect(isLarderError(bad.error) && bad.error.code).toBe('LARDER_E_INVALID_REQUEST');
    expect((await run({ materialize: true }, ['set', 'x'])).code).toBe(2);
    expect((await run({ every: '1h' }, ['set', 'x'])).code).toBe(2);
  });
});
