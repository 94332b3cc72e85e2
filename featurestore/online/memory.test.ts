import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryOnlineStore } from './memory-store.ts';
import { codeOf, layoutOf, onlineStoreSuite, row } from './online-store.suite.ts';
import type { OnlineRow, OnlineStore, StoredRow } from './store.ts';
import { sharedRows, writerLayout } from './testing/memory-writer.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'larder-online-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => { await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))); });

onlineStoreSuite('memory (in process)', () => createMemoryOnlineStore({ dir: null }));
onlineStoreSuite('memory (persisted)', async () => createMemoryOnlineStore({ dir: await tempDir() }));

const repo = fileURLToPath(new URL('../../', import.meta.url));

async function runWriter(dir: string, project: string, seed: number, writer: number, writers: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'featurestore/online/testing/memory-writer.ts', dir, project, String(seed), String(writer), String(writers)], {
    cwd: repo, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`memory-writer ${writer} exited with ${code}: ${stderr}`);
}

describe('memory online store: a folder shared by instances and processes', () => {
  let dir: string;
  const open: OnlineStore[] = [];
  const openStore = async (options: { compactAtBytes?: number; expiryGraceMs?: number } = {}): Promise<OnlineStore> => {
    const store = await createMemoryOnlineStore({ dir, ...options });
    open.push(store);
    return store;
  };
  beforeEach(async () => { dir = await tempDir(); });
  afterEach(async () => { await Promise.all(open.splice(0).map((s) => s.close())); });

  const layout = layoutOf('p', 'v', { x: 'int32', s: 'string' });
  const readOne = async (store: OnlineStore, key: string): Promise<StoredRow | null> => ((await store.read([{ layout, entityKeys: [key] }]))[0]?.[0] ?? null);

  it('shows one instance\'s writes and clears to another without reopening, and keeps them after reopening', async () => {
    const a = await openStore();
    const b = await openStore();
    await a.write(layout, [row('k', [1, 'from a'], 10), row('j', [2, 'j'], 10)]);
    expect((await readOne(b, 'k'))?.values).toEqual([1, 'from a']);
    expect(await b.write(layout, [row('k', [0, 'older'], 5)])).toEqual({ written: 0, skippedOlder: 1 });
    await b.write(layout, [row('k', [3, 'from b'], 20)]);
    expect((await readOne(a, 'k'))?.values).toEqual([3, 'from b']);
    await a.clearProject('q'); // another project: nothing to clear
    const c = await openStore();
    expect((await readOne(c, 'k'))?.values).toEqual([3, 'from b']);
    await c.clearProject('p');
    expect(await readOne(a, 'j')).toBeNull();
    const d = await openStore();
    expect(await readOne(d, 'k')).toBeNull();
  });

  it('ends in the freshest row per key when two processes write at once', async () => {
    const project = 'shared';
    await Promise.all([0, 1].map((w) => runWriter(dir, project, 99, w, 2)));
    const best = new Map<string, OnlineRow>();
    for (const r of sharedRows(99)) {
      const old = best.get(r.entityKey);
      const fresher = old === undefined || r.eventTs > old.eventTs || (r.eventTs === old.eventTs && (r.createdTs ?? -Infinity) > (old.createdTs ?? -Infinity));
      if (fresher) best.set(r.entityKey, r);
    }
    const reader = await openStore();
    const keys = [...best.keys()];
    const [read] = (await reader.read([{ layout: writerLayout(project), entityKeys: keys }])) as [(StoredRow | null)[]];
    expect(read.map((r) => [r?.eventTs, r?.createdTs, r?.values[0], r?.values[1]]))
      .toEqual(keys.map((k) => { const r = best.get(k) as OnlineRow; return [r.eventTs, r.createdTs, r.values[0], r.values[1]]; }));
  });

  it('ignores a torn record at the end of the log and cuts it off on the next write', async () => {
    const a = await openStore();
    await a.write(layout, [row('k', [1, 'kept'], 10)]);
    const log = join(dir, 'online.log');
    const intact = await readFile(log);
    await appendFile(log, Buffer.concat([Buffer.from([0, 0, 0, 200, 1, 2, 3, 4]), Buffer.from('TORN-TAIL')]));
    const b = await openStore();
    expect((await readOne(b, 'k'))?.values).toEqual([1, 'kept']);
    await b.write(layout, [row('j', [2, 'after'], 10)]);
    const repaired = await readFile(log);
    expect(repaired.subarray(0, intact.length).equals(intact)).toBe(true);
    expect(repaired.includes('TORN-TAIL')).toBe(false);
    const c = await openStore();
    expect((await c.read([{ layout, entityKeys: ['k', 'j'] }]))[0]?.map((r) => r?.values)).toEqual([[1, 'kept'], [2, 'after']]);
  });

  it('takes over the lock of a process that died holding it', async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await once(child, 'exit');
    await writeFile(join(dir, 'online.lock'), JSON.stringify({ pid: child.pid, host: hostname(), token: 'dead' }));
    const a = await openStore();
    expect(await a.write(layout, [row('k', [1, 'x'], 1)])).toEqual({ written: 1, skippedOlder: 0 });
    await expect(stat(join(dir, 'online.lock'))).rejects.toThrow();
  });

  it('compacts a mostly dead log, and an instance that had it open follows', async () => {
    const a = await openStore({ compactAtBytes: 4096 });
    const b = await openStore();
    for (let version = 1; version <= 200; version++) await a.write(layout, [row('k', [version, 'x'.repeat(50)], version), row('j', [0, 'j'], 0)]);
    const size = (await stat(join(dir, 'online.log'))).size;
    expect(size).toBeLessThan(8192);
    expect((await b.read([{ layout, entityKeys: ['k', 'j'] }]))[0]?.map((r) => r?.values[0])).toEqual([200, 0]);
    const c = await openStore();
    expect((await readOne(c, 'k'))?.eventTs).toBe(200);
  });

  it('treats an expired value as absent, and lets any row replace it', async () => {
    const a = await openStore({ expiryGraceMs: 0 });
    const ttl = layoutOf('p', 'ttl', { x: 'int32' }, 1000);
    await a.write(ttl, [row('k', [1], Date.now() - 60_000)]);
    expect((await a.read([{ layout: ttl, entityKeys: ['k'] }]))[0]?.[0]).toBeNull();
    expect(await a.write(ttl, [row('k', [2], Date.now() - 120_000)])).toEqual({ written: 1, skippedOlder: 0 });
  });

  it('refuses a folder whose log is something else', async () => {
    await writeFile(join(dir, 'online.log'), 'not a log at all');
    expect(await codeOf(createMemoryOnlineStore({ dir }))).toBe('LARDER_E_IO');
  });

  it('refuses calls after close', async () => {
    const a = await createMemoryOnlineStore({ dir: null });
    await a.close();
    expect(await codeOf(a.read([{ layout, entityKeys: ['k'] }]))).toBe('LARDER_E_ONLINE_UNAVAILABLE');
  });
});
