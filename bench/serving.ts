/**
 * @module bench/serving
 * Serving benchmark (DESIGN §7, issue 7), all in one run against the Redis at REDIS_URL:
 *   (a) ceiling: a bare Fastify POST route (parses the same JSON body, answers a constant);
 *   (b) floor: raw ioredis, 20k sequential calls timed with performance.now(): HMGET of the same
 *       20 values from one hash, and MGET of the 3 keys the online store actually reads (one per
 *       view), next to `getOnlineFeatures` in-process (the library path, no HTTP);
 *   (c) `POST /v1/features`, 1 entity × 20 features over 3 views (service `bench20`), at
 *       `--connections` for req/s (target ≥ 50% of (a)) and at 1 connection for latency (target
 *       p99 ≤ floor HMGET p99 + 1 ms);
 *   (d) `POST /v1/predict/:model` at 64 connections, batching on vs off (same bytes registered
 *       twice, batching disabled for `<model>_unbatched`): the heavy models, an MLP
 *       20→256→512→1 (`--mlp-hidden`) and a 300-tree GBDT (target ≥ 3× req/s at equal or better
 *       p99), and the small 100-tree GBDT like the flights model (target: batching costs ≤ 5%
 *       req/s and ≤ 0.5 ms p99). The heavy ones run in the worker pool (`inference: 'pool'`, how
 *       heavy models are meant to be served); `--heavy-inference inline` runs them on the event loop.
 * Servers run in child processes (`serving-child.ts`), autocannon in this one. The two sides of
 * each comparison are loaded in turns (`--rounds` segments each) so that background load on a
 * shared machine hits both alike. autocannon's
 * histograms hold whole milliseconds, so latencies here come from its per-response times
 * (µs digits); the mean is also given by Little's law (connections / req/s). Each server reports
 * its event-loop delay during each run. The project lives in a temp folder under a unique name;
 * its Redis keys and the folder are removed at the end.
 *
 *   node --import tsx bench/serving.ts [--duration 6] [--warmup 2] [--connections 64] [--users 10000]
 *     [--iterations 20000] [--mlp-hidden 256,512] [--heavy-inference pool|inline] [--log off]
 *     [--rounds 3] [--parts abcd] [--models mlp,gbdt300,gbdt] [--profile DIR] [--json]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { encodeEntityKey } from '../featurestore/online/entity-key.ts';
import { valueKey } from '../featurestore/online/redis-keys.ts';
import { openStore, type FeatureStore } from '../featurestore/store.ts';
import { benchArgs } from './args.ts';
import { createServingBenchProject, FEATURES, registerBenchModels, SERVICE, VIEWS } from './serving-project.ts';

const opts = benchArgs();
const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const duration = Number(opts['duration'] ?? 6);
const warmup = Number(opts['warmup'] ?? 2);
const rounds = Number(opts['rounds'] ?? 3);
const connections = Number(opts['connections'] ?? 64);
const users = Number(opts['users'] ?? 10_000);
const iterations = Number(opts['iterations'] ?? 20_000);
// Heavy models run in the worker pool, as the issue and docs/http.md configure them; `inline` for comparison.
const heavyInference = opts['heavy-inference'] === 'inline' ? 'inline' : 'pool';
const mlpHidden = (opts['mlp-hidden'] ?? '256,512').split(',').map(Number);
/** Which parts to run: b (floor), ac (bare route vs /v1/features), d (/v1/predict). */
const parts = opts['parts'] ?? 'abcd';
const predictModels = (opts['models'] ?? 'mlp,gbdt300,gbdt').split(',');
/** `--profile DIR`: the larder server writes a V8 CPU profile (.cpuprofile) into DIR when it stops. */
const profileDir = opts['profile'];
const predictionLog = opts['log'] === 'off' ? { sampleRate: 0 } : undefined;
const project = `bench_serving_${randomUUID().slice(0, 8)}`;
const results: Record<string, unknown> = { url, duration, connections, users, heavyInference, mlpHidden, predictionLogOn: predictionLog === undefined, loadBefore: loadavg().map((l) => Number(l.toFixed(2))) };
const log = (line: string): void => { if (opts['json'] === undefined) console.log(line); };
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => n.toFixed(3);

interface Latency { p50: number; p99: number; mean: number }

function latencyOf(samples: Float64Array): Latency {
  const sorted = samples.slice().sort();
  const at = (q: number): number => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: at(0.5), p99: at(0.99), mean: sum / sorted.length };
}

/** `calls` sequential awaits of `fn`, timed one by one (ms). */
async function sequential(calls: number, fn: () => Promise<unknown>): Promise<Latency> {
  for (let i = 0; i < Math.min(2000, calls / 10); i++) await fn();
  const samples = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    await fn();
    samples[i] = performance.now() - start;
  }
  return latencyOf(samples);
}

