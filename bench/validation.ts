/**
 * @module bench/validation
 * Validation benchmark (issue 5): profile + drift of the 3M-row flights data widened to 10
 * columns (5 read + 5 derived: route text, departure hour, weekday, a late flag, a score).
 * The reference is January–March, the current batch April–June: the reference is profiled
 * with its own deciles and top-K, the current batch against the reference's frozen bins (two
 * scans each), then drift. Rows/s counts every row profiled once (3M); target
 * ≥ 1.5M rows/s. Also: one full 3M profile alone, and the live accumulator's rows/s on JS rows.
 *
 *   node --import tsx bench/validation.ts [--runs 3] [--threads N] [--live-rows 200000] [--json]
 */
import { loadavg, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DuckDBEngine } from '../featurestore/offline/duckdb.ts';
import { sqlLiteral } from '../featurestore/offline/sql.ts';
import { profileDrift } from '../validation/drift.ts';
import { LiveProfile } from '../validation/live.ts';
import { profileRelation } from '../validation/profile.ts';
import { frozenBinsOf } from '../validation/profile-types.ts';
import { benchArgs } from './args.ts';

const opts = benchArgs();
const runs = Number(opts['runs'] ?? 3);
const liveRows = Number(opts['live-rows'] ?? 200_000);
const FLIGHTS = fileURLToPath(new URL('../node_modules/vega-datasets/data/flights-3m.parquet', import.meta.url));

const WIDE = `(SELECT date, delay, distance, origin, destination,
  origin || '-' || destination AS route, hour(date) AS dep_hour, dayofweek(date) AS weekday,
  delay > 15 AS late, distance / 500.0 + delay / 60.0 AS score
  FROM read_parquet(${sqlLiteral(FLIGHTS)}))`;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const engine = await DuckDBEngine.open({ path: ':memory:', projectDir: process.cwd(), ...(opts['threads'] ? { threads: Number(opts['threads']) } : {}) });
const results: Record<string, unknown> = { cpus: cpus().length, loadBefore: loadavg()[0] };
try {
  await engine.withSession(async (s) => {
    const reference = `(SELECT * FROM ${WIDE} WHERE month(date) <= 3)`;
    const current = `(SELECT * FROM ${WIDE} WHERE month(date) > 3)`;
    const total = Number((await s.rows(`SELECT count(*) AS n FROM ${WIDE}`))[0]?.['n']);
    const pipeline: number[] = [];
    const full: number[] = [];
    let summary: unknown;
    const cpu: number[] = [];
    for (let r = 0; r < runs; r++) {
      const cpu0 = process.cpuUsage();
      let t = performance.now();
      const ref = await profileRelation(s, reference);
      const refMs = performance.now() - t;
      const t2 = performance.now();
      const cur = await profileRelation(s, current, { bins: frozenBinsOf(ref) });
      const curMs = performance.now() - t2;
      const t3 = performance.now();
      const drift = profileDrift(ref, cur);
      const driftMs = performance.now() - t3;
      const ms = performance.now() - t;
      const used = process.cpuUsage(cpu0);
      cpu.push((used.user + used.system) / 1000);
      pipeline.push(ms);
      summary = { referenceRows: ref.rows, currentRows: cur.rows, referenceMs: Math.round(refMs), currentMs: Math.round(curMs), driftMs: Number(driftMs.toFixed(2)),
        drifted: drift.dataset.driftedFeatures, psi: Object.fromEntries([...drift.features].map(([k, d]) => [k, Number(d.psi.toFixed(4))])) };
      t = performance.now();
      await profileRelation(s, WIDE);
      full.push(performance.now() - t);
    }
    results['rows'] = total;
    results['columns'] = 10;
    results['profileAndDrift'] = { medianMs: Math.round(median(pipeline)), rowsPerSec: Math.round(total / (median(pipeline) / 1000)), runsMs: pipeline.map(Math.round),
      cpuMs: Math.round(median(cpu)), rowsPerCpuSec: Math.round(total / (median(cpu) / 1000)), last: summary };
    results['fullProfile'] = { medianMs: Math.round(median(full)), rowsPerSec: Math.round(total / (median(full) / 1000)), runsMs: full.map(Math.round) };

    // The live path: JS rows (as the serving process would see them) into an accumulator.
    const reference3m = await profileRelation(s, reference);
    const rows = await s.rows(`SELECT * REPLACE (CAST(delay AS DOUBLE) AS delay, CAST(distance AS DOUBLE) AS distance, CAST(dep_hour AS DOUBLE) AS dep_hour, CAST(weekday AS DOUBLE) AS weekday) FROM ${current} LIMIT ${liveRows}`);
    const live = new LiveProfile(reference3m);
    const t = performance.now();
    live.addMany(rows);
    const liveMs = performance.now() - t;
    results['live'] = { rows: rows.length, ms: Math.round(liveMs), rowsPerSec: Math.round(rows.length / (liveMs / 1000)) };
  });
} finally {
  engine.close();
}
results['loadAfter'] = loadavg()[0];
if (opts['json']) console.log(JSON.stringify(results, null, 2));
else {
  const p = results['profileAndDrift'] as { medianMs: number; rowsPerSec: number; runsMs: number[]; cpuMs: number; rowsPerCpuSec: number; last: unknown };
  const f = results['fullProfile'] as { medianMs: number; rowsPerSec: number };
  const l = results['live'] as { rows: number; ms: number; rowsPerSec: number };
  console.log(`${results['rows']} rows × 10 columns, ${results['cpus']} cores, load ${(results['loadBefore'] as number).toFixed(1)} → ${(results['loadAfter'] as number).toFixed(1)}`);
  console.log(`profile (Jan–Mar, own bins) + profile (Apr–Jun, frozen bins) + drift: median ${p.medianMs} ms = ${(p.rowsPerSec / 1e6).toFixed(2)}M rows/s (runs ${p.runsMs.join(', ')} ms; target ≥ 1.5M rows/s); CPU ${p.cpuMs} ms = ${(p.rowsPerCpuSec / 1e6).toFixed(2)}M rows per CPU-second`);
  console.log(`one full profile of all rows: median ${f.medianMs} ms = ${(f.rowsPerSec / 1e6).toFixed(2)}M rows/s`);
  console.log(`live accumulator: ${l.rows} JS rows in ${l.ms} ms = ${(l.rowsPerSec / 1e6).toFixed(2)}M rows/s`);
  console.log(JSON.stringify(p.last));
}
