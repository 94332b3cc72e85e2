/**
 * `larder quickstart` as a user runs it (a separate process), on a copy of the flights example
 * restricted to four airports so it takes seconds: the report's counts match the data, the
 * online reads carry values and statuses; a second run, on Redis, reuses the data, changes
 * nothing and serves the same values.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisOnlineStore } from '../../featurestore/online/index.ts';
import { requireRedisForTests } from '../../featurestore/online/testing/redis-for-tests.ts';
import { copyFlightsProject, TEST_AIRPORTS } from '../../fixtures/flights/testing.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../larder.js', import.meta.url));
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const redisUp = await requireRedisForTests('the quickstart on Redis', REDIS_URL);

interface Report {
  data: { flights: number; reused: boolean; last: string; busiestRoutes: { origin: string; destination: string }[] };
  plan: { add: number; change: number; remove: number; unchanged: number };
  train: { rows: number; path: string };
  validation: { rows: number; lateRate: number };
  signal: Record<string, number>;
  serve: { requests: number; p50Ms: number; p99Ms: number; version: string; degraded: number; examples: { probability: number | null; features: number }[] };
  models: { name: string; baseRate: number; runs: { trainer: string; version: string; status: string; champion: boolean; metrics: Record<string, number>; gate: { pass: boolean } }[] };
  materialize: { asOf: string; rows: number; views: number };
  online: { features: string[]; rows: { values: Record<string, unknown>; statuses: Record<string, string>; eventTimestamps: Record<string, string | null> }[] };
  seconds: number;
}

const EVERY = 2;

async function quickstart(project: string, env: Record<string, string | undefined> = {}): Promise<Report> {
  const args = ['quickstart', '--project', project, '--airports', TEST_AIRPORTS.join(','), '--every', String(EVERY), '--json'];
  const { stdout } = await run(process.execPath, [BIN, ...args], {
    env: { ...process.env, REDIS_URL: undefined, ...env }, maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Report;
}

async function countFlights(project: string, where: string): Promise<number> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    const rows = (await con.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${path.join(project, 'data', 'flights.parquet')}') WHERE ${where}`)).getRowObjectsJS();
    return Number(rows[0]?.['n']);
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

describe('larder quickstart', () => {
  let root: string;
  beforeAll(() => { root = mkdtempSync(path.join(tmpdir(), 'larder-quickstart-')); });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  // Its own project name: online keys are namespaced by it, and the Redis run clears them.
  const name = `qs_${process.pid}_${Date.now().toString(36)}`;
  let project: string;
  let first: Report | undefined;

  it('runs the flights example: datasets by time split, materialize, online reads with statuses', async () => {
    project = copyFlightsProject(path.join(root, 'flights'), { project: name });
    const report = await quickstart(project);
    first = report;
    expect(report.data.reused).toBe(false);
    expect(report.plan.add).toBeGreaterThan(10);
    expect(report.train.rows).toBe(await countFlights(project, `dep_time < TIMESTAMP '2001-05-01' AND flight_id % ${EVERY} = 0`));
    expect(report.validation.rows).toBe(await countFlights(project, `dep_time >= TIMESTAMP '2001-05-01' AND dep_time < TIMESTAMP '2001-06-01' AND flight_id % ${EVERY} = 0`));
    expect(report.validation.lateRate).toBeGreaterThan(0.05);
    // As of the hour after the last departure.
    const asOf = Date.parse(report.materialize.asOf);
    expect(asOf % 3_600_000).toBe(0);
    expect(asOf - Date.parse(report.data.last)).toBeGreaterThan(0);
    expect(asOf - Date.parse(report.data.last)).toBeLessThanOrEqual(3_600_000);
    expect(report.materialize.views).toBe(6);
    // Each origin and destination once per view, a row per route, and the 3,376 airports twice.
    expect(report.materialize.rows).toBeGreaterThan(2 * 3376);

    const [busiest, , unknown] = report.online.rows;
    const route = report.data.busiestRoutes[0];
    expect(route && TEST_AIRPORTS.includes(route.origin) && TEST_AIRPORTS.includes(route.destination)).toBe(true);
    for (const f of ['route_flights_28d', 'route_late_rate_28d', 'origin_avg_delay_7d', 'destination_late_rate_7d', 'origin_state', 'distance_band']) {
      expect(busiest?.statuses[f], f).toBe('PRESENT');
    }
    expect(busiest?.values['route_flights_28d']).toBeGreaterThan(100);
    // The aggregates are as old as the materialization: ten minutes at the read.
    expect(busiest?.eventTimestamps['route_late_rate_28d']).toBe(report.materialize.asOf);
    // 00M has no flights: no delay history, but its airport facts are there.
    expect(unknown?.statuses['destination_late_rate_7d']).toBe('NOT_FOUND');
    expect(unknown?.statuses['route_flights_28d']).toMatch(/NOT_FOUND|DEFAULTED/);
    expect(unknown?.values['destination_state']).toBe('MS');
    expect(unknown?.statuses['origin_late_rate_7d']).toBe('PRESENT');

    // Both trainers went through the flow and beat the base rate on May; logistic regression,
    // first, became the champion, and gradient boosting was gated against it.
    const [logreg, gbdt] = report.models.runs;
    expect(report.models.runs.map((r) => `${r.trainer}@${r.version}`)).toEqual(['logreg@1.0.0', 'gbdt@1.1.0']);
    expect(logreg).toMatchObject({ status: 'deployed', champion: true });
    for (const run of report.models.runs) {
      expect(run.metrics['auc']).toBeGreaterThan(0.55);
      expect(run.metrics['baseRate']).toBeCloseTo(report.validation.lateRate, 9);
    }
    expect(gbdt?.status).toBe(gbdt?.gate.pass ? 'deployed' : 'registered');

    // Served over HTTP by the champion, on the replayed clock: fresh features, real probabilities.
    const champion = report.models.runs.filter((r) => r.champion).at(-1);
    expect(report.serve.requests).toBeGreaterThan(50);
    expect(report.serve).toMatchObject({ version: champion?.version, degraded: 0 });
    expect(report.serve.p99Ms).toBeGreaterThanOrEqual(report.serve.p50Ms);
    for (const e of report.serve.examples) {
      expect(e.probability).toBeGreaterThan(0);
      expect(e.probability).toBeLessThan(1);
      expect(e.features).toBe(32);
    }
  });

  // A second run of the same project: the data is reused, apply changes nothing, and Redis
  // serves what the memory store served.
  it.runIf(redisUp)('runs again on Redis when REDIS_URL is set, with the same values', async () => {
    expect(first).toBeDefined();
    const online = createRedisOnlineStore({ url: REDIS_URL });
    try {
      const again = await quickstart(project, { REDIS_URL });
      expect(again.data.reused).toBe(true);
      expect(again.plan).toMatchObject({ add: 0, change: 0, remove: 0 });
      expect(again.train.rows).toBe(first?.train.rows);
      expect(again.materialize.views).toBe(6);
      // Deterministic trainers: the same artifacts again, so the registry gains no version.
      expect(again.models.runs.map((r) => `${r.trainer}@${r.version}`)).toEqual(first?.models.runs.map((r) => `${r.trainer}@${r.version}`));
      expect(again.online.rows.map((r) => r.statuses)).toEqual(first?.online.rows.map((r) => r.statuses));
      // Equal up to float rounding: DuckDB's parallel aggregates may sum in another order.
      const rounded = (rows: Report['online']['rows'] | undefined) => rows?.map((r) => Object.fromEntries(Object.entries(r.values)
        .map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v])));
      expect(rounded(again.online.rows)).toEqual(rounded(first?.online.rows));
    } finally {
      await online.clearProject(name);
      await online.close();
    }
  });
});
