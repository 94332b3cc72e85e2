/**
 * @module bench/materialize
 * Materialization benchmark (DESIGN §7): a generated Parquet source of `entities × rows` rows
 * with 10 float64 features, materialized end to end through `store.materialize` (DuckDB pull,
 * entity keys, encoding, last-write-wins writes) into Redis at REDIS_URL (or the memory store
 * with `--online memory`). Reports rows/s, the process's peak RSS and CPU seconds (this process,
 * and the Redis server's); with Redis, also
 * `redis-benchmark -P 64 -r 1000000 -n 2000000 -t hset` in the same run (target: ≥ 50% of it).
 * The project's keys are removed at the end.
 *
 *   node --import tsx bench/materialize.ts [--entities 1000000] [--rows 1] [--online redis|memory] [--pull auto|latest|candidates] [--no-reference] [--memory-limit 512MB] [--threads N] [--json]
 *
 * `--pull` picks how rows leave DuckDB (materialize.ts; default auto): `latest` is the grouped pull
 * alone, as before 2026-11-29. `--no-reference` skips redis-benchmark (for back-to-back CPU
 * comparisons of two versions; the % target needs it).
 *
 * 10M-row source shapes: `--entities 50000 --rows 200` (daily snapshots) and `--entities 1000000 --rows 10`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { Redis } from 'ioredis';
import { openStore } from '../featurestore/store.ts';
import { sqlLiteral } from '../featurestore/offline/sql.ts';
import { benchArgs } from './args.ts';
import { redisBenchmarkHset } from './redis-benchmark.ts';

const opts = benchArgs();
const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const entities = Number(opts['entities'] ?? 1_000_000);
const rowsPerEntity = Number(opts['rows'] ?? 1);
const onlineType = opts['online'] === 'memory' ? 'memory' : 'redis';
const project = `bench_materialize_${randomBytes(4).toString('hex')}`;
const log = (line: string): void => { if (opts['json'] === undefined) console.log(line); };
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const FEATURES = 10;
const pull = opts['pull'] === 'latest' || opts['pull'] === 'candidates' ? opts['pull'] : 'auto';

async function writeProject(dir: string): Promise<void> {
  mkdirSync(path.join(dir, 'features'), { recursive: true });
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  symlinkSync(fileURLToPath(new URL('..', import.meta.url)), path.join(dir, 'node_modules', 'larder'), 'dir');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  const online = onlineType === 'redis' ? { type: 'redis', url } : { type: 'memory' };
  const offline = { ...(opts['memory-limit'] === undefined ? {} : { memoryLimit: opts['memory-limit'] }), ...(opts['threads'] === undefined ? {} : { threads: Number(opts['threads']) }) };
  writeFileSync(path.join(dir, 'larder.config.ts'), `import { defineConfig } from 'larder';\nexport default defineConfig(${JSON.stringify({ project, online, offline })});\n`);
  const features = Array.from({ length: FEATURES }, (_, f) => `f${f}: t.float64()`).join(', ');
  writeFileSync(path.join(dir, 'features', 'defs.ts'), `import { entity, featureView, fileSource, t } from 'larder';
export const thing = entity('thing', { joinKeys: { id: t.int64() } });
export const source = fileSource('things', { path: 'data/things.parquet', timestamp: 'ts' });
export const stats = featureView('stats', { entities: [thing], source, features: { ${features} } });
`);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const columns = Array.from({ length: FEATURES }, (_, f) => `(hash(i * ${f + 1}) % 100000) / 100.0 AS f${f}`).join(', ');
  await connection.run(`COPY (SELECT CAST(i % ${entities} AS BIGINT) AS id, TIMESTAMP '2026-01-01' + to_seconds(CAST(i AS BIGINT)) AS ts, ${columns}
    FROM range(${entities * rowsPerEntity}) AS r(i)) TO ${sqlLiteral(path.join(dir, 'data', 'things.parquet'))} (FORMAT parquet)`);
  connection.closeSync();
  instance.closeSync();
}

/** The Redis server's CPU seconds so far (user + sys), from INFO: on a shared machine, wall time alone misleads. */
async function redisCpuSeconds(redisUrl: string): Promise<number> {
  const client = new Redis(redisUrl, { lazyConnect: true });
  try {
    await client.connect();
    const info = await client.info('cpu');
    const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return field('used_cpu_user') + field('used_cpu_sys');
  } finally {
    client.disconnect();
  }
}