interface LoadResult extends Latency {
  rps: number; littleMs: number; acP99: number; errors: number; non2xx: number; statuses: Record<string, number>;
  lag?: { p50: number; p99: number; max: number };
  /** Server CPU time per request (µs): what caps req/s once the server's core is saturated. */
  cpuUsPerRequest?: number;
}

/** The server's event-loop delay and CPU time over one segment. */
interface LagReading { p50: number; p99: number; max: number; cpuMs: number }

/** One autocannon run as raw material: every response's time (µs digits) and the counts. */
interface Segment { samples: Float64Array; requests: number; seconds: number; acP99: number; errors: number; non2xx: number; statuses: Record<string, number> }

/** autocannon POSTs of `body` for `seconds`, every response's time kept. */
function load(target: string, body: string, conns: number, seconds: number, record = true): Promise<Segment> {
  let samples = new Float64Array(1 << 16);
  let n = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url: target, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: conns, duration: seconds, timeout: 30 }, (error, r) => {
      if (error !== null) { reject(error); return; }
      const statuses = Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, { count }]) => [code, Number(count)]));
      resolve({ samples: samples.subarray(0, n), requests: r.requests.total, seconds: r.duration, acP99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, statuses });
    });
    if (record) {
      instance.on('response', (_client, _status, _bytes, responseTime) => {
        if (n === samples.length) { const grown = new Float64Array(n * 2); grown.set(samples); samples = grown; }
        samples[n++] = responseTime;
      });
    }
  });
}

/** Segments of one target, taken in turns with another's, summed into one result. */
function summarize(segments: readonly Segment[], conns: number, lags: readonly LagReading[]): LoadResult {
  const samples = new Float64Array(segments.reduce((n, g) => n + g.samples.length, 0));
  let at = 0;
  for (const g of segments) { samples.set(g.samples, at); at += g.samples.length; }
  const requests = segments.reduce((n, g) => n + g.requests, 0);
  const rps = requests / segments.reduce((n, g) => n + g.seconds, 0);
  const statuses: Record<string, number> = {};
  for (const g of segments) for (const [code, count] of Object.entries(g.statuses)) statuses[code] = (statuses[code] ?? 0) + count;
  return {
    ...latencyOf(samples), rps, littleMs: (conns / rps) * 1000, acP99: Math.max(...segments.map((g) => g.acP99)),
    errors: segments.reduce((n, g) => n + g.errors, 0), non2xx: segments.reduce((n, g) => n + g.non2xx, 0), statuses,
    lag: { p50: Math.max(...lags.map((l) => l.p50)), p99: Math.max(...lags.map((l) => l.p99)), max: Math.max(...lags.map((l) => l.max)) },
    cpuUsPerRequest: (lags.reduce((n, l) => n + l.cpuMs, 0) * 1000) / Math.max(1, requests),
  };
}

interface Child { readonly port: number; readonly process: ChildProcess; request<T>(type: string, reply: string): Promise<T> }

