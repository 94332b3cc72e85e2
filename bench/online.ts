/**
 * @module bench/online
 * Online store benchmark (DESIGN §5, §7). In one run, against the Redis at REDIS_URL:
 *   (1) writes: 1M entities × 10 float64 features through `OnlineStore.write` (last-write-wins
 *       Lua script per batch), without and with a ttl (key expiry), in rows/s; against
 *       `redis-benchmark -P 64 -r 1000000 -n 2000000 -t hset`, run before and after ours (the
 *       target is ≥ 50% of it), and a naive ioredis pipeline of plain SETs of the same bytes (no
 *       last-write-wins) for scale;
 *   (2) single-entity read of 20 features over 3 views: `OnlineStore.read` (one MGET + decode) vs a
 *       raw ioredis HMGET of the same 20 values from one hash, and the raw MGET of our 3 keys,
 *       p50/p99 (target: read p99 ≤ HMGET p99 + 1 ms);
 *   (3) the layout choice: 100 entities (1 and 3 views) read as one MGET of string keys vs 100
 *       pipelined HMGETs of a hash per entity with a field per view, p50/p99.
 * Latencies use process.hrtime.bigint; the methods of (2) and (3) take turns on every iteration
 * so that background load hits them alike. Every key written is removed at the end.
 *
 *   node --import tsx bench/online.ts [--entities 1000000] [--iterations 20000] [--skip-write] [--json]
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { encodeRows, viewCodec } from '../featurestore/online/value-codec.ts';
import { createRedisOnlineStore } from '../featurestore/online/redis-store.ts';
import { valueKey } from '../featurestore/online/redis-keys.ts';
import type { OnlineRow, OnlineStore, OnlineViewLayout } from '../featurestore/online/store.ts';
import { benchArgs } from './args.ts';
import { redisBenchmarkHset } from './redis-benchmark.ts';


const opts = benchArgs();
const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const entities = Number(opts['entities'] ?? 1_000_000);
const iterations = Number(opts['iterations'] ?? 20_000);
const project = `bench-online-${randomUUID().slice(0, 8)}`;
const rawPrefix = `larder-bench:${project}`;
const DAY = 86_400_000;
const results: Record<string, unknown> = { url, entities, iterations, loadBefore: loadavg().map((l) => Number(l.toFixed(2))) };

const log = (line: string): void => { if (opts['json'] === undefined) console.log(line); };
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function layout(view: string, features: number, ttlMs: number | null = null): OnlineViewLayout {
  return { project, view, ttlMs, features: Array.from({ length: features }, (_, i) => ({ name: `f${i}`, dtype: { kind: 'float64' } })) };
}

function rowsOf(n: number, features: number, eventTs: number): OnlineRow[] {
  const rows: OnlineRow[] = new Array<OnlineRow>(n);
  for (let i = 0; i < n; i++) {
    const values = new Array<number>(features);
    for (let f = 0; f < features; f++) values[f] = i * 0.001 + f;
    rows[i] = { entityKey: String(i), values, eventTs: eventTs + (i % 1000), createdTs: null };
  }
  return rows;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function percentiles(samples: number[]): { p50: number; p99: number; p999: number; mean: number } {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number) / 1000;
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length / 1000;
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999), mean };
}

/** Runs the methods in turn, `rounds` times each after a warm-up; latencies in µs. */
async function race(methods: Record<string, (i: number) => Promise<unknown>>, rounds: number): Promise<Record<string, ReturnType<typeof percentiles>>> {
  const names = Object.keys(methods);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const warmup = Math.min(2000, Math.ceil(rounds / 10));
  for (let i = 0; i < warmup + rounds; i++) {
    for (const name of names) {
      const start = process.hrtime.bigint();
      await (methods[name] as (i: number) => Promise<unknown>)(i);
      if (i >= warmup) (samples[name] as number[]).push(Number(process.hrtime.bigint() - start));
    }
  }
  return Object.fromEntries(names.map((n) => [n, percentiles(samples[n] as number[])]));
}

async function unlinkMatching(admin: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== '0');
}

