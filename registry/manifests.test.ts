import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLarderError } from '../errors.ts';
import { openFileRegistry } from './definitions-registry.ts';
import { newDatasetId } from './manifests.ts';
import { recordPath } from './records.ts';
import { tempDir, type TempDir } from './testing/specs.ts';

describe('newDatasetId', () => {
  it('is ds_<UTC yyyymmddhhmmss>_<6 hex> and differs between calls', () => {
    const at = new Date('2024-05-01T12:30:45.678Z');
    expect(newDatasetId(at)).toMatch(/^ds_20240501123045_[0-9a-f]{6}$/);
    expect(newDatasetId(at)).not.toBe(newDatasetId(at));
    expect(newDatasetId()).toMatch(/^ds_\d{14}_[0-9a-f]{6}$/);
  });
});

describe('records', () => {
  let dir: TempDir;
  beforeEach(async () => { dir = await tempDir('records'); });
  afterEach(async () => { await dir.cleanup(); });

  it('maps any key to one file inside records/', () => {
    expect(recordPath('/r', 'watermark/origin_daily')).toBe(join('/r', 'watermark%2Forigin_daily.json'));
    expect(recordPath('/r', '..')).toBe(join('/r', '%2E%2E.json'));
    expect(recordPath('/r', 'é')).toBe(join('/r', '%C3%A9.json'));
    expect(() => recordPath('/r', '')).toThrow(/record key/);
  });

  it('stores records as files that survive reopening, and reports a corrupt one', async () => {
    const registry = openFileRegistry({ dir: dir.path, project: 'flights' });
    await registry.updateRecord('../escape', () => 1);
    expect(await readdir(join(dir.path, 'records'))).toEqual(['%2E%2E%2Fescape.json']);
    expect(await openFileRegistry({ dir: dir.path, project: 'flights' }).getRecord('../escape')).toBe(1);
    await writeFile(join(dir.path, 'records', '%2E%2E%2Fescape.json'), '{"key":');
    const error: unknown = await registry.getRecord('../escape').catch((e: unknown) => e);
    expect(isLarderError(error) && error.code).toBe('LARDER_E_REGISTRY_CORRUPT');
    await expect(registry.updateRecord('k', () => undefined)).rejects.toThrow(/cannot be set to undefined/);
  });
});
