import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../featurestore/store.ts';
import { DuckDBInstance } from '@duckdb/node-api';
import { createInlineRunner } from '../jobs/inline.ts';
import { batchPredict } from '../predict.ts';
import { rocAuc } from '../trainers/evaluate.ts';
import { retrainFlow } from './flow.ts';
import { retrainStages } from './stages.ts';
import { CHURN_BASE, createAppliedChurnProject } from './testing/churn-project.ts';
import { expectValidationStop } from './testing/expect-validation-stop.ts';

const DAY = 86_400_000;

describe('retraining flow (inline runner, real DuckDB, trainers and onnxruntime)', () => {
  let root: string;
  let project: string;
  let corrupt: string;
  const runner = createInlineRunner(retrainStages(), { attempts: 2, backoffMs: 10 });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'larder-retrain-'));
    project = await createAppliedChurnProject(join(root, 'good'), { customers: 300, days: 12 });
    corrupt = await createAppliedChurnProject(join(root, 'bad'), { customers: 300, days: 12, corrupt: true });
  }, 60_000);
  afterAll(async () => {
    await runner.close();
    await rm(root, { recursive: true, force: true });
  });

  it('builds, validates, trains, evaluates in onnxruntime, registers with lineage and approves', async () => {
    const holdoutFrom = new Date(CHURN_BASE + 9 * DAY).toISOString();
    const result = await runner.runFlow(retrainFlow({
      project, model: 'churn', service: 'churn', label: 'churned', trainer: 'gbdt', entities: 'data/entities.parquet',
      holdoutFrom, promote: true, trainerParams: { rounds: 60 },
    }));
    expect(result.error).toBeUndefined();
    expect(result.state).toBe('completed');
    const evaluation = result.results['evaluate'] as { metrics: Record<string, number>; champion: unknown; gate: { pass: boolean } };
    expect(evaluation.metrics['auc']).toBeGreaterThan(0.7);
    expect(evaluation.champion).toBeNull();
    expect(evaluation.gate.pass).toBe(true);
    const trained = result.results['train'] as { rows: { train: number; valid: number; holdout: number }; holdoutFrom: string };
    expect(trained.rows.holdout).toBe(300 * 3); // days 9, 10 and 11
    expect(Date.parse(trained.holdoutFrom)).toBeGreaterThanOrEqual(Date.parse(holdoutFrom));
    expect(result.results['register']).toMatchObject({ model: 'churn', version: '1.0.0', status: 'deployed', created: true, promoted: true });

    const store = await openStore({ dir: project });
    try {
      const v = await store.models().show('churn', 'champion');
      expect(v.lineage).toMatchObject({ featureService: 'churn', featureServiceVersion: 1, label: 'churned' });
      const manifest = await store.registry.getManifest(v.lineage.dataset!);
      expect(manifest.views.map((x) => x.name)).toContain('customer_activity');
      expect(manifest.sources.length).toBeGreaterThan(0);
      expect(v.serving?.features.map((f) => f.name)).toEqual(['spend', 'visits', 'plan']);
    } finally {
      await store.close();
    }

    // Batch scoring goes through the serving spec and session, from raw point-in-time values:
    // on the holdout rows it reproduces the evaluation's AUC, and it keeps the entity rows as given.
    const out = join(root, 'scored.parquet');
    const scoring = await openStore({ dir: project });
    try {
      const scored = await batchPredict(scoring, { model: 'churn', entities: join(project, 'data', 'entities.parquet'), out, sliceRows: 1000 });
      expect(scored).toMatchObject({ rows: 300 * 11, column: 'probability' });
    } finally {
      await scoring.close();
    }
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      const read = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();
      const columns = (await read(`DESCRIBE SELECT * FROM read_parquet('${out}')`)).map((r) => r['column_name']);
      expect(columns).toEqual(['customer_id', 'event_timestamp', 'churned', 'probability']);
      const same = await read(`SELECT count(*) AS n FROM read_parquet('${out}', file_row_number = true) a
        JOIN read_parquet('${join(project, 'data', 'entities.parquet')}', file_row_number = true) b USING (file_row_number)
        WHERE a.customer_id = b.customer_id AND a.event_timestamp = b.event_timestamp AND a.churned = b.churned`);
      expect(Number(same[0]!['n'])).toBe(300 * 11);
      const holdout = await read(`SELECT churned, probability FROM read_parquet('${out}') WHERE event_timestamp >= TIMESTAMPTZ '${holdoutFrom}'`);
      const auc = rocAuc(holdout.map((r) => (r['churned'] ? 1 : 0)), holdout.map((r) => Number(r['probability'])));
      expect(auc).toBeCloseTo(evaluation.metrics['auc']!, 9);
    } finally {
      connection.closeSync();
      db.closeSync();
    }

    // A weaker trainer is compared with the champion on the same holdout and gated out.
    const logreg = await runner.runFlow(retrainFlow({
      project, model: 'churn', service: 'churn', label: 'churned', trainer: 'logreg', entities: 'data/entities.parquet', holdoutFrom, promote: true,
    }));
    expect(logreg.state).toBe('completed');
    const gated = logreg.results['evaluate'] as { metrics: Record<string, number>; champion: { version: string; metrics: Record<string, number> }; gate: { pass: boolean } };
    expect(gated.champion.version).toBe('1.0.0');
    expect(gated.champion.metrics['auc']).toBeCloseTo(evaluation.metrics['auc']!, 9);
    expect(gated.metrics['auc']).toBeLessThan(evaluation.metrics['auc']!);
    expect(gated.gate.pass).toBe(false);
    expect(logreg.results['register']).toMatchObject({ version: '1.1.0', status: 'registered', promoted: false });
  }, 120_000);

  it('stops at validation on a corrupted dataset: the report is attached and nothing is trained or registered', async () => {
    const flowId = await expectValidationStop(runner, corrupt);
    expect(await readdir(join(corrupt, '.larder', 'flows', flowId))).toEqual(['dataset.parquet']);
  }, 60_000);

  it('refuses bad parameters before anything runs', () => {
    expect(() => retrainFlow({ project, model: 'churn', service: 'churn', label: 'churned' })).toThrow(/exactly one of entities or dataset/);
    expect(() => retrainFlow({ project, model: '9x', service: 'churn', label: 'churned', dataset: 'ds_x', trainer: 'forest' as 'gbdt' })).toThrow(/LARDER_E_INVALID_REQUEST|model|trainer/);
  });
});
