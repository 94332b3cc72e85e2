/**
 * `larder train`, `models` and `predict` in-process on a project folder as a user has it (the
 * churn test project: Parquet source, entity rows with a label, file registry), with a captured
 * Io: a full lifecycle of two trainings, promotion, rollback, lineage, batch scoring, and the
 * failures a user meets (validation exit 3, a model that cannot feed from the service).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLarderError } from '../../errors.ts';
import { CHURN_BASE, createAppliedChurnProject } from '../../pipelines/retrain/testing/churn-project.ts';
import { linearModel } from '../../registry/models/onnx-build.ts';
import type { Command } from '../command.ts';
import { exitCodeOf, type Io } from '../output.ts';
import { modelsCommand } from './models.ts';
import { predictCommand } from './predict.ts';
import { trainCommand } from './train.ts';

let root: string;
let project: string;
let corrupt: string;
const holdoutFrom = new Date(CHURN_BASE + 9 * 86_400_000).toISOString();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'larder-models-cli-'));
  project = await createAppliedChurnProject(join(root, 'good'), { customers: 200, days: 12 });
  corrupt = await createAppliedChurnProject(join(root, 'bad'), { customers: 200, days: 12, corrupt: true });
}, 60_000);
afterAll(async () => { await rm(root, { recursive: true, force: true }); });

async function run(command: Command, values: Record<string, string | boolean | string[]>, positionals: string[] = [], json = true, projectDir = project) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), json, tty: false };
  try {
    const code = await command.run({ io, projectDir, values, positionals });
    return { code, out: out.join('\n'), err: err.join('\n'), error: undefined };
  } catch (error) {
    return { code: exitCodeOf(error), out: out.join('\n'), err: err.join('\n'), error };
  }
}

const train = { service: 'churn', entities: 'data/entities.parquet', label: 'churned', model: 'churn', 'holdout-from': holdoutFrom };

describe('larder train, models and predict', () => {
  it('trains, promotes, rolls back and scores, with lineage back to the dataset', async () => {
    const first = await run(trainCommand, { ...train, trainer: 'logreg', promote: true });
    expect(first.error).toBeUndefined();
    const shape = JSON.parse(first.out);
    expect(shape).toMatchObject({ model: 'churn', version: '1.0.0', status: 'deployed', aliases: ['champion'], featureService: 'churn' });
    expect(Object.keys(shape)).toEqual(expect.arrayContaining(['metrics', 'dataset', 'inputs', 'artifact', 'lineage']));
    expect(shape.metrics.auc).toBeGreaterThan(0.55);
    expect(shape.metrics.baseRate).toBeGreaterThan(0);
    expect(shape.artifact.path).toContain(shape.artifact.sha256);
    expect(shape.inputs.map((i: { name: string }) => i.name)).toEqual(['spend', 'visits', 'plan']);

    const second = await run(trainCommand, { ...train, trainer: 'gbdt', promote: true, param: ['rounds=40', 'learningRate=0.2'] }, [], false);
    expect(second.error).toBeUndefined();
    expect(second.out).toMatch(/champion 1\.0\.0 on the same rows: auc/);
    expect(second.out).toMatch(/gate: passed/);
    expect(second.out).toMatch(/registered churn@1\.1\.0: deployed, champion/);

    const rollback = await run(modelsCommand, { why: 'test' }, ['rollback', 'churn']);
    expect(JSON.parse(rollback.out)).toEqual({ model: 'churn', alias: 'champion', from: '1.1.0', to: '1.0.0' });
    const shown = JSON.parse((await run(modelsCommand, {}, ['show', 'churn@champion'])).out);
    expect(shown.version).toBe('1.0.0');
    expect(shown.lineage.dataset.views.map((v: { name: string }) => v.name)).toContain('customer_activity');
    expect(shown.lineage.featureService).toEqual({ name: 'churn', version: 1, current: 1 });
    const list = JSON.parse((await run(modelsCommand, {}, ['list'])).out);
    expect(list).toEqual([{ name: 'churn', versions: 2, latest: '1.1.0', aliases: { champion: '1.0.0' } }]);
    const text = await run(modelsCommand, {}, ['history', 'churn'], false);
    expect(text.out).toMatch(/champion 1\.1\.0 → 1\.0\.0 \(rollback\)/);

    const scored = await run(predictCommand, { model: 'churn@1.1.0', entities: 'data/entities.parquet', out: join(root, 'scored.parquet') });
    expect(JSON.parse(scored.out)).toMatchObject({ model: 'churn', version: '1.1.0', rows: 200 * 11, column: 'probability' });
  }, 180_000);

  it('refuses what it must: a corrupted dataset (exit 3), a model the service cannot feed, unknown models', async () => {
    const bad = await run(trainCommand, { ...train }, [], true, corrupt);
    expect(bad.code).toBe(3);
    expect(isLarderError(bad.error) && bad.error.code).toBe('LARDER_E_VALIDATION_FAILED');
    const artifact = join(root, 'byo.onnx');
    await writeFile(artifact, linearModel({ weights: [[1], [1], [1]], bias: [0] }));
    const byo = await run(modelsCommand, { artifact, service: 'churn' }, ['register', 'byo']);
    expect(isLarderError(byo.error) && byo.error.code).toBe('LARDER_E_MODEL_INVALID');
    expect(String((byo.error as Error).message)).toMatch(/string|fit/);
    const missing = await run(predictCommand, { model: 'nope', entities: 'data/entities.parquet', out: join(root, 'x.parquet') });
    expect(isLarderError(missing.error) && missing.error.code).toBe('LARDER_E_MODEL_NOT_FOUND');
    const usage = await run(modelsCommand, {}, ['approve', 'churn']);
    expect(usage.code).toBe(2);
  }, 60_000);
});
