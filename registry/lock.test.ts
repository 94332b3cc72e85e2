import { spawnSync } from 'node:child_process';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LarderError } from '../errors.ts';
import { failure } from './testing/failure.ts';
import type { DefinitionSpec } from '../featurestore/define/spec.ts';
import { openFileRegistry } from './definitions-registry.ts';
import { processAlive } from './lock.ts';
import { runChild, startChild } from './testing/child.ts';
import { entitySpecs, tempDir, type TempDir } from './testing/specs.ts';
import type { HistoryEntry } from './types.ts';


/** The pid of a process that has exited (and been reaped), i.e. a dead holder. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(child.stdout);
  expect(processAlive(pid)).toBe(false);
  return pid;
}

const lockFile = (holder: { pid: number; host: string; since?: string }) =>
  JSON.stringify({ since: '2024-05-01T00:00:00.000Z', token: 'feedfacefeedface', ...holder });

describe('registry lock', () => {
  let dir: TempDir;
  const open = (lockWaitMs = 0) => openFileRegistry({ dir: dir.path, project: 'flights', lockWaitMs });
  const lockPath = () => join(dir.path, 'lock');
  const exists = (path: string) => stat(path).then(() => true, () => false);
  beforeEach(async () => { dir = await tempDir('lock'); });
  afterEach(async () => { await dir.cleanup(); });

  it('refuses at once an apply while another process holds the lock, and lets it through after', async () => {
    await open().apply(entitySpecs('a', 1));
    const stateBefore = await readFile(join(dir.path, 'state.json'), 'utf8');
    const holder = startChild(['hold', dir.path, 'flights']);
    try {
      const held = await holder.next();
      expect(held).toMatchObject({ held: true, pid: holder.process.pid });
      const started = Date.now();
      const error = await failure(open().apply(entitySpecs('b', 1)));
      expect(Date.now() - started).toBeLessThan(1000);
      expect(error.code).toBe('LARDER_E_REGISTRY_LOCKED');
      expect(error.message).toContain(`pid ${String(holder.process.pid)}, since `);
      expect(error.details).toMatchObject({ pid: holder.process.pid, host: hostname(), lock: lockPath() });
      expect(await readFile(join(dir.path, 'state.json'), 'utf8')).toBe(stateBefore);
    } finally {
      holder.process.stdin.write('release\n');
    }
    expect(await holder.next()).toEqual({ released: true });
    await holder.exited;
    expect(await exists(lockPath())).toBe(false);
    expect((await open().apply(entitySpecs('b', 1))).baseSerial).toBe(1);
  });

  it('refuses an apply from another process while this one holds the lock', async () => {
    const registry = open();
    const out = await registry.withLock(() => runChild(['apply', dir.path, 'flights', JSON.stringify(entitySpecs('a', 1))]));
    expect(out).toMatchObject({ ok: false, code: 'LARDER_E_REGISTRY_LOCKED', details: { pid: process.pid } });
    expect((await registry.state()).serial).toBe(0);
  });

  it('refuses a second registry instance in the same process, or waits for it when asked', async () => {
    const first = open();
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    let entered!: () => void;
    const holding = new Promise<void>((resolve) => { entered = resolve; });
    const held = first.withLock(async () => { entered(); await released; return first.apply(entitySpecs('a', 1)); });
    await holding;
    expect((await failure(open().apply(entitySpecs('b', 1)))).code).toBe('LARDER_E_REGISTRY_LOCKED');
    const waiting = open(10_000).apply(entitySpecs('b', 1));
    setTimeout(release, 150);
    await held;
    expect((await waiting).baseSerial).toBe(1);
    expect((await first.history()).map((h) => h.serial)).toEqual([1, 2]);
  });

  it('takes over the lock of a holder that died without releasing it', async () => {
    const dying = startChild(['die-holding', dir.path, 'flights']);
    expect(await dying.next()).toMatchObject({ held: true });
    await dying.exited;
    expect(JSON.parse(await readFile(lockPath(), 'utf8'))).toMatchObject({ pid: dying.process.pid, host: hostname() });
    expect((await open().apply(entitySpecs('a', 1))).hasChanges).toBe(true);
    expect(await exists(lockPath())).toBe(false);
  });

  it('takes over a stale lock once when several instances race for it', async () => {
    await writeFile(lockPath(), lockFile({ pid: deadPid(), host: hostname() }));
    const results = await Promise.allSettled([0, 1, 2, 3].map((i) => open().apply(entitySpecs(`r${i}`, 1))));
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as LarderError).code).toBe('LARDER_E_REGISTRY_LOCKED');
    expect((await open().history()).map((h) => h.serial)).toEqual(ok.map((_, i) => i + 1));
    expect(await exists(lockPath())).toBe(false);
    expect(await exists(`${lockPath()}.takeover`)).toBe(false);
  });

  it('never takes over a lock held from another host', async () => {
    await writeFile(lockPath(), lockFile({ pid: deadPid(), host: 'elsewhere.example' }));
    const error = await failure(open().apply(entitySpecs('a', 1)));
    expect([error.code, error.message]).toEqual(['LARDER_E_REGISTRY_LOCKED', expect.stringContaining('on elsewhere.example, since 2024-05-01T00:00:00.000Z')]);
  });

  it('treats an unreadable lock as held while it is fresh and as stale once old', async () => {
    await writeFile(lockPath(), '');
    const error = await failure(open().apply(entitySpecs('a', 1)));
    expect([error.code, error.message]).toEqual(['LARDER_E_REGISTRY_LOCKED', expect.stringContaining('pid unknown, since unknown')]);
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(lockPath(), minuteAgo, minuteAgo);
    expect((await open().apply(entitySpecs('a', 1))).hasChanges).toBe(true);
  });

  it('keeps state and history exact when several processes apply at once', async () => {
    const variants: DefinitionSpec[][] = [0, 1, 2, 3].map((i) => entitySpecs(`p${i}`, i + 1));
    const outs = await Promise.all(variants.map((specs) => runChild(['apply', dir.path, 'flights', JSON.stringify(specs), '30000'])));
    expect(outs.every((o) => o['ok'] === true)).toBe(true);
    expect(outs.map((o) => o['serial']).sort()).toEqual([1, 2, 3, 4]);
    await expectConsistent(variants, outs);
  });

  it('keeps state and history exact when processes that do not wait race for the lock', async () => {
    const variants: DefinitionSpec[][] = [0, 1, 2, 3].map((i) => entitySpecs(`q${i}`, i + 1));
    const outs = await Promise.all(variants.map((specs) => runChild(['apply', dir.path, 'flights', JSON.stringify(specs)])));
    for (const o of outs) if (o['ok'] !== true) expect(o['code']).toBe('LARDER_E_REGISTRY_LOCKED');
    await expectConsistent(variants, outs);
  });

  /** Serials 1..n, one per successful apply; the state is exactly the last successful apply's specs. */
  async function expectConsistent(variants: DefinitionSpec[][], outs: Record<string, unknown>[]): Promise<void> {
    const registry = open();
    const succeeded = outs.map((o, i) => ({ serial: o['serial'], specs: variants[i] ?? [] })).filter((s) => typeof s.serial === 'number');
    const history: HistoryEntry[] = await registry.history();
    expect(history.map((h) => h.serial)).toEqual(succeeded.map((_, i) => i + 1));
    const last = succeeded.find((s) => s.serial === succeeded.length);
    const state = await registry.state();
    expect(state.serial).toBe(succeeded.length);
    expect(state.objects.map((o) => o.spec)).toEqual(last?.specs);
    expect((await registry.plan(last?.specs ?? [])).hasChanges).toBe(false);
    // Each history entry adds exactly the specs of the apply that got that serial.
    for (const s of succeeded) {
      const added = history[(s.serial as number) - 1]?.entries.filter((e) => e.action === 'add').map((e) => e.name);
      expect(added).toEqual(s.specs.map((spec) => spec.name));
    }
    expect(await exists(lockPath())).toBe(false);
  }
});

describe('registry lock takeover guard', () => {
  let dir: TempDir;
  beforeEach(async () => { dir = await tempDir('guard'); });
  afterEach(async () => { await dir.cleanup(); });

  it('waits out a fresh takeover guard and removes one left by a crash', async () => {
    const registry = openFileRegistry({ dir: dir.path, project: 'flights' });
    const lock = join(dir.path, 'lock');
    await writeFile(lock, lockFile({ pid: deadPid(), host: hostname() }));
    await writeFile(`${lock}.takeover`, '');
    expect((await failure(registry.apply(entitySpecs('a', 1)))).code).toBe('LARDER_E_REGISTRY_LOCKED');
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(`${lock}.takeover`, minuteAgo, minuteAgo);
    expect((await registry.apply(entitySpecs('a', 1))).hasChanges).toBe(true);
    expect(await stat(`${lock}.takeover`).then(() => true, () => false)).toBe(false);
  });
});