function startChild(kind: 'bare' | 'larder', dir?: string, config: object = {}): Promise<Child> {
  const script = fileURLToPath(new URL('./serving-child.ts', import.meta.url));
  const child = fork(script, dir === undefined ? [kind] : [kind, dir], {
    execArgv: ['--import', 'tsx', ...(profileDir === undefined || kind !== 'larder' ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir])], env: { ...process.env, LARDER_BENCH_CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const request = <T>(type: string, reply: string): Promise<T> => new Promise((resolve) => {
    const onMessage = (m: { type: string }): void => { if (m.type === reply) { child.off('message', onMessage); resolve(m as T); } };
    child.on('message', onMessage);
    child.send({ type });
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code} before it listened`)));
    child.once('message', (m: { type: string; port: number }) => { if (m.type === 'ready') resolve({ port: m.port, process: child, request }); });
  });
}

async function stopChild(child: Child): Promise<void> {
  child.process.removeAllListeners('exit');
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  await child.request('stop', 'stopped');
  await exited;
}

/** Where one side of a comparison sends its load. */
interface Target { readonly child: Child; readonly url: string }

/**
 * Two targets under the same load, taken in turns (`--rounds` segments of duration/rounds each,
 * after a warm-up of each), so that background load on a shared machine hits both alike; the
 * servers' event-loop delay is read over each segment (the worst segment is reported).
 */
async function compare(a: Target, b: Target, body: string, conns: number): Promise<[LoadResult, LoadResult]> {
  await load(a.url, body, conns, warmup, false);
  await load(b.url, body, conns, warmup, false);
  const segments: [Segment[], Segment[]] = [[], []];
  const lags: [LagReading[], LagReading[]] = [[], []];
  for (let round = 0; round < rounds; round++) {
    for (const [side, target] of [a, b].entries()) {
      await target.child.request('lag-reset', 'ok');
      segments[side]!.push(await load(target.url, body, conns, duration / rounds));
      lags[side]!.push(await target.child.request<LagReading>('lag-read', 'lag'));
    }
  }
  return [summarize(segments[0], conns, lags[0]), summarize(segments[1], conns, lags[1])];
}

function row(name: string, r: LoadResult, conns: number): string {
  const lag = r.lag === undefined ? '' : ` | loop lag p99 ${ms(r.lag.p99)} max ${ms(r.lag.max)}`;
  const cpu = r.cpuUsPerRequest === undefined ? '' : ` | server CPU ${r.cpuUsPerRequest.toFixed(0)} µs/req`;
  const codes = Object.entries(r.statuses).filter(([code]) => !code.startsWith('2')).map(([code, count]) => `${count}× ${code}`).join(', ');
  const bad = r.errors + r.non2xx > 0 ? ` | ${r.errors} errors, non-2xx: ${codes}` : '';
  return `  ${name.padEnd(34)} ${String(conns).padStart(3)} conns ${fmt(r.rps).padStart(8)} req/s | p50 ${ms(r.p50)} p99 ${ms(r.p99)} ms (autocannon p99 ${r.acP99}) | mean ${ms(r.mean)}, Little ${ms(r.littleMs)} ms${cpu}${lag}${bad}`;
}

/** (b): raw ioredis and the library path, sequential calls timed one by one. */
async function benchFloor(store: FeatureStore, redis: Redis, rawKey: string): Promise<Latency> {
  const entity = { user_id: 'u42' };
  const entityKey = encodeEntityKey(['user_id'], entity);
  const keys = Object.keys(VIEWS).map((view) => valueKey('larder', project, view, entityKey));
  const features = await store.getOnlineFeatures({ service: SERVICE, entities: [entity], timeoutMs: 1000 });
  await redis.hset(rawKey, Object.fromEntries(FEATURES.map((f) => [f, String(features.rows[0]?.values[f])])));
  const hmget = await sequential(iterations, () => redis.hmget(rawKey, ...FEATURES));
  const mget = await sequential(iterations, () => redis.mgetBuffer(...keys));
  const library = await sequential(Math.min(iterations, 10_000), () => store.getOnlineFeatures({ service: SERVICE, entities: [entity], timeoutMs: 1000 }));
  results['floor'] = { hmget, mget, getOnlineFeatures: library };
  log(`\n(b) floor, ${fmt(iterations)} sequential calls (ms):`);
  log(`  raw ioredis HMGET 20 fields      p50 ${ms(hmget.p50)} p99 ${ms(hmget.p99)} mean ${ms(hmget.mean)}`);
  log(`  raw ioredis MGET of the 3 keys   p50 ${ms(mget.p50)} p99 ${ms(mget.p99)} mean ${ms(mget.mean)}`);
  log(`  getOnlineFeatures in-process     p50 ${ms(library.p50)} p99 ${ms(library.p99)} mean ${ms(library.mean)}`);
  return hmget;
}

/** (d): each model batched and unbatched, in turns, with the mean batch size. */
async function benchPredict(larder: Child, base: string): Promise<void> {
  const body = JSON.stringify({ entities: [{ user_id: 'u42' }] });
  const predict: Record<string, LoadResult & { batch?: number }> = {};
  log(`\n(d) POST /v1/predict/:model, ${connections} connections (mlp 20→${mlpHidden.join('→')}→1 and gbdt300: ${heavyInference}; gbdt: inline; prediction log ${predictionLog === undefined ? 'on' : 'off'}):`);
  type Batches = { batches: Record<string, { rows: number; runs: number }> };
  for (const model of predictModels) {
    const before = await larder.request<Batches>('batches', 'batches');
    const [on, off] = await compare({ child: larder, url: `${base}/v1/predict/${model}` }, { child: larder, url: `${base}/v1/predict/${model}_unbatched` }, body, connections);
    const after = await larder.request<Batches>('batches', 'batches');
    const rows = (after.batches[model]?.rows ?? 0) - (before.batches[model]?.rows ?? 0);
    const runs = (after.batches[model]?.runs ?? 0) - (before.batches[model]?.runs ?? 0);
    predict[model] = { ...on, ...(runs > 0 ? { batch: rows / runs } : {}) };
    predict[`${model}_unbatched`] = off;
    log(`${row(`/v1/predict/${model}`, on, connections)}${runs > 0 ? ` | mean batch ${(rows / runs).toFixed(1)} rows` : ''}`);
    log(row(`/v1/predict/${model}_unbatched`, off, connections));
    const speedup = on.rps / off.rps;
    if (model !== 'gbdt') {
      log(`  → ${model}: batching ${speedup.toFixed(2)}× req/s (target ≥ 3×), p99 ${ms(on.p99)} vs ${ms(off.p99)} ms (target ≤): ${speedup >= 3 && on.p99 <= off.p99 ? 'met' : 'NOT met'}`);
    } else {
      log(`  → gbdt: batching changes req/s by ${((speedup - 1) * 100).toFixed(1)}% (target ≥ −5%), p99 by ${ms(on.p99 - off.p99)} ms (target ≤ 0.5): ${speedup >= 0.95 && on.p99 - off.p99 <= 0.5 ? 'met' : 'NOT met'}`);
    }
  }
  results['predict'] = predict;
}

const root = mkdtempSync(path.join(tmpdir(), 'larder-bench-serving-'));
const dir = path.join(root, 'project');
const children: Child[] = [];
const redis = new Redis(url);
const rawKey = `larder-bench:${project}:hmget`;
try {
  log(`bench/serving: project ${project}, ${fmt(users)} users, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  let t = performance.now();
  const columns = await createServingBenchProject(dir, { project, redisUrl: url, users });
  const store = await openStore({ dir });
  let floor: Latency | undefined;
  try {
    await store.apply();
    await store.materialize({ end: new Date() });
    await registerBenchModels(store, columns, mlpHidden);
    log(`setup (project, apply, materialize, train 2 GBDTs, register): ${((performance.now() - t) / 1000).toFixed(1)} s`);
    if (parts.includes('b')) floor = await benchFloor(store, redis, rawKey);
  } finally {
    await store.close();
  }
  t = performance.now();

  // (a) the ceiling and (c) /v1/features, each server in its own process, measured in turns.
  const featuresBody = JSON.stringify({ service: SERVICE, entities: [{ user_id: 'u42' }] });
  const heavy = { inference: heavyInference };
  const off = { batching: { enabled: false } };
  const larder = await startChild('larder', dir, {
    models: { mlp: heavy, mlp_unbatched: { ...heavy, ...off }, gbdt300: heavy, gbdt300_unbatched: { ...heavy, ...off }, gbdt_unbatched: off },
    ...(predictionLog === undefined ? {} : { predictionLog }),
  });
  children.push(larder);
  const base = `http://127.0.0.1:${larder.port}`;
  if (parts.includes('a') && parts.includes('c')) {
    const bare = await startChild('bare');
    children.push(bare);
    const bareTarget = { child: bare, url: `http://127.0.0.1:${bare.port}/bare` };
    const featuresTarget = { child: larder, url: `${base}/v1/features` };
    const [bareLoad, servedLoad] = await compare(bareTarget, featuresTarget, featuresBody, connections);
    const [bareOne, servedOne] = await compare(bareTarget, featuresTarget, featuresBody, 1);
    await stopChild(bare);
    children.splice(children.indexOf(bare), 1);
    results['bare'] = { load: bareLoad, one: bareOne };
    results['features'] = { load: servedLoad, one: servedOne };
    log(`\n(a)/(c) bare route vs /v1/features (1 entity × 20 features, 3 views), in turns:`);
    log(row('bare Fastify POST', bareLoad, connections));
    log(row('POST /v1/features', servedLoad, connections));
    log(row('bare Fastify POST', bareOne, 1));
    log(row('POST /v1/features', servedOne, 1));
    const ratio = servedLoad.rps / bareLoad.rps;
    log(`  → /v1/features req/s = ${(ratio * 100).toFixed(0)}% of the bare route (target ≥ 50%): ${ratio >= 0.5 ? 'met' : 'NOT met'}`);
    if (floor !== undefined) {
      log(`  → /v1/features p99 at 1 conn ${ms(servedOne.p99)} ms vs HMGET p99 ${ms(floor.p99)} + 1 ms (target): ${servedOne.p99 <= floor.p99 + 1 ? 'met' : 'NOT met'}`);
    }
  }
  // (d) on the same larder server; the `_unbatched` twins have batching disabled.
  if (parts.includes('d')) await benchPredict(larder, base);
  await stopChild(larder);
  children.splice(children.indexOf(larder), 1);
  log(`\nload runs: ${((performance.now() - t) / 1000).toFixed(1)} s; load average after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  results['loadAfter'] = loadavg().map((l) => Number(l.toFixed(2)));
  if (opts['json'] !== undefined) console.log(JSON.stringify(results, null, 2));
} finally {
  for (const child of children) child.process.kill('SIGTERM');
  // Everything the project wrote to Redis, and the raw hash of the floor.
  const cleanup = await openStore({ dir }).catch(() => undefined);
  if (cleanup !== undefined) {
    await (await cleanup.onlineStore()).clearProject(project).catch(() => undefined);
    await cleanup.close();
  }
  await redis.del(rawKey).catch(() => 0);
  redis.disconnect();
  rmSync(root, { recursive: true, force: true });
}