const root = mkdtempSync(path.join(tmpdir(), 'larder-bench-materialize-'));
const results: Record<string, unknown> = { online: onlineType, pull, entities, rowsPerEntity, sourceRows: entities * rowsPerEntity, loadBefore: loadavg().map((l) => Number(l.toFixed(2))) };
try {
  log(`materialize ${fmt(entities * rowsPerEntity)} source rows (${fmt(entities)} entities × ${rowsPerEntity}) × ${FEATURES} float64 into ${onlineType}`);
  await writeProject(root);
  const reference = onlineType === 'redis' && opts['no-reference'] === undefined;
  const before = reference ? await redisBenchmarkHset(url) : undefined;
  if (before !== undefined) log(`  redis-benchmark -P 64 -t hset (before): ${fmt(before)} req/s`);
  const rssBefore = process.memoryUsage().rss;
  const store = await openStore({ dir: root });
  try {
    await store.apply();
    const redisCpuBefore = onlineType === 'redis' ? await redisCpuSeconds(url) : 0;
    const cpuBefore = process.cpuUsage();
    const [result] = await store.materialize({ end: new Date('2100-01-01T00:00:00Z'), pull });
    const cpu = process.cpuUsage(cpuBefore);
    const redisCpu = onlineType === 'redis' ? await redisCpuSeconds(url) - redisCpuBefore : 0;
    const peakRss = process.resourceUsage().maxRSS * 1024;
    Object.assign(results, {
      rows: result?.rows, pulled: result?.pull, written: result?.written, skippedOlder: result?.skippedOlder, seconds: result?.seconds, rowsPerSecond: result?.rowsPerSecond, rssBeforeMB: Math.round(rssBefore / 2 ** 20), peakRssMB: Math.round(peakRss / 2 ** 20),
      cpuSeconds: { process: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)), ...(onlineType === 'redis' ? { redisServer: Number(redisCpu.toFixed(2)) } : {}) },
    });
    log(`  larder materialize (pull ${pull} → ${result?.pull}): ${fmt(result?.rows ?? 0)} rows (${fmt(result?.written ?? 0)} written) in ${result?.seconds.toFixed(2)} s = ${fmt(result?.rowsPerSecond ?? 0)} rows/s; peak RSS ${fmt(peakRss / 2 ** 20)} MB`);
    log(`  CPU: this process (Node and DuckDB threads) ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s${onlineType === 'redis' ? `, Redis server ${redisCpu.toFixed(2)} s (all its clients)` : ''}`);
    await (await store.onlineStore()).clearProject(project);
  } finally {
    await store.close();
  }
  const after = reference ? await redisBenchmarkHset(url) : undefined;
  if (before !== undefined && after !== undefined) {
    const reference = (before + after) / 2;
    Object.assign(results, { redisBenchmarkHset: { before, after }, ofRedisBenchmark: Number(((results['rowsPerSecond'] as number) / reference).toFixed(3)) });
    log(`  redis-benchmark -P 64 -t hset (after): ${fmt(after)} req/s → materialize at ${(100 * (results['ofRedisBenchmark'] as number)).toFixed(0)}% of the mean (target ≥ 50%)`);
  }
  results['loadAfter'] = loadavg().map((l) => Number(l.toFixed(2)));
  if (opts['json'] !== undefined) console.log(JSON.stringify(results, null, 2));
} finally {
  rmSync(root, { recursive: true, force: true });
}
