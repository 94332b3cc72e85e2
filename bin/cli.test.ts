/**
 * The CLI end to end, as a user runs it: a separate process per command on a project scaffolded
 * by `larder init` into a temp folder (which links `larder` as a dependency, like `npm install`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('./larder.js', import.meta.url));

interface Result { code: number; stdout: string; stderr: string }

async function larder(args: string[], cwd?: string): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('larder CLI', () => {
  let root: string;
  let project: string;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'larder-cli-'));
    project = path.join(root, 'proj');
    const init = await larder(['init', project, '--json']);
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('prints help and fails with exit code 2 on usage errors', async () => {
    expect((await larder(['--help'])).stdout).toContain('Commands:');
    const unknown = await larder(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('LARDER_E_USAGE');
    const missing = await larder(['dataset', '--project', project]);
    expect(missing.code).toBe(2);
  });

  it('plans, applies, and then has nothing to apply', async () => {
    const plan = await larder(['plan', '--project', project, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const parsed = JSON.parse(plan.stdout) as { plan: { counts: { add: number } }; ok: boolean };
    expect(parsed.ok).toBe(true);
    expect(parsed.plan.counts.add).toBeGreaterThan(5);
    const apply = await larder(['apply', '--project', project]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toContain('Applied.');
    const again = await larder(['plan', '--project', project, '--json']);
    expect((JSON.parse(again.stdout) as { plan: { hasChanges: boolean } }).plan.hasChanges).toBe(false);
  });

  it('builds a dataset with a manifest and rebuilds it identically', async () => {
    const out = path.join(root, 'train.parquet');
    const ds = await larder(['dataset', '--project', project, '--entities', 'data/trips.parquet', '--service', 'ride_model', '--out', out, '--json']);
    expect(ds.code, ds.stderr).toBe(0);
    const manifest = JSON.parse(ds.stdout) as { id: string; rows: number };
    expect(manifest.rows).toBe(20_000);
    const rebuilt = await larder(['dataset', '--project', project, '--rebuild', manifest.id, '--out', path.join(root, 'again.parquet'), '--json']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect((JSON.parse(rebuilt.stdout) as { identical: boolean }).identical).toBe(true);
  });

  it('reports definition problems all at once with exit code 3, and shows the diff of a change', async () => {
    const file = path.join(project, 'features', 'riders.ts');
    const original = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, original.replace("lifetime_trips: t.int64()", "lifetime_trips: t.int64(), rider_id: t.string(), 'Bad-Name': t.bool()"));
      const bad = await larder(['apply', '--project', project]);
      expect(bad.code).toBe(3);
      expect(bad.stderr).toContain('LARDER_E_INVALID_DEFINITION');
      expect(bad.stderr).toContain('rider_id');
      expect(bad.stderr).toContain('Bad-Name');
      writeFileSync(file, original.replace('lifetime_trips: t.int64()', 'lifetime_trips: t.float64()'));
      const plan = await larder(['plan', '--project', project]);
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toMatch(/~ featureView rider_profile v1 → v2/);
      expect(plan.stdout).toMatch(/lifetime_trips.*"int64" → "float64"/);
      writeFileSync(file, original.replace('rating: t.float64()', 'rating: t.bool()'));
      const mismatch = await larder(['apply', '--project', project]);
      expect(mismatch.code).toBe(3);
      expect(mismatch.stderr).toContain('LARDER_E_SCHEMA_MISMATCH');
      expect(mismatch.stderr).toContain('rating');
    } finally {
      writeFileSync(file, original);
    }
  });

  it('prints machine-readable errors with --json', async () => {
    const res = await larder(['dataset', '--project', project, '--entities', 'data/trips.parquet', '--features', 'nope:x', '--out', path.join(root, 'x.parquet'), '--json']);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout)).toMatchObject({ error: { code: 'LARDER_E_UNKNOWN_VIEW' } });
  });
});
