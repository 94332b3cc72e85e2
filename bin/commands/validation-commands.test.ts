/**
 * `larder profile`, `validate` and `drift` on real files: run in-process with a captured Io for
 * the outputs, and once as a separate process for the exit code a CI job would see.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlLiteral } from '../../featurestore/offline/sql.ts';
import type { ValidationReport } from '../../validation/report.ts';
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

async function run(command: Command, values: Record<string, string | boolean>, positionals: string[] = [], json = true) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), json, tty: false };
  const code = await command.run({ io, projectDir: db.dir, values, positionals });
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
