import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { isLarderError } from '../../errors.ts';
import { encodeEntityKey } from './entity-key.ts';
import { codeOf, layoutOf, onlineStoreSuite, row } from './online-store.suite.ts';
import { createRedisOnlineStore } from './redis-store.ts';
import { rowsOfColumns, type OnlineStore } from './store.ts';
import { requireRedisForTests } from './testing/redis-for-tests.ts';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';


const available = await requireRedisForTests('the Redis online store tests', url);

if (available) onlineStoreSuite('redis', async () => createRedisOnlineStore({ url, timeoutMs: 2000 }));

async function keysOf(admin: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

describe.skipIf(!available)('redis online store: layout, expiry, round trips', () => {
  let admin: Redis;
  let store: OnlineStore;
  let project: string;
  beforeAll(() => {
    admin = new Redis(url);
    store = createRedisOnlineStore({ url, timeoutMs: 2000, expiryGraceMs: 60_000 });
  });
  afterAll(async () => {
    await store.close();
    admin.disconnect();
  });
  beforeEach(() => { project = `test-${randomUUID()}`; });
  afterEach(async () => { await store.clearProject(project); });

  it('keeps one string key per (entity, view) under the project, the entity key as hash tag', async () => {
    const entity = encodeEntityKey(['origin', 'dest'], { origin: 'S{F}O', dest: 'a:b' });
    for (const view of ['daily', 'hourly']) await store.write(layoutOf(project, view, { x: 'int32' }), [row(entity, [1], 1)]);
    const keys = await keysOf(admin, `larder:${project}:*`);
    expect(keys).toEqual([`larder:${project}:daily:{S%7BF%7DO|a:b}`, `larder:${project}:hourly:{S%7BF%7DO|a:b}`]);
    expect(await admin.type(keys[0] as string)).toBe('string');
    // Redis Cluster hashes only what is inside the first {…}: both views of the entity share a slot.
    expect(new Set(keys.map((k) => /\{([^}]*)\}/.exec(k)?.[1]))).toEqual(new Set([entity]));
  });

  it('escapes project names, so a project never matches another one\'s keys', async () => {
    const tricky = `${project}:x*`;
    try {
      await store.write(layoutOf(project, 'x', { v: 'int32' }), [row('k', [1], 1)]);
      await store.write(layoutOf(tricky, 'v', { v: 'int32' }), [row('k', [2], 1)]);
      expect(await keysOf(admin, `larder:${project}%3Ax%2A:*`)).toEqual([`larder:${project}%3Ax%2A:v:{k}`]);
      await store.clearProject(project);
      expect(await keysOf(admin, `larder:${project}*`)).toEqual([`larder:${project}%3Ax%2A:v:{k}`]);
    } finally {
      await store.clearProject(tricky);
    }
  });

  it('expires keys max(eventTs + ttl, now) + grace after writing, and never without a ttl', async () => {
    const hour = 3_600_000;
    const now = Date.now();
    await store.write(layoutOf(project, 'fresh', { x: 'int32' }, hour), [row('k', [1], now)]);
    await store.write(layoutOf(project, 'historical', { x: 'int32' }, hour), [row('k', [1], now - 30 * 86_400_000)]);
    await store.write(layoutOf(project, 'forever', { x: 'int32' }), [row('k', [1], now)]);
    const pttl = async (view: string): Promise<number> => admin.pttl(`larder:${project}:${view}:{k}`);
    expect(Math.abs((await pttl('fresh')) - (hour + 60_000))).toBeLessThan(5_000);
    // A historical row is already past its ttl: it is kept for the grace from now, not dropped at once.
    expect(Math.abs((await pttl('historical')) - 60_000)).toBeLessThan(5_000);
    expect(await pttl('forever')).toBe(-1);
    // A skipped (older) row leaves the stored value's expiry alone.
    await store.write(layoutOf(project, 'forever', { x: 'int32' }, hour), [row('k', [0], now - 1)]);
    expect(await pttl('forever')).toBe(-1);
  });

  it('reads any number of views and entities with one command', async () => {
    const views = [0, 1, 2].map((v) => layoutOf(project, `view_${v}`, { a: 'float64' }));
    const keys = Array.from({ length: 100 }, (_, i) => `e${i}`);
    for (const layout of views) await store.write(layout, keys.map((k, i) => row(k, [i], 1)));
    const monitor = await admin.duplicate().monitor();
    try {
      const seen: string[][] = [];
      const marker = `marker-${randomUUID()}`;
      const done = new Promise<void>((resolve) => {
        monitor.on('monitor', (_time: string, args: string[]) => {
          if (args.some((a) => a.includes(project))) seen.push(args);
          if (args.includes(marker)) resolve();
        });
      });
      const result = await store.read(views.map((layout) => ({ layout, entityKeys: keys })));
      await admin.echo(marker);
      await done;
      expect(result.map((r) => r.length)).toEqual([100, 100, 100]);
      expect(seen).toHaveLength(1);
      expect(seen[0]?.[0]?.toLowerCase()).toBe('mget');
      expect(seen[0]).toHaveLength(301);
    } finally {
      monitor.disconnect();
    }
  });
});

