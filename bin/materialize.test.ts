/**
 * `larder materialize` as a user runs it, one process per command: results and usage errors,
 * the memory store read back from this process, and a run killed midway (SIGKILL, after some
 * rows landed) then run again, which must end in exactly the online state of one clean run —
 * in the memory store, and in Redis when it is reachable (in CI it must be).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProject, collectDefinitions } from '../featurestore/define/project.ts';
import type { FeatureViewDef } from '../featurestore/define/definitions.ts';
import { createMemoryOnlineStore } from '../featurestore/online/memory-store.ts';
import { createRedisOnlineStore } from '../featurestore/online/redis-store.ts';
import type { OnlineStore, StoredRow } from '../featurestore/online/store.ts';
import { entityKeyOf, onlineLayout } from '../featurestore/online-layout.ts';
import { BASE, HOUR, createMaterializeProject } from '../featurestore/testing/materialize-project.ts';
import { requireRedisForTests } from '../featurestore/online/testing/redis-for-tests.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('./larder.js', import.meta.url));
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

interface Result { code: number; stdout: string; stderr: string }

async function larder(args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}


const redisUp = await requireRedisForTests('kill-and-rerun materialization into Redis', REDIS_URL);

/** The generated project's views, loaded the way the CLI loads them. */
async function views(dir: string): Promise<{ views: FeatureViewDef[]; entities: ReturnType<typeof buildProject>['project']['entities'] }> {
  const defs = await import(path.join(dir, 'features', 'defs.ts'));
  const { project } = buildProject(collectDefinitions([defs]));
  return { views: [...project.views.values()], entities: project.entities };
}

/** Every (view, entity) value of a generated project in `online`: null where absent. */
async function snapshot(online: OnlineStore, projectName: string, dir: string, users: number): Promise<Record<string, (StoredRow | null)[]>> {
  const { views: all, entities } = await views(dir);
  const out: Record<string, (StoredRow | null)[]> = {};
  for (const view of all) {
    const keys: string[] = [];
    for (let u = 0; u < users; u++) {
      if (view.name === 'user_stats') keys.push(entityKeyOf(view, entities, { user_id: `u${u}` }) as string);
      else for (let r = 0; r < 3; r++) keys.push(entityKeyOf(view, entities, { user_id: `u${u}`, region: r }) as string);
    }
    const rows: (StoredRow | null)[] = [];
    for (let i = 0; i < keys.length; i += 20_000) {
      const [part] = await online.read([{ layout: onlineLayout(projectName, view), entityKeys: keys.slice(i, i + 20_000) }], { timeoutMs: 10_000 });
      rows.push(...(part ?? []));
    }
    out[view.name] = rows;
  }
  return out;
}

const present = (snap: Record<string, (StoredRow | null)[]>): number => Object.values(snap).flat().filter((r) => r !== null).length;

