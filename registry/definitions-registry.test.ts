import { appendFile, copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failure } from './testing/failure.ts';
import { canonicalJson } from '../featurestore/define/spec.ts';
import { openFileRegistry } from './definitions-registry.ts';
import { hashSpec } from './plan.ts';
import { definitionRegistrySuite, manifestFixture } from './registry-suite.ts';
import { entitySpecs, flightSpecs, tempDir, type TempDir } from './testing/specs.ts';

definitionRegistrySuite('file', async () => {
  const dir = await tempDir();
  return { registry: openFileRegistry({ dir: dir.path, project: 'flights' }), project: 'flights', cleanup: dir.cleanup };
});


describe('file registry on disk', () => {
  let dir: TempDir;
  const open = () => openFileRegistry({ dir: dir.path, project: 'flights' });
  const file = (...parts: string[]) => join(dir.path, ...parts);
  beforeEach(async () => { dir = await tempDir(); });
  afterEach(async () => { await dir.cleanup(); });

  it('lays out state, history and content-addressed objects, and leaves no lock behind', async () => {
    const specs = flightSpecs();
    await open().apply(specs);
    expect((await readdir(dir.path)).sort()).toEqual(['history.jsonl', 'objects', 'state.json']);
    const objects = await readdir(file('objects'));
    expect(objects.sort()).toEqual(specs.map((s) => `${hashSpec(s)}.json`).sort());
    for (const spec of specs) expect(await readFile(file('objects', `${hashSpec(spec)}.json`), 'utf8')).toBe(canonicalJson(spec));
    expect((await readFile(file('history.jsonl'), 'utf8')).split('\n')).toHaveLength(2); // one line and its newline
  });

  it('ignores temp files left by a crash mid-write', async () => {
    const registry = open();
    await registry.apply(entitySpecs('a', 1));
    await registry.saveManifest(manifestFixture('ds_20240501000000_abcdef', '2024-05-01T00:00:00.000Z'));
    await writeFile(file('.state.json.999.deadbeef.tmp'), '{"format":1,"serial":');
    await writeFile(file('objects', '.0000.json.999.deadbeef.tmp'), 'garbage');
    await writeFile(file('datasets', '.ds_x.json.999.deadbeef.tmp'), '{');
    // The dataset writer's entity snapshots sit beside manifests and are not manifests.
    await writeFile(file('datasets', 'ds_20240501000000_abcdef.entities.json'), '[]');
    const reopened = open();
    expect((await reopened.state()).serial).toBe(1);
    expect((await reopened.listManifests()).map((m) => m.id)).toEqual(['ds_20240501000000_abcdef']);
    expect((await reopened.apply(entitySpecs('a', 2))).baseSerial).toBe(1);
    expect((await reopened.state()).serial).toBe(2);
  });

  it('reports a corrupt state.json by name, from every entry point, and writes nothing', async () => {
    await open().apply(entitySpecs('a', 1));
    const historyBefore = await readFile(file('history.jsonl'), 'utf8');
    await writeFile(file('state.json'), '{"format":1,"project":"flights","ser');
    for (const attempt of [() => open().state(), () => open().plan([]), () => open().apply(entitySpecs('b', 1)), () => open().object('entity', 'a_0')]) {
      const error = await failure(attempt());
      expect(error.code).toBe('LARDER_E_REGISTRY_CORRUPT');
      expect(error.message).toContain(file('state.json'));
    }
    expect(await readFile(file('history.jsonl'), 'utf8')).toBe(historyBefore);

    await writeFile(file('state.json'), JSON.stringify({ format: 1, project: 'flights', serial: 'one', appliedAt: null, objects: [] }));
    const shape = await failure(open().state());
    expect([shape.code, shape.message]).toEqual(['LARDER_E_REGISTRY_CORRUPT', expect.stringContaining('serial')]);
  });

  it('reports a state.json whose spec no longer matches its hash, or that is ahead of the history', async () => {
    await open().apply(entitySpecs('a', 1));
    const state = JSON.parse(await readFile(file('state.json'), 'utf8')) as { objects: { spec: { joinKeys: unknown } }[]; serial: number };
    const edited = structuredClone(state);
    if (edited.objects[0]) edited.objects[0].spec.joinKeys = {};
    await writeFile(file('state.json'), JSON.stringify(edited));
    expect((await failure(open().state())).message).toMatch(/does not match its hash/);
    await writeFile(file('state.json'), JSON.stringify({ ...state, serial: 2 }));
    expect((await failure(open().state())).message).toMatch(/serial 2 but .*history\.jsonl ends at 1/);
  });

  it('refuses a registry folder of another project', async () => {
    await open().apply(entitySpecs('a', 1));
    const error = await failure(openFileRegistry({ dir: dir.path, project: 'other' }).state());
    expect([error.code, error.message]).toEqual(['LARDER_E_REGISTRY_PROJECT_MISMATCH', expect.stringContaining('belongs to project flights, not other')]);
  });

  it('ignores a torn last history line, and the next apply cuts it off', async () => {
    const registry = open();
    await registry.apply(entitySpecs('a', 1));
    await appendFile(file('history.jsonl'), '{"serial":2,"appliedAt":"2024-0');
    expect((await registry.history()).map((h) => h.serial)).toEqual([1]);
    expect((await registry.state()).serial).toBe(1);
    await registry.apply(entitySpecs('a', 2));
    const lines = (await readFile(file('history.jsonl'), 'utf8')).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.slice(0, 2).map((l) => (JSON.parse(l) as { serial: number }).serial)).toEqual([1, 2]);
  });

  it('reports a damaged complete history line with its line number', async () => {
    const registry = open();
    await registry.apply(entitySpecs('a', 1));
    await appendFile(file('history.jsonl'), 'not json\n');
    const error = await failure(registry.history());
    expect([error.code, error.message]).toEqual(['LARDER_E_REGISTRY_CORRUPT', expect.stringMatching(/history\.jsonl is corrupt: line 2: invalid JSON/)]);
    expect(await failure(registry.apply(entitySpecs('b', 1)))).toMatchObject({ code: 'LARDER_E_REGISTRY_CORRUPT' });
  });

  it('replays history when a crash left state.json behind the last committed apply', async () => {
    const registry = open();
    await registry.apply(flightSpecs({ delayType: 'float32' }));
    await copyFile(file('state.json'), file('state.saved'));
    await registry.apply(flightSpecs({ delayType: 'float64', withService: true }));
    const expected = await registry.state();
    // Simulate a crash between the history append and the state write.
    await copyFile(file('state.saved'), file('state.json'));
    expect(await open().state()).toEqual(expected);
    expect((await open().plan(flightSpecs({ delayType: 'float64', withService: true }))).hasChanges).toBe(false);
    await open().apply(flightSpecs({ delayType: 'float64', withService: true })); // repairs the snapshot
    expect(JSON.parse(await readFile(file('state.json'), 'utf8'))).toMatchObject({ serial: 2 });
    expect((await open().apply(entitySpecs('z', 1))).baseSerial).toBe(2);
  });

  it('reports an object file whose content was altered', async () => {
    const registry = open();
    await registry.apply(flightSpecs({ delayType: 'float32' }));
    await registry.apply(flightSpecs({ delayType: 'float64' }));
    const v1 = await registry.object('featureView', 'origin_daily', 1);
    await writeFile(file('objects', `${v1?.hash ?? ''}.json`), canonicalJson({ ...v1?.spec, ttl: '9d' }));
    const error = await failure(registry.object('featureView', 'origin_daily', 1));
    expect([error.code, error.message]).toEqual(['LARDER_E_REGISTRY_CORRUPT', expect.stringContaining('does not match its hash')]);
  });

  it('reports a corrupt manifest by name', async () => {
    const registry = open();
    await registry.saveManifest(manifestFixture('ds_20240501000000_abcdef', '2024-05-01T00:00:00.000Z'));
    await writeFile(file('datasets', 'ds_20240501000000_abcdef.json'), '{"id":');
    const error = await failure(registry.getManifest('ds_20240501000000_abcdef'));
    expect([error.code, error.message]).toEqual(['LARDER_E_REGISTRY_CORRUPT', expect.stringContaining('ds_20240501000000_abcdef.json')]);
    expect((await failure(registry.listManifests())).code).toBe('LARDER_E_REGISTRY_CORRUPT');
  });
});
