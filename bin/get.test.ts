/**
 * `larder get` end to end: rows written through the facade's online store (the embedded memory
 * store persisted under the project), then read by a separate `larder get` process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlineLayout, entityKeyOf } from '../featurestore/online-layout.ts';
import { openStore } from '../featurestore/store.ts';
import { parseEntityFlag } from './commands/get.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('./larder.js', import.meta.url));
// The memory store, whatever the environment says: the point is the cross-process read.
const { REDIS_URL: _unused, ...ENV } = process.env;

async function larder(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...ENV, NO_COLOR: '1' }, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('larder get', () => {
  let root: string;
  let project: string;
  const eventTs = Date.now() - 10 * 60_000;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'larder-get-'));
    project = path.join(root, 'proj');
    const init = await larder(['init', project, '--json']);
    expect(init.code, init.stderr).toBe(0);
    const saved = process.env['REDIS_URL'];
    delete process.env['REDIS_URL'];
    const store = await openStore({ dir: project });
    if (saved !== undefined) process.env['REDIS_URL'] = saved;
    try {
      expect(store.config.online.type).toBe('memory');
      const online = await store.onlineStore();
      const view = store.project.views.get('driver_hourly');
      if (!view) throw new Error('the example has driver_hourly');
      const entityKey = entityKeyOf(view, store.project.entities, { driver_id: 1001 }) as string;
      await online.write(onlineLayout(store.config.project, view), [{ entityKey, values: [0.8, 0.9, 7], eventTs, createdTs: null }]);
      const res = await store.getOnlineFeatures({ features: ['driver_hourly:trips_today'], entities: [{ driver_id: 1001 }] });
      expect(res.rows[0]?.values).toEqual({ trips_today: 7 });
    } finally {
      await store.close();
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('prints the /v1/features shape with --json, one row per --entity', async () => {
    const res = await larder(['get', '--project', project, '--features', 'driver_hourly:conv_rate,driver_hourly:trips_today', '--entity', 'driver_id=1001', '--entity', '{"driver_id": 2}', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      features: ['conv_rate', 'trips_today'],
      rows: [
        { values: { conv_rate: 0.8, trips_today: 7 }, statuses: { conv_rate: 'PRESENT', trips_today: 'PRESENT' },
          eventTimestamps: { conv_rate: new Date(eventTs).toISOString(), trips_today: new Date(eventTs).toISOString() } },
        { values: { conv_rate: 0.5, trips_today: 0 }, statuses: { conv_rate: 'DEFAULTED', trips_today: 'DEFAULTED' },
          eventTimestamps: { conv_rate: null, trips_today: null } },
      ],
    });
  });

  it('prints a table of values, statuses and ages', async () => {
    const res = await larder(['get', '--project', project, '--features', 'driver_hourly:trips_today', '--entity', 'driver_id=1001']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('entity 1: driver_id=1001');
    expect(res.stdout).toMatch(/trips_today\s+7\s+PRESENT\s+10m/);
  });

  it('reports missing request fields of a service with a code, and usage errors with exit code 2', async () => {
    const res = await larder(['get', '--project', project, '--service', 'ride_model', '--entity', 'driver_id=1001', '--json']);
    expect(res.code).toBe(1);
    const error = (JSON.parse(res.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('LARDER_E_INVALID_REQUEST');
    for (const field of ['rider_id', 'pickup_zone', 'requested_at', 'distance_km']) expect(error.message).toContain(field);
    expect((await larder(['get', '--project', project, '--features', 'driver_hourly:trips_today'])).code).toBe(2);
    expect((await larder(['get', '--project', project, '--features', 'driver_hourly:trips_today', '--entity', 'oops'])).code).toBe(2);
  });

  it('parses k=v and JSON objects', () => {
    expect(parseEntityFlag('id=a=b')).toEqual({ id: 'a=b' });
    expect(parseEntityFlag('{"a":1,"b":"x"}')).toEqual({ a: 1, b: 'x' });
    expect(() => parseEntityFlag('[1]')).toThrow('JSON object');
  });
});
