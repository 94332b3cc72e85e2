/**
 * `larder profile`, `validate` and `drift` on real files: run in-process with a captured Io for
 * the outputs, and once as a separate process for the exit code a CI job would see. Then on a
 * project folder as a user has it (config, definitions, Parquet source, file registry):
 * profiles saved in the registry, the null-rate history of a view, and a dataset by its id.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlLiteral } from '../../featurestore/offline/sql.ts';
import type { ValidationReport } from '../../validation/report.ts';
import { openStore } from '../../featurestore/store.ts';
import { openFileRegistry } from '../../registry/index.ts';
import { loadNullHistory } from '../../validation/store-nulls.ts';
import { loadProfile } from '../../validation/store.ts';
import { FLIGHTS, openTestDb, type TestDb } from '../../validation/test-support.ts';
import type { Command } from '../command.ts';
import type { Io } from '../output.ts';
import { driftCommand } from './drift.ts';
import { profileCommand } from './profile.ts';
import { validateCommand } from './validate.ts';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
  await db.session.run(`CREATE TABLE f AS SELECT * FROM read_parquet(${sqlLiteral(FLIGHTS)}) LIMIT 20000`);
  await db.session.run(`COPY (SELECT * FROM f WHERE hash(date, origin) % 2 = 0) TO '${join(db.dir, 'ref.parquet')}'`);
  await db.session.run(`COPY (SELECT * FROM f WHERE hash(date, origin) % 2 = 1) TO '${join(db.dir, 'clean.csv')}'`);
  await db.session.run(`COPY (SELECT * REPLACE (CASE WHEN hash(delay, date) % 20 = 0 THEN NULL ELSE delay END AS delay, distance * 1000 AS distance)
    FROM f WHERE hash(date, origin) % 2 = 1) TO '${join(db.dir, 'bad.parquet')}'`);
});
afterAll(() => db.close());

async function run(command: Command, values: Record<string, string | boolean>, positionals: string[] = [], json = true, projectDir = db.dir) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), json, tty: false };
  const code = await command.run({ io, projectDir, values, positionals });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('validation commands', () => {
  it('profile prints and saves a profile that validate takes as the reference', async () => {
    const r = await run(profileCommand, { out: 'ref.json' }, ['ref.parquet']);
    expect(r.code).toBe(0);
    const saved = JSON.parse(readFileSync(join(db.dir, 'ref.json'), 'utf8'));
    expect(saved).toEqual(JSON.parse(r.out));
    expect(saved.columns.map((c: { name: string }) => c.name)).toEqual(['date', 'delay', 'distance', 'origin', 'destination']);
    const text = await run(profileCommand, {}, ['ref.parquet'], false);
    expect(text.out).toMatch(/origin\s+VARCHAR/);
  });

  it('validate: clean data passes (exit 0), corrupted data fails (exit 3) with the DESIGN §6 report', async () => {
    const clean = await run(validateCommand, { current: 'clean.csv', reference: 'ref.parquet' });
    expect(clean.code).toBe(0);
    const bad = await run(validateCommand, { current: 'bad.parquet', reference: 'ref.json', timestamp: 'date', html: 'report.html' });
    expect(bad.code).toBe(3);
    const report = JSON.parse(bad.out) as ValidationReport;
    expect(Object.keys(report).sort()).toEqual(['datasetDrift', 'features', 'issues', 'nullHistory', 'ok', 'rows']);
    expect(report.ok).toBe(false);
    expect(report.issues.map((i) => `${i.severity}:${i.code}:${i.feature}`)).toEqual(expect.arrayContaining(['error:DRIFT:distance', 'warn:NULL_RATE_MOVED:delay']));
    const f = report.features.find((x) => x.name === 'distance');
    expect(f).toMatchObject({ name: 'distance', type: 'BIGINT', nullRate: 0, severity: 'error', drift: { metric: 'psi' } });
    const html = readFileSync(join(db.dir, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('daily null rate of delay');
    expect(html).not.toMatch(/<script(?! type="application\/json")/);
  });

  it('drift reports only drift, with exit code 3 on an alert', async () => {
    const r = await run(driftCommand, { current: 'bad.parquet', reference: 'ref.parquet' }, [], false);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/\[DRIFT\] distance drifted/);
    expect(r.out).not.toMatch(/NULL_RATE_MOVED/);
  });

  it('takes a feature view by name: its source, its declared expectations, its event time', async () => {
    const example = fileURLToPath(new URL('../../fixtures/example', import.meta.url));
    const out: string[] = [];
    const io: Io = { out: (t) => out.push(t), err: () => {}, json: true, tty: false };
    // conv_rate is declared .expect({ min: 0, max: 1 }); a tighter --expect on top must fire.
    writeFileSync(join(db.dir, 'tight.json'), JSON.stringify({ conv_rate: { max: 0.5 } }));
    const code = await validateCommand.run({ io, projectDir: example, values: { current: 'driver_hourly', expect: join(db.dir, 'tight.json') }, positionals: [] });
    const report = JSON.parse(out.join('\n')) as ValidationReport;
    expect(code).toBe(3);
    expect(report.features.map((f) => f.name)).toEqual(expect.arrayContaining(['conv_rate', 'acc_rate']));
    expect(report.issues.map((i) => `${i.code}:${i.feature}`)).toContain('EXPECT_MAX:conv_rate');
    expect(report.nullHistory?.eventTimestamp).toBeDefined();
  });

  it('exits with 3 from the real binary', async () => {
    const bin = fileURLToPath(new URL('../larder.js', import.meta.url));
    const exec = (args: string[]) => promisify(execFile)(process.execPath, [bin, ...args], { cwd: db.dir }).then(() => 0, (e: { code: number }) => e.code);
    expect(await exec(['drift', '--reference', 'ref.parquet', '--current', 'bad.parquet', '--json'])).toBe(3);
  });
});

const DEFINITIONS = `import { entity, featureView, fileSource, t } from 'larder';

export const user = entity('user', { joinKeys: { user_id: t.string() } });
export const events = fileSource('events', { path: 'data/events.parquet', timestamp: 'ts' });
export const stats = featureView('stats', {
  entities: [user], source: events,
  features: { x: t.float64().expect({ min: 0, max: 100 }), tag: t.string() },
});
`;

/** 20 days × 40 users; `bad`: x null on 40% of day 15's rows and 150 (above max) on three rows. */
async function writeEvents(dir: string, bad: boolean): Promise<void> {
  const x = bad
    ? `CASE WHEN d = 15 AND u % 5 < 2 THEN NULL WHEN d = 16 AND u < 3 THEN 150.0 ELSE (hash(d, u) % 10000) / 100.0 END`
    : `(hash(d, u) % 10000) / 100.0`;
  await db.session.run(`COPY (SELECT 'u' || u AS user_id, TIMESTAMP '2026-01-01 06:00:00' + to_days(CAST(d AS INTEGER)) AS ts, ${x} AS x, 't' || (hash(u, d) % 4) AS tag
    FROM range(20) AS a(d), range(40) AS b(u)) TO ${sqlLiteral(join(dir, 'data', 'events.parquet'))} (FORMAT parquet)`);
}

