import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityModel } from '../../registry/models/onnx-build.ts';
import { openModelRegistry, type ModelRegistry } from '../../registry/models/store.ts';
import { ServedModels, type SessionOpener } from './models.ts';
import { openRawSession } from './session.ts';

describe('served models (real registry files and onnxruntime sessions)', () => {
  let root: string;
  let registry: ModelRegistry;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'larder-served-'));
    registry = openModelRegistry({ dir: root });
    for (const width of [1, 2]) await registry.register({ name: 'm', artifact: identityModel({ name: 'X', type: 'float32', shape: ['N', width] }) });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  function served(opener: SessionOpener, extra: { aliasRefreshMs?: number; unloadAfterMs?: number } = {}): ServedModels {
    return new ServedModels({
      registry, aliasRefreshMs: extra.aliasRefreshMs ?? 60_000, unloadAfterMs: extra.unloadAfterMs ?? 0,
      openerFor: () => opener, batchingFor: () => ({}), onBatch: () => undefined,
    });
  }

  it('loads a version once under concurrent first requests, and retries a load that failed', async () => {
    let opened = 0;
    let failNext = true;
    const models = served(async (bytes, what) => {
      opened++;
      if (failNext) {
        failNext = false;
        throw new Error('disk hiccup');
      }
      return openRawSession(bytes, what);
    });
    const view = await models.resolve('m', '1.0.0');
    await expect(models.load(view)).rejects.toThrow('disk hiccup');
    const loads = await Promise.all(Array.from({ length: 20 }, () => models.load(view)));
    expect(opened).toBe(2);
    expect(new Set(loads).size).toBe(1);
    expect(await models.isLoaded(view)).toBe(true);
    expect(loads[0]!.predictable).toBeUndefined(); // registered without a serving spec: raw inference only
    await models.close();
    await expect(models.load(view)).rejects.toMatchObject({ code: 'LARDER_E_UNAVAILABLE' });
  });

  it('follows aliases in the background, switching once the new version is loaded; keeps versions for good', async () => {
    const warnings: string[] = [];
    const models = new ServedModels({
      registry, aliasRefreshMs: 60_000, unloadAfterMs: 0, openerFor: () => (bytes, what) => openRawSession(bytes, what),
      batchingFor: () => ({}), onBatch: () => undefined, onAliasError: (message) => warnings.push(message),
    });
    await expect(models.resolve('m', 'champion')).rejects.toMatchObject({ code: 'LARDER_E_MODEL_NOT_FOUND' });
    await registry.approve('m', '1.0.0');
    await registry.deploy('m', '1.0.0');
    expect((await models.resolve('m', 'champion')).version).toBe('1.0.0');
    expect((await models.resolve('m', 'latest')).version).toBe('2.0.0');
    await registry.approve('m', '2.0.0');
    await registry.deploy('m', '2.0.0');
    expect((await models.resolve('m', 'champion')).version).toBe('1.0.0'); // until the next refresh
    expect(models.loaded).toEqual([]);
    await models.refreshAliases();
    expect((await models.resolve('m', 'champion')).version).toBe('2.0.0');
    expect(models.loaded).toEqual(['m@2.0.0']); // loaded before the switch
    expect(warnings).toEqual([]);
    await registry.removeAlias('m', 'champion');
    await models.refreshAliases();
    await expect(models.resolve('m', 'champion')).rejects.toMatchObject({ code: 'LARDER_E_MODEL_NOT_FOUND' });
    await expect(models.resolve('nope', '1.0.0')).rejects.toMatchObject({ code: 'LARDER_E_MODEL_NOT_FOUND' });
    await models.close();
  });

  it('unloads versions nobody asked for within unloadAfterMs, and loads them again on demand', async () => {
    const models = served((bytes, what) => openRawSession(bytes, what), { unloadAfterMs: 1000 });
    const v1 = await models.resolve('m', '1.0.0');
    const v2 = await models.resolve('m', '2.0.0');
    await models.load(v1);
    const v1Used = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 30)); // v2 is used measurably later than v1
    await models.load(v2);
    expect(await models.unloadIdle(v1Used + 500)).toEqual([]);
    expect(await models.unloadIdle(v1Used + 1001)).toEqual(['m@1.0.0']);
    expect(models.loaded).toEqual(['m@2.0.0']);
    const again = await models.load(v1);
    const out = await again.session.run({ X: { type: 'float32', data: new Float32Array([7]), dims: [1, 1] } }, ['Y']);
    expect([...(out.outputs['Y']!.data as Float32Array)]).toEqual([7]);
    await models.close();
  });
});