describe.skipIf(!available)('redis online store: the MSETNX fast path and column writes', () => {
  let admin: Redis;
  let store: OnlineStore;
  let project: string;
  beforeAll(() => {
    admin = new Redis(url);
    store = createRedisOnlineStore({ url, timeoutMs: 2000, batchSize: 2 });
  });
  afterAll(async () => {
    await store.close();
    admin.disconnect();
  });
  beforeEach(() => { project = `test-${randomUUID()}`; });
  afterEach(async () => { await store.clearProject(project); });

  /** The commands (name, first key and script flags) the store sends for this project while `run` runs. */
  async function commandsDuring(run: () => Promise<unknown>): Promise<string[]> {
    const monitor = await admin.duplicate().monitor();
    try {
      const seen: string[] = [];
      const marker = `marker-${randomUUID()}`;
      const done = new Promise<void>((resolve) => {
        monitor.on('monitor', (_time: string, args: string[], source: string) => {
          if (source === 'lua') return; // calls the script makes itself
          const name = (args[0] ?? '').toLowerCase();
          if (name === 'msetnx' && (args[1] ?? '').includes(project)) seen.push(`msetnx ${args[1]}`);
          if (name === 'evalsha' && (args[3] ?? '').includes(project)) seen.push(`evalsha ${args[3]} ${args[3 + Number(args[2])]}`);
          if (args.includes(marker)) resolve();
        });
      });
      await run();
      await admin.echo(marker);
      await done;
      return seen;
    } finally {
      monitor.disconnect();
    }
  }

  it('writes batches of new keys with a plain MSETNX, and a batch that meets stored values through the script', async () => {
    const layout = layoutOf(project, 'v', { x: 'float64' });
    const key = (k: string): string => `larder:${project}:v:{${k}}`;
    await store.write(layout, [row('older', [1], 100), row('newer', [1], 300)]);
    // Batches of 2: [a b] are new, [older c] meets an older value, [newer d] a newer one.
    const rows = [row('a', [10], 200), row('b', [11], 200), row('older', [12], 200), row('c', [13], 200), row('newer', [14], 200), row('d', [15], 200)];
    let result;
    const seen = await commandsDuring(async () => { result = await store.write(layout, rows); });
    expect(result).toEqual({ written: 5, skippedOlder: 1 });
    expect(seen.filter((c) => c.startsWith('msetnx'))).toEqual([`msetnx ${key('a')}`, `msetnx ${key('older')}`, `msetnx ${key('newer')}`]);
    expect(seen.filter((c) => c.startsWith('evalsha')).sort()).toEqual([`evalsha ${key('newer')} n`, `evalsha ${key('older')} n`]);
    const [read] = await store.read([{ layout, entityKeys: ['a', 'b', 'older', 'c', 'newer', 'd'] }]);
    expect(read?.map((r) => r?.values[0])).toEqual([10, 11, 12, 13, 1, 15]);
    expect(read?.map((r) => r?.eventTs)).toEqual([200, 200, 200, 200, 300, 200]);
  });

  it('keeps rows in order when a key repeats across batches (no fast path), even at equal freshness', async () => {
    const layout = layoutOf(project, 'v', { x: 'float64' });
    await store.write(layout, [row('b', [0], 1)]);
    // With MSETNX, [a b] would fail on b and its script run after [c a], overwriting a's later row.
    const seen = await commandsDuring(() => store.write(layout, [row('a', [1], 5), row('b', [2], 5), row('c', [3], 5), row('a', [4], 5)]));
    expect(seen.filter((c) => c.startsWith('msetnx'))).toEqual([]);
    const [read] = await store.read([{ layout, entityKeys: ['a', 'b', 'c'] }]);
    expect(read?.map((r) => r?.values[0])).toEqual([4, 2, 3]);
  });

  it('never uses the fast path with a ttl, and a losing row leaves value and expiry alone', async () => {
    const hour = 3_600_000;
    const layout = layoutOf(project, 'v', { x: 'float64' }, hour);
    const now = Date.now();
    await store.write(layout, [row('kept', [1], now)]);
    await admin.pexpire(`larder:${project}:v:{kept}`, 123_456_789);
    const seen = await commandsDuring(() => store.write(layout, [row('new', [2], now), row('kept', [3], now - 1)]));
    expect(seen).toEqual([`evalsha larder:${project}:v:{new} x`]);
    const [read] = await store.read([{ layout, entityKeys: ['new', 'kept'] }]);
    expect(read?.map((r) => r?.values[0])).toEqual([2, 1]);
    expect(Math.abs((await admin.pttl(`larder:${project}:v:{kept}`)) - 123_456_789)).toBeLessThan(5_000);
  });

  it('writes columns as it writes the same rows: typed arrays, nulls, created times, repeats and bad values', async () => {
    const layout = layoutOf(project, 'cols', { x: 'float64', s: 'string', n: 'int32' }, 3_600_000);
    const fromRows = layoutOf(project, 'rows', { x: 'float64', s: 'string', n: 'int32' }, 3_600_000);
    const now = Date.now();
    const entityKeys = ['a', 'b', 'c', 'a'];
    const columns = {
      length: 4, entityKeys,
      features: [Float64Array.from([1.5, -0, Number.NaN, 4]), ['x', null, 'z', 'w'], [1, 2, null, 4]],
      eventTs: Float64Array.from([now, now, now - 10, now - 5]), createdTs: [now, 7, 8, now - 1],
    };
    const viaColumns = await store.writeColumns?.(layout, columns);
    const viaRows = await store.write(fromRows, rowsOfColumns(columns));
    expect(viaColumns).toEqual({ written: 3, skippedOlder: 1 });
    expect(viaColumns).toEqual(viaRows);
    const [cols, rows] = await store.read([{ layout, entityKeys: ['a', 'b', 'c'] }, { layout: fromRows, entityKeys: ['a', 'b', 'c'] }]);
    expect(cols).toEqual(rows);
    expect(cols?.[0]).toEqual({ values: [1.5, 'x', 1], eventTs: now, createdTs: now });
    expect(Object.is(cols?.[1]?.values[0], -0)).toBe(true);
    expect(await codeOf(store.writeColumns?.(layout, { ...columns, features: [columns.features[0] as Float64Array, [1, 2, 3, 4], [1, 2, 3, 4]] }) ?? Promise.resolve())).toBe('LARDER_E_INVALID_REQUEST');
    expect(await codeOf(store.writeColumns?.(layout, { ...columns, features: columns.features.slice(0, 2) }) ?? Promise.resolve())).toBe('LARDER_E_INVALID_REQUEST');
  });
});