describe('validation commands in a project: saved profiles, null-rate history, datasets', () => {
  let project: string;
  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), 'larder-vproject-'));
    for (const d of ['features', 'data', 'node_modules']) mkdirSync(join(project, d));
    symlinkSync(fileURLToPath(new URL('../..', import.meta.url)), join(project, 'node_modules', 'larder'), 'dir');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    writeFileSync(join(project, 'larder.config.ts'), `import { defineConfig } from 'larder';\nexport default defineConfig({ project: 'vstore', online: { type: 'memory' } });\n`);
    writeFileSync(join(project, 'features', 'defs.ts'), DEFINITIONS);
    await writeEvents(project, false);
    await db.session.run(`COPY (SELECT * FROM read_parquet(${sqlLiteral(join(project, 'data', 'events.parquet'))}) LIMIT 100) TO ${sqlLiteral(join(project, 'small.parquet'))} (FORMAT parquet)`);
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));
  const registry = () => openFileRegistry({ dir: join(project, '.larder', 'registry'), project: 'vstore' });

  it('profile --save keeps the profile in the registry; validate and drift take it by name', async () => {
    expect((await run(profileCommand, { save: 'stats_ref' }, ['stats'], true, project)).code).toBe(0);
    expect((await run(profileCommand, { save: 'stats_ref' }, ['events'], true, project)).code).toBe(0);
    const saved = await loadProfile(registry(), 'stats_ref');
    expect(saved?.profile.rows).toBe(800);
    expect(saved?.history.map((h) => h.rows)).toEqual([800, 800]);
    const ok = await run(validateCommand, { current: 'data/events.parquet', reference: 'stats_ref' }, [], true, project);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.out) as ValidationReport).rows).toEqual({ reference: 800, current: 800 });
    // 100 rows against a history of 800s: outside [400, 1600], a warning.
    const small = JSON.parse((await run(validateCommand, { current: 'small.parquet', reference: 'profile:stats_ref' }, [], true, project)).out) as ValidationReport;
    expect(small.issues).toContainEqual(expect.objectContaining({ code: 'ROW_COUNT_OUT_OF_BOUNDS', severity: 'warn', expected: { min: 400, max: 1600 } }));
    await expect(run(validateCommand, { current: 'stats_ref' }, [], true, project)).rejects.toMatchObject({ code: 'LARDER_E_USAGE' });
    await expect(run(validateCommand, { current: 'small.parquet', reference: 'profile:nope' }, [], true, project)).rejects.toMatchObject({ code: 'LARDER_E_USAGE' });
  });

  it('validate of a view records its daily null rates and, without a reference, compares with them', async () => {
    const first = await run(validateCommand, { current: 'stats' }, [], true, project);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out).issues).toEqual([]);
    expect((await loadNullHistory(registry(), 'view', 'stats'))?.buckets).toHaveLength(20);
    await writeEvents(project, true);
    const bad = JSON.parse((await run(validateCommand, { current: 'stats' }, [], true, project)).out) as ValidationReport;
    const moved = bad.issues.find((i) => i.code === 'NULL_RATE_MOVED' && i.feature === 'x');
    expect(moved?.observed).toEqual({ days: [{ day: '2026-01-16', rate: 0.4 }] });
    expect(moved?.message).toMatch(/from its history \(20 days\)/);
    expect(bad.issues.map((i) => `${i.code}:${i.feature}`)).toContain('EXPECT_MAX:x');
    // With an explicit reference, the reference decides (and the history is still recorded).
    const against = JSON.parse((await run(validateCommand, { current: 'stats', reference: 'stats_ref' }, [], true, project)).out) as ValidationReport;
    expect(against.issues.filter((i) => i.code === 'NULL_RATE_MOVED' && i.feature === 'x').map((i) => i.message)).toEqual(['x: null rate 2.00%, reference 0.00%']);
    const stored = await loadNullHistory(registry(), 'view', 'stats');
    expect(stored?.buckets.find((b) => b.day === '2026-01-16')).toEqual({ day: '2026-01-16', rows: 40, nulls: { x: 16, tag: 0 } });
  });

  it('takes a dataset id: its Parquet output and the expectations its features declared', async () => {
    await writeEvents(project, true);
    await db.session.run(`COPY (SELECT DISTINCT user_id, ts AS event_timestamp FROM read_parquet(${sqlLiteral(join(project, 'data', 'events.parquet'))})) TO ${sqlLiteral(join(project, 'entities.parquet'))} (FORMAT parquet)`);
    const store = await openStore({ dir: project });
    let id: string;
    try {
      await store.apply();
      id = (await store.writeDataset({ entities: 'entities.parquet', features: ['stats:x', 'stats:tag'] }, 'train.parquet')).id;
    } finally {
      await store.close();
    }
    const r = await run(validateCommand, { current: id }, [], true, project);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.out) as ValidationReport;
    expect(report.rows.current).toBe(800);
    expect(report.issues.map((i) => `${i.severity}:${i.code}:${i.feature}`)).toContain('error:EXPECT_MAX:x');
    expect(report.nullHistory?.eventTimestamp).toBe('event_timestamp');
    const drift = await run(driftCommand, { current: id, reference: 'stats_ref' }, [], true, project);
    expect(JSON.parse(drift.out).features.map((f: { name: string }) => f.name)).toEqual(expect.arrayContaining(['x', 'tag']));
  });
});
