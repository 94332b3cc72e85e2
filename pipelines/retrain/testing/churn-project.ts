/**
 * @module pipelines/retrain/testing/churn-project
 * Test support (not shipped): a small project whose label has a nonlinear signal. Customers have
 * daily activity snapshots (spend with nulls, visits, a plan name); entity rows ask about a
 * customer on a day, and `churned` depends on that day's snapshot through an
 * interaction (high spend XOR many visits), the plan, and missing spend, plus seeded noise.
 * `corrupt: true` writes negative spend into some snapshots, which the view declares impossible.
 */
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlLiteral } from '../../../featurestore/offline/sql.ts';
import { openStore } from '../../../featurestore/store.ts';
import { writeProjectFolder } from '../../../featurestore/testing/project-folder.ts';

export interface ChurnProjectOptions {
  readonly customers: number;
  readonly days: number;
  readonly corrupt?: boolean;
}

/** Day 0 of the data; entity rows fall on days 1 … days-1 at noon. */
export const CHURN_BASE = Date.UTC(2026, 0, 1);

const DEFINITIONS = `import { entity, featureService, featureView, fileSource, t } from 'larder';

export const customer = entity('customer', { joinKeys: { customer_id: t.string() } });
export const activity = fileSource('activity', { path: 'data/activity.parquet', timestamp: 'ts' });

export const customerActivity = featureView('customer_activity', {
  entities: [customer], source: activity, ttl: '3d',
  features: {
    spend: t.float64().expect({ min: 0 }),
    visits: t.int64(),
    plan: t.string(),
  },
});

export const churn = featureService('churn', { features: [customerActivity] });
`;

/** Writes the project into `dir` (data included) and returns it. */
export async function createChurnProject(dir: string, options: ChurnProjectOptions): Promise<string> {
  writeProjectFolder(dir, { project: 'churn', definitions: DEFINITIONS });
  const { customers: n, days } = options;
  const base = `TIMESTAMP '${new Date(CHURN_BASE).toISOString().slice(0, 19).replace('T', ' ')}'`;
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    // Snapshot of customer c on day d: deterministic pseudo-random values from hash(c, d).
    await connection.run(`CREATE TABLE activity AS
      SELECT 'c' || c AS customer_id, ${base} + to_days(CAST(d AS BIGINT)) AS ts,
             CASE WHEN hash(c, d, 1) % 10 = 0 THEN NULL
                  ELSE (hash(c, d, 2) % 10000) / 100.0 * ${options.corrupt ? `CASE WHEN hash(c, d, 5) % 3 = 0 THEN -1 ELSE 1 END` : '1'} END AS spend,
             CAST(hash(c, d, 3) % 11 AS BIGINT) AS visits,
             ['basic', 'plus', 'pro'][1 + CAST(hash(c, 4) % 3 AS INTEGER)] AS plan
      FROM range(${n}) AS a(c), range(${days}) AS b(d)`);
    await connection.run(`COPY activity TO ${sqlLiteral(path.join(dir, 'data', 'activity.parquet'))} (FORMAT parquet)`);
    await connection.run(`COPY (
      SELECT e.customer_id, e.ts + INTERVAL 12 HOUR AS event_timestamp,
             (CASE WHEN e.spend IS NULL THEN hash(e.customer_id, e.ts, 7) % 100 < 70
                   ELSE ((e.spend > 50) <> (e.visits > 5)) = (hash(e.customer_id, e.ts, 8) % 100 < 85) END)
             OR (e.plan = 'basic' AND hash(e.customer_id, e.ts, 9) % 100 < 25) AS churned
      FROM activity e WHERE e.ts >= ${base} + to_days(1)
      ORDER BY event_timestamp, e.customer_id
    ) TO ${sqlLiteral(path.join(dir, 'data', 'entities.parquet'))} (FORMAT parquet)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return dir;
}

/** `createChurnProject`, then `apply`: what a training test needs first. */
export async function createAppliedChurnProject(dir: string, options: ChurnProjectOptions): Promise<string> {
  await createChurnProject(dir, options);
  const store = await openStore({ dir });
  try {
    await store.apply();
  } finally {
    await store.close();
  }
  return dir;
}
