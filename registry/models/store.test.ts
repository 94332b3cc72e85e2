import { readFile, readdir, stat, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failure } from '../testing/failure.ts';
import { acquireFileLock } from '../lock.ts';
import { tempDir, type TempDir } from '../testing/specs.ts';
import { sha256Hex } from './artifacts.ts';
import { linearModel } from './onnx-build.ts';
import { openModelRegistry } from './store.ts';


/** A two-feature model; `bias` makes distinct artifacts with the same signature. */
const model = (bias = 0, features = 2) => linearModel({ weights: Array.from({ length: features }, (_, i) => [i + 1]), bias: [bias] });
const exists = (path: string) => stat(path).then(() => true, () => false);

describe('model registry', () => {
  let dir: TempDir;
  const open = (lockWaitMs = 0) => openModelRegistry({ dir: dir.path, lockWaitMs });
  beforeEach(async () => { dir = await tempDir('models'); });
  afterEach(async () => { await dir.cleanup(); });

  it('registers 1.0.0 with its signature, lineage and a content-addressed artifact', async () => {
    const models = open();
    const bytes = model();
    const { model: v, created } = await models.register({
      name: 'delay', artifact: bytes, featureService: 'delay_model', label: 'is_late', metrics: { auc: 0.71 },
      params: { l2: 0.1 }, dataset: 'ds_20240501000000_abcdef', gitCommit: 'deadbeef', who: 'ana',
    });
    expect(created).toBe(true);
    expect(v).toMatchObject({
      name: 'delay', version: '1.0.0', bump: 'initial', previous: null, status: 'registered', aliases: [], registeredBy: 'ana',
      sha256: sha256Hex(bytes), size: bytes.length,
      lineage: { featureService: 'delay_model', label: 'is_late', metrics: { auc: 0.71 }, params: { l2: 0.1 }, dataset: 'ds_20240501000000_abcdef', gitCommit: 'deadbeef' },
      onnx: { irVersion: 8, opset: 13, producerName: 'larder' },
    });
    expect(v.signature.inputs).toEqual([{ name: 'X', type: 'float32', shape: ['N', 2] }]);
    expect(await exists(join(dir.path, 'models', 'objects', `${v.sha256}.onnx`))).toBe(true);
    expect(Buffer.from(await models.loadArtifact('delay', '1.0.0'))).toEqual(Buffer.from(bytes));
    expect(await models.show('delay')).toEqual(v);
    expect(await models.list()).toEqual([{ name: 'delay', versions: 1, latest: '1.0.0', aliases: {} }]);
  });

  it('registers from a path the same way', async () => {
    const path = join(dir.path, 'trained-elsewhere.onnx');
    await writeFile(path, model(3));
    const { model: v } = await open().register({ name: 'byo', artifact: path });
    expect(v.sha256).toBe(sha256Hex(model(3)));
    const missing = await failure(open().register({ name: 'byo', artifact: join(dir.path, 'nope.onnx') }));
    expect(missing.code).toBe('LARDER_E_MODEL_INVALID');
  });

  it('bumps minor for new bytes with the same inputs and major when the inputs change', async () => {
    const models = open();
    const versions = [];
    for (const bytes of [model(0), model(1), model(0, 3), model(2, 3), model(5)]) versions.push((await models.register({ name: 'm', artifact: bytes })).model);
    expect(versions.map((v) => `${v.version} ${v.bump} ${v.previous}`)).toEqual([
      '1.0.0 initial null', '1.1.0 minor 1.0.0', '2.0.0 major 1.1.0', '2.1.0 minor 2.0.0', '3.0.0 major 2.1.0',
    ]);
    // Another name starts its own sequence even for bytes already stored.
    expect((await models.register({ name: 'other', artifact: model(1) })).model.version).toBe('1.0.0');
    expect((await readdir(join(dir.path, 'models', 'objects'))).length).toBe(5);
  });

  it('is idempotent and never rewrites a version', async () => {
    const models = open();
    await models.register({ name: 'm', artifact: model(0), metrics: { auc: 0.7 } });
    const record = join(dir.path, 'models', 'm', 'versions', '1.0.0.json');
    const before = await readFile(record, 'utf8');
    const again = await models.register({ name: 'm', artifact: model(0), metrics: { auc: 0.9 } });
    expect(again.created).toBe(false);
    expect(again.model.version).toBe('1.0.0');
    expect(again.model.lineage.metrics).toEqual({ auc: 0.7 });
    await models.approve('m', '1.0.0');
    await models.deploy('m', '1.0.0');
    expect(await readFile(record, 'utf8')).toBe(before);
    expect(await readdir(join(dir.path, 'models', 'm', 'versions'))).toEqual(['1.0.0.json']);
    expect((await models.history('m')).changes.filter((c) => c.to === 'registered')).toHaveLength(1);
  });

  it('refuses an artifact whose stored bytes changed, on every load', async () => {
    const models = open();
    const { model: v } = await models.register({ name: 'm', artifact: model(0) });
    const path = join(dir.path, 'models', 'objects', `${v.sha256}.onnx`);
    const bytes = await readFile(path);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    await writeFile(path, bytes);
    const corrupt = await failure(models.loadArtifact('m', '1.0.0'));
    expect(corrupt.code).toBe('LARDER_E_MODEL_CORRUPT');
    expect(corrupt.status).toBe(500);
    expect(corrupt.message).toContain(path);
    await writeFile(path, model(1)); // a valid model, but not the one registered
    expect((await failure(models.loadArtifact('m', 'latest'))).code).toBe('LARDER_E_MODEL_CORRUPT');
    // Re-registering the good bytes heals the object without a new version.
    expect((await models.register({ name: 'm', artifact: model(0) })).created).toBe(false);
    expect(Buffer.from(await models.loadArtifact('m', '1.0.0'))).toEqual(Buffer.from(model(0)));
  });

  it('refuses bytes that are not ONNX and stores nothing', async () => {
    const models = open();
    const error = await failure(models.register({ name: 'm', artifact: Buffer.from('not a model at all') }));
    expect(error.code).toBe('LARDER_E_MODEL_INVALID');
    expect(await models.list()).toEqual([]);
    expect(await exists(join(dir.path, 'models'))).toBe(false);
    expect((await failure(models.register({ name: '../escape', artifact: model() }))).code).toBe('LARDER_E_MODEL_INVALID');
    expect((await failure(models.show('m', '1.0.0'))).code).toBe('LARDER_E_MODEL_NOT_FOUND');
  });

  it('follows registered → approved → deployed and refuses other moves with LARDER_E_MODEL_TRANSITION', async () => {
    const models = open();
    for (const bias of [0, 1, 2]) await models.register({ name: 'm', artifact: model(bias) });
    const refused = async (p: Promise<unknown>) => {
      const e = await failure(p);
      expect(e.code).toBe('LARDER_E_MODEL_TRANSITION');
      expect(e.status).toBe(409);
      return e;
    };
    expect((await refused(models.deploy('m', '1.0.0'))).message).toContain('only an approved version can be deployed');
    await models.approve('m', '1.0.0', { who: 'ana', why: 'AUC 0.71 > gate' });
    await refused(models.approve('m', '1.0.0'));
    const deployed = await models.deploy('m', '1.0.0', { who: 'bo', why: 'launch' });
    expect(deployed).toMatchObject({ status: 'deployed', aliases: ['champion'] });
    await models.reject('m', '1.1.0', { why: 'worse calibration' });
    await refused(models.approve('m', '1.1.0'));
    await refused(models.deploy('m', '1.1.0', { alias: 'challenger' }));
    await models.archive('m', '1.1.0');
    await refused(models.archive('m', '1.1.0'));
    // A version an alias points at cannot be archived until the alias moves.
    expect((await refused(models.archive('m', '1.0.0'))).message).toContain('champion');
    const { changes } = await models.history('m');
    expect(changes.map((c) => `${c.version} ${c.from ?? '-'}→${c.to}`)).toEqual([
      '1.0.0 -→registered', '1.1.0 -→registered', '1.2.0 -→registered',
      '1.0.0 registered→approved', '1.0.0 approved→deployed', '1.1.0 registered→rejected', '1.1.0 rejected→archived',
    ]);
    expect(changes[3]).toMatchObject({ who: 'ana', why: 'AUC 0.71 > gate' });
    expect(changes[4]).toMatchObject({ who: 'bo', why: 'launch' });
    expect(changes.every((c) => !Number.isNaN(Date.parse(c.at)))).toBe(true);
  });

  it('moves aliases and records every move in the deploy history', async () => {
    const models = open();
    for (const bias of [0, 1]) {
      const { model: v } = await models.register({ name: 'm', artifact: model(bias) });
      await models.approve('m', v.version);
    }
    await models.deploy('m', '1.0.0', { who: 'ana' });
    await models.deploy('m', '1.1.0', { alias: 'challenger', who: 'ana' });
    await models.deploy('m', '1.1.0', { who: 'bo', why: 'won the A/B' });
    await models.deploy('m', '1.0.0', { alias: 'challenger' });
    expect((await models.show('m', 'champion')).version).toBe('1.1.0');
    expect((await models.show('m', '1.0.0')).aliases).toEqual(['challenger']);
    expect(Buffer.from(await models.loadArtifact('m', 'champion'))).toEqual(Buffer.from(model(1)));
    await models.removeAlias('m', 'challenger', { why: 'A/B over' });
    expect((await failure(models.show('m', 'challenger'))).code).toBe('LARDER_E_MODEL_NOT_FOUND');
    await models.archive('m', '1.0.0');
    const { deploys } = await models.history('m');
    expect(deploys.map((d) => `${d.alias} ${d.from ?? '-'}→${d.to ?? '-'}`)).toEqual([
      'champion -→1.0.0', 'challenger -→1.1.0', 'champion 1.0.0→1.1.0', 'challenger 1.1.0→1.0.0', 'challenger 1.0.0→-',
    ]);
    expect(deploys[2]).toMatchObject({ who: 'bo', why: 'won the A/B' });
    expect(await models.list()).toEqual([{ name: 'm', versions: 2, latest: '1.1.0', aliases: { champion: '1.1.0' } }]);
    expect((await failure(models.deploy('m', '1.1.0', { alias: 'latest' }))).code).toBe('LARDER_E_MODEL_INVALID');
  });

  it('rolls an alias back through its deployments, one step per rollback', async () => {
    const models = open();
    for (const bias of [0, 1, 2]) {
      const { model: v } = await models.register({ name: 'm', artifact: model(bias) });
      await models.approve('m', v.version);
      await models.deploy('m', v.version);
    }
    expect((await failure(models.rollback('m', 'challenger'))).code).toBe('LARDER_E_MODEL_NOT_FOUND');
    expect((await models.rollback('m', 'champion', { why: 'p99' })).to.version).toBe('1.1.0');
    expect((await models.rollback('m')).to.version).toBe('1.0.0');
    expect((await failure(models.rollback('m'))).code).toBe('LARDER_E_MODEL_TRANSITION');
    await models.deploy('m', '1.2.0');
    expect((await models.rollback('m')).to.version).toBe('1.0.0');
    const { deploys } = await models.history('m');
    expect(deploys.filter((d) => d.rollback).map((d) => `${d.from}→${d.to}`)).toEqual(['1.2.0→1.1.0', '1.1.0→1.0.0', '1.2.0→1.0.0']);
    expect(deploys[3]).toMatchObject({ why: 'p99', rollback: true });
  });

  it('serializes concurrent registrations and alias moves from two registries through the lock', async () => {
    const a = open(20_000);
    const b = open(20_000);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).register({ name: 'm', artifact: model(i) })));
    expect(results.map((r) => r.model.version).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `1.${i}.0`).sort());
    expect((await a.versions('m')).map((v) => v.sha256).sort()).toEqual(results.map((r) => r.model.sha256).sort());
    for (const r of results) await a.approve('m', r.model.version);
    const targets = results.map((r) => r.model.version);
    await Promise.all(targets.map((v, i) => (i % 2 ? a : b).deploy('m', v)));
    const { deploys } = await b.history('m');
    expect(deploys).toHaveLength(8);
    // Each move starts where the one before it ended: none was computed from a stale alias.
    deploys.forEach((d, i) => expect(d.from).toBe(i === 0 ? null : deploys[i - 1]?.to));
    expect((await a.show('m', 'champion')).version).toBe(deploys.at(-1)?.to);
  });

  it('is refused while another process holds the registry lock', async () => {
    const lock = await acquireFileLock(join(dir.path, 'lock'));
    try {
      expect((await failure(open().register({ name: 'm', artifact: model() }))).code).toBe('LARDER_E_REGISTRY_LOCKED');
    } finally {
      await lock.release();
    }
    expect((await open().register({ name: 'm', artifact: model() })).created).toBe(true);
  });

  it('ignores a torn last history line and cuts it before the next append', async () => {
    const models = open();
    await models.register({ name: 'm', artifact: model() });
    const path = join(dir.path, 'models', 'm', 'history.jsonl');
    await appendFile(path, '{"version":"1.0.0","fro');
    expect((await models.show('m')).status).toBe('registered');
    await models.approve('m', '1.0.0');
    expect((await models.history('m')).changes.map((c) => c.to)).toEqual(['registered', 'approved']);
    expect((await readFile(path, 'utf8')).split('\n').filter(Boolean)).toHaveLength(2);
    await writeFile(path, 'garbage\n');
    expect((await failure(models.show('m'))).code).toBe('LARDER_E_MODEL_CORRUPT');
  });
});
