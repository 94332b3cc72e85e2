/**
 * @module serving/http/testing/served-project
 * Test support (not shipped): the churn test project with a real model trained by the inline
 * retraining flow, promoted to `champion`, and its features materialized to the online store.
 * The activity snapshots are then moved forward in time so the newest one is an hour old:
 * served features are fresh (within the view's 3-day ttl), so predictions are not degraded
 * unless a test makes them so.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlLiteral } from '../../../featurestore/offline/sql.ts';
import { openStore } from '../../../featurestore/store.ts';
import { createInlineRunner } from '../../../pipelines/jobs/inline.ts';
import { retrainFlow } from '../../../pipelines/retrain/flow.ts';
import { retrainStages } from '../../../pipelines/retrain/stages.ts';
import { CHURN_BASE, createChurnProject } from '../../../pipelines/retrain/testing/churn-project.ts';

const DAY = 86_400_000;

export interface ServedProjectOptions {
  readonly customers?: number;
  readonly days?: number;
  /** Point the online store at this Redis (with a unique project name) instead of the memory store. */
  readonly redisUrl?: string;
  /** The project name (default `churn`). */
  readonly project?: string;
  /** The `serve` key to write into larder.config.ts. */
  readonly serve?: Record<string, unknown>;
  /** More definitions (a module's source), written to `features/extra.ts` before `apply`. */
  readonly extraDefinitions?: string;
}

export interface ServedProject {
  readonly dir: string;
  readonly customers: number;
  /** Where the newest snapshot now sits. */
  readonly newest: Date;
}

/** Rewrites `larder.config.ts` with the given online store, project name and serve settings. */
export function rewriteConfig(dir: string, patch: Record<string, unknown>): void {
  const file = path.join(dir, 'larder.config.ts');
  const text = readFileSync(file, 'utf8');
  const json = /defineConfig\(([\s\S]*)\);\s*$/.exec(text)?.[1];
  if (json === undefined) throw new Error(`cannot rewrite ${file}`);
  const config = { ...(JSON.parse(json) as Record<string, unknown>), ...patch };
  writeFileSync(file, `import { defineConfig } from 'larder';\n\nexport default defineConfig(${JSON.stringify(config, null, 2)});\n`);
}

/** Builds, trains (gbdt, ~3 s), promotes and materializes; see the module comment. */
export async function createServedProject(dir: string, options: ServedProjectOptions = {}): Promise<ServedProject> {
  const customers = options.customers ?? 200;
  const days = options.days ?? 8;
  await createChurnProject(dir, { customers, days });
  rewriteConfig(dir, {
    ...(options.project === undefined ? {} : { project: options.project }),
    ...(options.redisUrl === undefined ? {} : { online: { type: 'redis', url: options.redisUrl } }),
    ...(options.serve === undefined ? {} : { serve: options.serve }),
  });
  if (options.extraDefinitions !== undefined) writeFileSync(path.join(dir, 'features', 'extra.ts'), options.extraDefinitions);
  const store = await openStore({ dir });
  try {
    await store.apply();
  } finally {
    await store.close();
  }
  const runner = createInlineRunner(retrainStages(), { attempts: 1, backoffMs: 10 });
  try {
    const result = await runner.runFlow(retrainFlow({
      project: dir, model: 'churn', service: 'churn', label: 'churned', trainer: 'gbdt',
      entities: 'data/entities.parquet', promote: true, trainerParams: { rounds: 30 },
    }));
    if (result.state !== 'completed') throw new Error(`training failed: ${String(result.error)}`);
  } finally {
    await runner.close();
  }
  // Move the snapshots forward: the newest lands an hour ago.
  const newest = new Date(Math.floor((Date.now() - 3_600_000) / 1000) * 1000);
  const shiftMs = newest.getTime() - (CHURN_BASE + (days - 1) * DAY);
  const file = path.join(dir, 'data', 'activity.parquet');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`COPY (SELECT * REPLACE (ts + to_milliseconds(${shiftMs}) AS ts) FROM read_parquet(${sqlLiteral(file)}))
      TO ${sqlLiteral(`${file}.tmp`)} (FORMAT parquet)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  await rename(`${file}.tmp`, file);
  const materializing = await openStore({ dir });
  try {
    await materializing.materialize({ end: new Date() });
  } finally {
    await materializing.close();
  }
  return { dir, customers, newest };
}
