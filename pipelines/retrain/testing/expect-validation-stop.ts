/**
 * @module pipelines/retrain/testing/expect-validation-stop
 * Test support (not shipped): what any runner must show for a retraining flow on the corrupted
 * churn project — it fails at `validate` once (no retry) with the report attached, every later
 * stage is skipped, and the project's registry holds no model.
 */
import { expect } from 'vitest';
import { openStore } from '../../../featurestore/store.ts';
import type { JobRunner } from '../../jobs/types.ts';
import { retrainFlow } from '../flow.ts';

/** Runs the retraining flow on the corrupted project `dir`, asserts that it stopped at validation; returns the flow id. */
export async function expectValidationStop(runner: JobRunner, dir: string): Promise<string> {
  const result = await runner.runFlow(retrainFlow({ project: dir, model: 'churn', service: 'churn', label: 'churned', entities: 'data/entities.parquet' }));
  expect(result).toMatchObject({ state: 'failed', failedStage: 'validate', error: { code: 'LARDER_E_VALIDATION_FAILED' } });
  const report = result.error?.details as { ok: boolean; issues: { feature: string; severity: string }[] };
  expect(report.ok).toBe(false);
  expect(report.issues.some((i) => i.feature === 'spend' && i.severity === 'error')).toBe(true);
  const status = await runner.flowStatus(result.flowId);
  expect(status?.stages.map((s) => `${s.stage}:${s.state}:${s.attempts}`)).toEqual([
    'dataset:completed:1', 'validate:failed:1', 'train:skipped:0', 'evaluate:skipped:0', 'register:skipped:0',
  ]);
  const store = await openStore({ dir });
  try {
    expect(await store.models().list()).toEqual([]);
  } finally {
    await store.close();
  }
  return result.flowId;
}