describe('redis online store: unreachable', () => {
  it('fails fast with LARDER_E_ONLINE_UNAVAILABLE when nothing listens', async () => {
    const store = createRedisOnlineStore({ url: 'redis://127.0.0.1:1', timeoutMs: 50, connectTimeoutMs: 200 });
    try {
      const layout = layoutOf('p', 'v', { x: 'int32' });
      expect(await codeOf(store.read([{ layout, entityKeys: ['k'] }]))).toBe('LARDER_E_ONLINE_UNAVAILABLE');
      const error = await store.write(layout, [row('k', [1], 1)]).then(() => null, (e: unknown) => e);
      expect(isLarderError(error) && error.code).toBe('LARDER_E_ONLINE_UNAVAILABLE');
      expect(await codeOf(store.clearProject('p'))).toBe('LARDER_E_ONLINE_UNAVAILABLE');
      // Still failing, and fast, on later calls while it retries in the background.
      expect(await codeOf(store.read([{ layout, entityKeys: ['k'] }], { timeoutMs: 10 }))).toBe('LARDER_E_ONLINE_UNAVAILABLE');
    } finally {
      await store.close();
    }
  });
});

/** A redis-server of our own, to stop, pause and restart. */
class PrivateRedis {
  process: ChildProcess | null = null;
  constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
      });
    });
    const redis = new PrivateRedis(port);
    await redis.up();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
      child.once('error', reject);
    });
  }

  async down(): Promise<void> {
    const child = this.process;
    if (child === null || child.exitCode !== null) return;
    this.process = null;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

const haveRedisServer = await new Promise<boolean>((resolve) => {
  const probe = spawn('redis-server', ['--version'], { stdio: 'ignore' });
  probe.once('error', () => resolve(false));
  probe.once('exit', (code) => resolve(code === 0));
});

describe.skipIf(!haveRedisServer)('redis online store: a server that pauses, fills up, dies and comes back', () => {
  let server: PrivateRedis;
  let admin: Redis;
  beforeAll(async () => {
    server = await PrivateRedis.start();
    admin = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    admin.on('error', () => undefined);
  });
  afterAll(async () => {
    admin.disconnect();
    await server.down();
  });

  it('reports how many rows landed when a write fails midway', async () => {
    const store = createRedisOnlineStore({ url: server.url, batchSize: 500 });
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
      await admin.config('SET', 'maxmemory', String(used + 2_000_000));
      const layout = layoutOf('p', 'v', { a: 'float64', b: 'float64', c: 'string' });
      const rows = Array.from({ length: 40_000 }, (_, i) => row(`e${i}`, [i, i, 'x'.repeat(100)], 1));
      const error = await store.write(layout, rows).then(() => null, (e: unknown) => e);
      expect(isLarderError(error) && error.code).toBe('LARDER_E_ONLINE_UNAVAILABLE');
      const details = (error as { details: { written: number; skippedOlder: number; unconfirmed: number } }).details;
      expect(details.written).toBeGreaterThan(0);
      expect(details.unconfirmed).toBeGreaterThan(0);
      expect(details.written + details.skippedOlder + details.unconfirmed).toBe(rows.length);
      expect((await store.read([{ layout, entityKeys: ['e0'] }]))[0]?.[0]?.values).toEqual([0, 0, 'x'.repeat(100)]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await admin.flushall();
      await store.close();
    }
  });

  it('times out a read Redis does not answer, fails fast while it is down, and recovers by itself', async () => {
    const store = createRedisOnlineStore({ url: server.url, timeoutMs: 100, connectTimeoutMs: 300 });
    const layout = layoutOf('p', 'v', { x: 'int32' });
    const read = (): Promise<unknown> => store.read([{ layout, entityKeys: ['k'] }]);
    try {
      await store.write(layout, [row('k', [1], 1)]);
      expect(await read()).toEqual([[{ values: [1], eventTs: 1, createdTs: null }]]);

      await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
      expect(await codeOf(read())).toBe('LARDER_E_ONLINE_UNAVAILABLE');
      await admin.call('CLIENT', 'UNPAUSE');

      await server.down();
      expect(await codeOf(read())).toBe('LARDER_E_ONLINE_UNAVAILABLE');
      expect(await codeOf(store.write(layout, [row('k', [2], 2)]))).toBe('LARDER_E_ONLINE_UNAVAILABLE');

      await server.up();
      // The new server starts empty and has never seen the write script (NOSCRIPT is handled).
      await vi.waitFor(async () => { expect(await read()).toEqual([[null]]); }, { timeout: 10_000, interval: 50 });
      expect(await store.write(layout, [row('k', [3], 3)])).toEqual({ written: 1, skippedOlder: 0 });
      expect(await read()).toEqual([[{ values: [3], eventTs: 3, createdTs: null }]]);
    } finally {
      await store.close();
    }
  });
});