describe('larder materialize', () => {
  let root: string;
  let dir: string;
  const END = new Date(BASE + 30 * HOUR).toISOString();

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'larder-materialize-cli-'));
    dir = await createMaterializeProject(path.join(root, 'small'), { project: 'small', users: 40, rowsPerUser: 60 });
    const apply = await larder(['apply', '--project', dir]);
    expect(apply.code, apply.stderr).toBe(0);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes to the memory store that another process then reads, and prints per-view results with --json', async () => {
    const res = await larder(['materialize', '--project', dir, '--end', END, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const results = JSON.parse(res.stdout) as { view: string; rows: number; start: string | null; end: string; rowsPerSecond: number }[];
    expect(results.map((r) => [r.view, r.rows, r.start, r.end]).sort()).toEqual([['user_region', 120, null, END], ['user_stats', 40, null, END]]);
    const online = await createMemoryOnlineStore({ dir: path.join(dir, '.larder', 'online') });
    try {
      const snap = await snapshot(online, 'small', dir, 40);
      expect(present(snap)).toBe(160);
      // Row k = 59 of u3 (event at 29 h, created 29 h 10..14 m) is the latest at 30 h.
      expect(snap['user_stats']?.[3]?.eventTs).toBe(BASE + 29 * HOUR);
    } finally {
      await online.close();
    }
    const text = await larder(['materialize', '--project', dir, '--incremental', '--end', END, '--views', 'user_stats']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/Materialized 40 rows from 1 view\(s\) \(incremental\)/);
    expect(text.stdout).toContain(`user_stats: 40 rows`);
  });

  it('fails with exit code 2 on usage errors and 1 on unknown views', async () => {
    expect((await larder(['materialize', '--project', dir, '--incremental', '--start', END])).code).toBe(2);
    const bad = await larder(['materialize', '--project', dir, '--end', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ISO 8601');
    const unknown = await larder(['materialize', '--project', dir, '--views', 'nope', '--json']);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: { code: 'LARDER_E_UNKNOWN_VIEW' } });
  });

  const targets: ('memory' | 'redis')[] = redisUp ? ['memory', 'redis'] : ['memory'];
  for (const target of targets) {
    it(`${target}: killed midway and run again, ends in the same online state as one clean run`, async () => {
      const users = 20_000;
      const names = { killed: `test_${randomBytes(5).toString('hex')}`, clean: `test_${randomBytes(5).toString('hex')}` };
      const online = target === 'redis' ? { type: 'redis' as const, url: REDIS_URL } : { type: 'memory' as const };
      const killedDir = await createMaterializeProject(path.join(root, `${target}-killed`), { project: names.killed, users, rowsPerUser: 3, online });
      const cleanDir = await createMaterializeProject(path.join(root, `${target}-clean`), { project: names.clean, users, rowsPerUser: 3, online });
      const store = target === 'redis' ? createRedisOnlineStore({ url: REDIS_URL, timeoutMs: 10_000 }) : undefined;
      const admin = target === 'redis' ? new Redis(REDIS_URL) : undefined;
      try {
        for (const applied of await Promise.all([killedDir, cleanDir].map((d) => larder(['apply', '--project', d])))) expect(applied.code, applied.stderr).toBe(0);
        const args = (d: string): string[] => [BIN, 'materialize', '--project', d, '--end', END, '--batch-rows', '2000'];

        const child = spawn(process.execPath, args(killedDir), { stdio: 'ignore' });
        const exited = once(child, 'exit');
        const landed = async (): Promise<boolean> => {
          if (admin) return (await admin.scan('0', 'MATCH', `larder:${names.killed}:*`, 'COUNT', 10_000))[1].length > 0;
          const log = path.join(killedDir, '.larder', 'online', 'online.log');
          return existsSync(log) && statSync(log).size > 0;
        };
        let done = false;
        void exited.then(() => { done = true; });
        while (!done && !(await landed())) await new Promise((r) => setTimeout(r, 5));
        child.kill('SIGKILL');
        const [code, signal] = await exited;
        expect({ code, signal }, 'the first run must be killed before it finished').toEqual({ code: null, signal: 'SIGKILL' });

        const reader = store ?? await createMemoryOnlineStore({ dir: path.join(killedDir, '.larder', 'online') });
        const partial = present(await snapshot(reader, names.killed, killedDir, users));
        if (!store) await reader.close();
        expect(partial).toBeGreaterThan(0);

        const [rerun, clean] = await Promise.all([larder(args(killedDir).slice(1)), larder(args(cleanDir).slice(1))]);
        expect(rerun?.code, rerun?.stderr).toBe(0);
        expect(clean?.code, clean?.stderr).toBe(0);

        const readerA = store ?? await createMemoryOnlineStore({ dir: path.join(killedDir, '.larder', 'online') });
        const readerB = store ?? await createMemoryOnlineStore({ dir: path.join(cleanDir, '.larder', 'online') });
        const after = await snapshot(readerA, names.killed, killedDir, users);
        const once_ = await snapshot(readerB, names.clean, cleanDir, users);
        if (!store) { await readerA.close(); await readerB.close(); }
        expect(present(once_)).toBeGreaterThan(partial);
        expect(present(after)).toBe(present(once_));
        for (const view of Object.keys(once_)) {
          const a = after[view] as (StoredRow | null)[];
          const b = once_[view] as (StoredRow | null)[];
          const diff = a.findIndex((row, i) => JSON.stringify(row) !== JSON.stringify(b[i]));
          expect(diff, `${view}: first differing entity`).toBe(-1);
        }
      } finally {
        if (store) {
          await store.clearProject(names.killed);
          await store.clearProject(names.clean);
          await store.close();
        }
        admin?.disconnect();
      }
    }, 180_000);
  }
});