async function benchWrites(store: OnlineStore, admin: Redis): Promise<void> {
  log(`\n(1) writes: ${fmt(entities)} entities × 10 float64 features`);
  await admin.select(9);
  const hadHash = (await admin.exists('myhash')) === 1;
  await admin.select(0);
  const before = await redisBenchmarkHset(url);
  log(`  redis-benchmark -P 64 -t hset (before): ${fmt(before)} req/s`);

  const rows = rowsOf(entities, 10, Date.now() - DAY);
  const plain = layout('write_plain', 10);
  const expiring = layout('write_ttl', 10, 2 * DAY);
  const coldS = await timed(() => store.write(plain, rows));
  log(`  OnlineStore.write, one call, no ttl, first run (cold JIT, Redis allocating): ${fmt(entities / coldS)} rows/s (${coldS.toFixed(2)} s)`);
  const overwriteS = await timed(() => store.write(plain, rows));
  log(`  OnlineStore.write again over the same keys (compare + overwrite): ${fmt(entities / overwriteS)} rows/s`);
  await store.clearProject(project);
  const plainS = await timed(() => store.write(plain, rows));
  log(`  OnlineStore.write, one call, no ttl (MSETNX in the script): ${fmt(entities / plainS)} rows/s (${plainS.toFixed(2)} s)`);
  await store.clearProject(project);
  const ttlS = await timed(() => store.write(expiring, rows));
  log(`  OnlineStore.write, one call, ttl 2d (SET PX per key): ${fmt(entities / ttlS)} rows/s (${ttlS.toFixed(2)} s)`);
  await store.clearProject(project);
  const chunk = 100_000;
  const chunkedS = await timed(async () => { for (let i = 0; i < rows.length; i += chunk) await store.write(plain, rows.slice(i, i + chunk)); });
  log(`  OnlineStore.write in calls of ${fmt(chunk)} rows, no ttl: ${fmt(entities / chunkedS)} rows/s`);
  await store.clearProject(project);
  // As a materialization streaming chunks would: the next call encodes while the last one is sent.
  const overlappedS = await timed(async () => {
    let previous: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < rows.length; i += chunk) {
      const current = store.write(plain, rows.slice(i, i + chunk));
      await previous;
      previous = current;
    }
    await previous;
  });
  log(`  OnlineStore.write in calls of ${fmt(chunk)} rows, 2 calls in flight, no ttl: ${fmt(entities / overlappedS)} rows/s`);
  await store.clearProject(project);

  // Naive: the same encoded bytes as plain SETs in ioredis pipelines of 1000, no last-write-wins.
  const encoded = encodeRows(viewCodec(plain), rows);
  const naive = new Redis(url);
  const naiveS = await timed(async () => {
    const inFlight: Promise<unknown>[] = [];
    for (let start = 0; start < rows.length; start += 1000) {
      const pipeline = naive.pipeline();
      for (let i = start; i < Math.min(start + 1000, rows.length); i++) {
        pipeline.set(valueKey('larder', project, 'naive', String(i)), encoded.bytes.subarray(i === 0 ? 0 : encoded.ends[i - 1], encoded.ends[i]));
      }
      inFlight.push(pipeline.exec());
      if (inFlight.length >= 8) await inFlight.shift();
    }
    await Promise.all(inFlight);
  });
  naive.disconnect();
  log(`  naive ioredis pipelined SET of the same bytes (no last-write-wins): ${fmt(entities / naiveS)} rows/s`);
  await store.clearProject(project);

  const after = await redisBenchmarkHset(url);
  log(`  redis-benchmark -P 64 -t hset (after): ${fmt(after)} req/s`);
  await admin.select(9);
  if (!hadHash) await admin.del('myhash');
  await admin.select(0);
  const reference = (before + after) / 2;
  results['writes'] = {
    redisBenchmarkHset: { before, after },
    noTtlCold: { rowsPerS: entities / coldS, ofRedisBenchmark: entities / coldS / reference },
    noTtl: { rowsPerS: entities / plainS, ofRedisBenchmark: entities / plainS / reference },
    overwrite: { rowsPerS: entities / overwriteS, ofRedisBenchmark: entities / overwriteS / reference },
    ttl: { rowsPerS: entities / ttlS, ofRedisBenchmark: entities / ttlS / reference },
    chunked100k: { rowsPerS: entities / chunkedS, ofRedisBenchmark: entities / chunkedS / reference },
    chunked100kTwoInFlight: { rowsPerS: entities / overlappedS, ofRedisBenchmark: entities / overlappedS / reference },
    naiveSetPipeline: { rowsPerS: entities / naiveS },
  };
  const pct = (seconds: number): string => `${(100 * entities / seconds / reference).toFixed(0)}%`;
  log(`  → of redis-benchmark (mean of before/after): one call ${pct(plainS)}, 100k calls ${pct(chunkedS)}, 2 in flight ${pct(overlappedS)}, with ttl ${pct(ttlS)}`);
}

