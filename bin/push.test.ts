/**
 * `larder push` end to end, in separate processes: rows from a file and from stdin, then `larder get`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRows } from './commands/push.ts';

const BIN = fileURLToPath(new URL('./larder.js', import.meta.url));
const { REDIS_URL: _unused, ...ENV } = process.env;

function larder(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { env: { ...ENV, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

const FEATURES = `
import { entity, featureView, pushSource, t } from 'larder';
export const driver = entity('driver', { joinKeys: { driver_id: t.int64() } });
export const tripEvents = pushSource('trip_events', { schema: { driver_id: t.int64(), speed: t.float64(), ts: t.timestamp() }, timestamp: 'ts' });
export const driverSpeed = featureView('driver_speed', { entities: [driver], source: tripEvents, features: { speed: t.float64() } });
`;

describe('larder push', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'larder-push-cli-'));
    mkdirSync(path.join(root, 'features'));
    writeFileSync(path.join(root, 'features', 'trips.ts'), FEATURES);
    writeFileSync(path.join(root, 'larder.config.ts'), `export default { project: 'pushcli', online: { type: 'memory' } };\n`);
    writeFileSync(path.join(root, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    mkdirSync(path.join(root, 'node_modules'));
    symlinkSync(fileURLToPath(new URL('..', import.meta.url)), path.join(root, 'node_modules', 'larder'), 'dir');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('refuses a bad batch with every problem and writes nothing', async () => {
    writeFileSync(path.join(root, 'bad.json'), JSON.stringify([{ driver_id: 1, speed: 'x', ts: '2025-01-01T00:00:00Z' }, { speed: 2 }]));
    const res = await larder(['push', '--project', root, '--source', 'trip_events', '--rows', 'bad.json', '--to', 'both']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('LARDER_E_INVALID_REQUEST');
    for (const part of ['rows[0].speed', 'rows[1].driver_id', 'rows[1].ts']) expect(res.stderr).toContain(part);
    expect(existsSync(path.join(root, '.larder', 'push', 'trip_events'))).toBe(false);
  });

  it('pushes a file to both stores and stdin online; larder get reads the latest', async () => {
    const ts = new Date(Date.now() - 60_000).toISOString();
    writeFileSync(path.join(root, 'rows.json'), JSON.stringify([{ driver_id: 1, speed: 30.5, ts }]));
    const res = await larder(['push', '--project', root, '--source', 'trip_events', '--rows', 'rows.json', '--to', 'both', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ source: 'trip_events', rows: 1, online: [{ view: 'driver_speed', written: 1, skippedOlder: 0 }] });
    expect(readdirSync(path.join(root, '.larder', 'push', 'trip_events'))).toHaveLength(1);
    const later = new Date(Date.now() - 1000).toISOString();
    const piped = await larder(['push', '--project', root, '--source', 'trip_events', '--rows', '-'], `{"driver_id": 1, "speed": 31, "ts": "${later}"}\n{"driver_id": 2, "speed": 5, "ts": "${later}"}\n`);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toContain('Pushed 2 row(s) to trip_events');
    const get = await larder(['get', '--project', root, '--features', 'driver_speed:speed', '--entity', 'driver_id=1', '--json']);
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout).rows[0]).toMatchObject({ values: { speed: 31 }, statuses: { speed: 'PRESENT' } });
  });

  it('parses a JSON array, one object, or one object per line', () => {
    expect(parseRows('[{"a":1}]', 'f')).toEqual([{ a: 1 }]);
    expect(parseRows('{"a":1}', 'f')).toEqual([{ a: 1 }]);
    expect(parseRows('{"a":1}\n{"a":2}\n', 'f')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(() => parseRows('nope', 'f')).toThrow('not JSON');
  });
});