async function benchReads(store: OnlineStore, admin: Redis): Promise<void> {
  const n = 10_000;
  const views = [layout('read_a', 7), layout('read_b', 7), layout('read_c', 6)];
  for (const view of views) await store.write(view, rowsOf(n, view.features.length, Date.now()));
  // The same 20 values as one hash per entity, a field per feature (for HMGET).
  const fields = Array.from({ length: 20 }, (_, i) => `f${i}`);
  const raw = new Redis(url);
  for (let start = 0; start < n; start += 1000) {
    const pipeline = raw.pipeline();
    for (let i = start; i < start + 1000; i++) {
      const hash: Record<string, string> = {};
      fields.forEach((f, j) => { hash[f] = String(i * 0.001 + (j % 7)); });
      pipeline.hset(`${rawPrefix}:hash:{${i}}`, hash);
    }
    await pipeline.exec();
  }
  const keysOf = (i: number): string[] => views.map((v) => valueKey('larder', project, v.view, String(i)));
  const entity = (i: number): number => (i * 7919) % n;

  log(`\n(2) single-entity read, 20 features over 3 views (${fmt(iterations)} each, µs)`);
  const single = await race({
    'OnlineStore.read (MGET 3 keys + decode)': (i) => store.read(views.map((view) => ({ layout: view, entityKeys: [String(entity(i))] }))),
    'raw ioredis MGET of the 3 keys': (i) => raw.mgetBuffer(keysOf(entity(i))),
    'raw ioredis HMGET of 20 fields': (i) => raw.hmget(`${rawPrefix}:hash:{${entity(i)}}`, ...fields),
  }, iterations);
  for (const [name, p] of Object.entries(single)) log(`  ${name.padEnd(42)} p50 ${p.p50.toFixed(0).padStart(5)}  p99 ${p.p99.toFixed(0).padStart(5)}  p99.9 ${p.p999.toFixed(0).padStart(5)}`);
  const ours = single['OnlineStore.read (MGET 3 keys + decode)'];
  const hmget = single['raw ioredis HMGET of 20 fields'];
  if (ours && hmget) log(`  → read p99 − HMGET p99 = ${(ours.p99 - hmget.p99).toFixed(0)} µs (target ≤ 1000 µs)`);
  results['singleEntityRead'] = single;

  // (3) Layout: string key per (entity, view) with MGET vs a hash per entity with a field per view.
  for (let start = 0; start < n; start += 1000) {
    const pipeline = raw.pipeline();
    for (let i = start; i < start + 1000; i++) {
      const values = await raw.mgetBuffer(keysOf(i));
      pipeline.hset(`${rawPrefix}:entity:{${i}}`, 'read_a', values[0] as Buffer, 'read_b', values[1] as Buffer, 'read_c', values[2] as Buffer);
    }
    await pipeline.exec();
  }
  const hundred = (i: number): number[] => Array.from({ length: 100 }, (_, j) => (i * 100 + j * 97) % n);
  const rounds = Math.max(1000, Math.floor(iterations / 4));
  log(`\n(3) layout: 100 entities per read (${fmt(rounds)} each, µs)`);
  const layoutRace = await race({
    'MGET 100 string keys (1 view)': (i) => raw.mgetBuffer(hundred(i).map((e) => valueKey('larder', project, 'read_a', String(e)))),
    '100 pipelined HMGET (hash per entity, 1 view)': (i) => {
      const pipeline = raw.pipeline();
      for (const e of hundred(i)) pipeline.hmgetBuffer(`${rawPrefix}:entity:{${e}}`, 'read_a');
      return pipeline.exec();
    },
    'MGET 300 string keys (3 views)': (i) => raw.mgetBuffer(hundred(i).flatMap((e) => keysOf(e))),
    '100 pipelined HMGET × 3 fields (3 views)': (i) => {
      const pipeline = raw.pipeline();
      for (const e of hundred(i)) pipeline.hmgetBuffer(`${rawPrefix}:entity:{${e}}`, 'read_a', 'read_b', 'read_c');
      return pipeline.exec();
    },
    'OnlineStore.read 3 views × 100 (+ decode)': (i) => store.read(views.map((view) => ({ layout: view, entityKeys: hundred(i).map(String) }))),
  }, rounds);
  for (const [name, p] of Object.entries(layoutRace)) log(`  ${name.padEnd(42)} p50 ${p.p50.toFixed(0).padStart(5)}  p99 ${p.p99.toFixed(0).padStart(5)}  p99.9 ${p.p999.toFixed(0).padStart(5)}`);
  results['layout'] = layoutRace;
  raw.disconnect();
  await unlinkMatching(admin, `${rawPrefix}:*`);
}

const admin = new Redis(url);
const store = createRedisOnlineStore({ url, timeoutMs: 1000, connectTimeoutMs: 5000 });
try {
  log(`Online store benchmark against ${url}; load average ${results['loadBefore'] as number[]} (2 cores: > 1 means other work competes)`);
  if (opts['skip-write'] === undefined) await benchWrites(store, admin);
  await benchReads(store, admin);
} finally {
  await store.clearProject(project);
  await unlinkMatching(admin, `${rawPrefix}:*`);
  await store.close();
  admin.disconnect();
}
results['loadAfter'] = loadavg().map((l) => Number(l.toFixed(2)));
log(`\nload average after: ${results['loadAfter'] as number[]}`);
if (opts['json'] !== undefined) console.log(JSON.stringify(results, null, 2));
