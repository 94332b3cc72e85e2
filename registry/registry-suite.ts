/**
 * @module registry/registry-suite
 * The {@link DefinitionRegistry} contract as a test suite. Every implementation runs it (the
 * file registry in `definitions-registry.test.ts`); implementation details — files, crashes,
 * processes — are tested next to the implementation instead.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLarderError } from '../errors.ts';
import type { DefinitionSpec } from '../featurestore/define/spec.ts';
import { hashSpec } from './plan.ts';
import { entitySpecs, flightSpecs } from './testing/specs.ts';
import type { DatasetManifest, DefinitionRegistry } from './types.ts';
import { codeOf } from './testing/failure.ts';

export interface RegistryFixture {
  readonly registry: DefinitionRegistry;
  readonly project: string;
  cleanup(): Promise<void>;
}


const byName = (specs: DefinitionSpec[], name: string): DefinitionSpec => {
  const spec = specs.find((s) => s.name === name);
  if (!spec) throw new Error(`no spec ${name}`);
  return spec;
};

export function manifestFixture(id: string, createdAt: string): DatasetManifest {
  return {
    id, createdAt, request: { service: 'delay_model' }, views: [{ name: 'origin_daily', version: 1, hash: 'a'.repeat(64) }],
    sources: [{ name: 'flights', sha256: 'b'.repeat(64) }], rows: 3, contentHash: 'c'.repeat(64),
    output: { path: `datasets/${id}.parquet`, format: 'parquet', bytes: 1024 },
  };
}

export function definitionRegistrySuite(label: string, open: () => Promise<RegistryFixture>): void {
  describe(`DefinitionRegistry contract: ${label}`, () => {
    let fixture: RegistryFixture;
    let registry: DefinitionRegistry;
    beforeEach(async () => {
      fixture = await open();
      registry = fixture.registry;
    });
    afterEach(async () => { await fixture.cleanup(); });

    it('starts empty', async () => {
      expect(await registry.state()).toEqual({ project: fixture.project, serial: 0, appliedAt: null, objects: [] });
      expect(await registry.history()).toEqual([]);
      expect(await registry.object('entity', 'origin')).toBeUndefined();
    });

    it('plans adds in dependency order, then by name, and applies them as version 1', async () => {
      const specs = flightSpecs({ withService: true }).reverse();
      const plan = await registry.plan(specs);
      expect(plan.entries.map((e) => [e.action, e.kind, e.name, e.toVersion])).toEqual([
        ['add', 'entity', 'origin', 1], ['add', 'source', 'flights', 1],
        ['add', 'featureView', 'origin_daily', 1], ['add', 'featureService', 'delay_model', 1],
      ]);
      expect(plan).toMatchObject({ project: fixture.project, baseSerial: 0, hasChanges: true, counts: { add: 4, change: 0, remove: 0, unchanged: 0 } });
      expect(await registry.apply(specs)).toEqual(plan);
      const state = await registry.state();
      expect(state.serial).toBe(1);
      expect(state.objects.map((o) => `${o.kind}:${o.name}@${o.version}`)).toEqual(['entity:origin@1', 'source:flights@1', 'featureView:origin_daily@1', 'featureService:delay_model@1']);
      const view = byName(specs, 'origin_daily');
      expect(await registry.object('featureView', 'origin_daily')).toMatchObject({ version: 1, hash: hashSpec(view), spec: view, appliedAt: state.appliedAt });
    });

    it('plans unchanged, change (with field diffs) and remove, and bumps versions on apply', async () => {
      await registry.apply(flightSpecs({ delayType: 'float32', withService: true }));
      expect((await registry.plan(flightSpecs({ delayType: 'float32', withService: true }))).hasChanges).toBe(false);

      const plan = await registry.plan(flightSpecs({ delayType: 'float64' }));
      expect(plan.baseSerial).toBe(1);
      expect(plan.counts).toEqual({ add: 0, change: 1, remove: 1, unchanged: 2 });
      const change = plan.entries.find((e) => e.action === 'change');
      expect(change).toMatchObject({ kind: 'featureView', name: 'origin_daily', fromVersion: 1, toVersion: 2 });
      expect(change?.changes).toEqual([{ path: 'features.avg_delay.kind', before: 'float32', after: 'float64' }]);
      expect(plan.entries.find((e) => e.action === 'remove')).toMatchObject({ kind: 'featureService', name: 'delay_model', fromVersion: 1 });
      expect(plan.entries.find((e) => e.name === 'origin')).toMatchObject({ action: 'unchanged', fromVersion: 1, toVersion: 1 });

      await registry.apply(flightSpecs({ delayType: 'float64' }));
      const state = await registry.state();
      expect(state.serial).toBe(2);
      expect(state.objects.map((o) => `${o.name}@${o.version}`)).toEqual(['origin@1', 'flights@1', 'origin_daily@2']);
    });

    it('treats a description-only edit as a change', async () => {
      await registry.apply(flightSpecs());
      const plan = await registry.plan(flightSpecs({ description: 'Daily delay per origin' }));
      expect(plan.entries.find((e) => e.action === 'change')?.changes).toEqual([{ path: 'description', before: undefined, after: 'Daily delay per origin' }]);
    });

    it('never reuses a version: a removed then re-added object continues its numbering', async () => {
      await registry.apply(flightSpecs({ delayType: 'float32' }));
      await registry.apply(flightSpecs({ delayType: 'float64' }));
      await registry.apply(flightSpecs().filter((s) => s.kind !== 'featureView'));
      expect(await registry.object('featureView', 'origin_daily')).toBeUndefined();
      const readd = await registry.plan(flightSpecs({ delayType: 'float32' }));
      expect(readd.entries.find((e) => e.name === 'origin_daily')).toMatchObject({ action: 'add', toVersion: 3 });
      await registry.apply(flightSpecs({ delayType: 'float32' }));
      const current = await registry.object('featureView', 'origin_daily');
      expect(current?.version).toBe(3);
      // v3 has the same content as v1: same hash, different version.
      expect(current?.hash).toBe((await registry.object('featureView', 'origin_daily', 1))?.hash);
    });

    it('keeps every past version readable', async () => {
      await registry.apply(flightSpecs({ delayType: 'float32' }));
      await registry.apply(flightSpecs({ delayType: 'float64' }));
      await registry.apply([]);
      const history = await registry.history();
      const v1 = await registry.object('featureView', 'origin_daily', 1);
      const v2 = await registry.object('featureView', 'origin_daily', 2);
      expect(v1?.spec).toEqual(byName(flightSpecs({ delayType: 'float32' }), 'origin_daily'));
      expect(v2?.spec).toEqual(byName(flightSpecs({ delayType: 'float64' }), 'origin_daily'));
      expect([v1?.appliedAt, v2?.appliedAt]).toEqual([history[0]?.appliedAt, history[1]?.appliedAt]);
      expect(await registry.object('featureView', 'origin_daily', 3)).toBeUndefined();
      expect(await registry.object('featureView', 'origin_daily')).toBeUndefined();
    });

    it('appends history in order and never rewrites it', async () => {
      await registry.apply(entitySpecs('a', 2));
      const first = await registry.history();
      await registry.apply(entitySpecs('a', 2)); // no changes: no history line
      await registry.apply(entitySpecs('a', 3));
      await registry.apply(entitySpecs('b', 1));
      const history = await registry.history();
      expect(history.map((h) => h.serial)).toEqual([1, 2, 3]);
      expect(history[0]).toEqual(first[0]);
      expect(history[1]?.entries.map((e) => `${e.action} ${e.name}`)).toEqual(['add a_2']);
      expect(history[2]?.entries.map((e) => `${e.action} ${e.name}`)).toEqual(['remove a_0', 'remove a_1', 'remove a_2', 'add b_0']);
      expect(history.every((h) => h.entries.every((e) => e.action !== 'unchanged') && typeof h.host === 'string')).toBe(true);
      expect(await registry.history({ name: 'a_1' })).toEqual([
        { ...history[0], entries: [history[0]?.entries[1]] },
        { ...history[2], entries: [history[2]?.entries[1]] },
      ]);
      expect(await registry.history({ kind: 'featureView' })).toEqual([]);
    });

    it('refuses an apply whose plan is stale, writing nothing', async () => {
      const plan = await registry.plan(entitySpecs('a', 1));
      await registry.apply(entitySpecs('b', 1));
      expect(await codeOf(registry.apply(entitySpecs('a', 1), { expectedSerial: plan.baseSerial }))).toBe('LARDER_E_REGISTRY_STALE_PLAN');
      expect((await registry.state()).serial).toBe(1);
      expect((await registry.apply(entitySpecs('a', 1), { expectedSerial: 1 })).baseSerial).toBe(1);
    });

    it('refuses duplicate specs and honours an aborted signal, writing nothing', async () => {
      const [spec] = entitySpecs('a', 1);
      if (!spec) throw new Error('no spec');
      expect(await codeOf(registry.plan([spec, spec]))).toBe('LARDER_E_INVALID_DEFINITION');
      expect(await codeOf(registry.apply([spec, { ...spec, description: 'other' }]))).toBe('LARDER_E_INVALID_DEFINITION');
      expect(await codeOf(registry.apply([spec], { signal: AbortSignal.abort() }))).toBe('LARDER_E_ABORTED');
      expect(await registry.state()).toMatchObject({ serial: 0, objects: [] });
      expect(await registry.history()).toEqual([]);
    });

    it('withLock is re-entrant and queues concurrent callers of one instance', async () => {
      const plan = await registry.withLock(() => registry.withLock(() => registry.apply(entitySpecs('a', 1))));
      expect(plan.hasChanges).toBe(true);
      const results = await Promise.all([registry.apply(entitySpecs('b', 1)), registry.apply(entitySpecs('c', 1))]);
      expect(results.map((p) => p.baseSerial).sort()).toEqual([1, 2]);
      expect((await registry.history()).map((h) => h.serial)).toEqual([1, 2, 3]);
      await expect(registry.withLock(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect((await registry.apply(entitySpecs('d', 1))).baseSerial).toBe(3); // the failed holder released the lock
    });

    it('saves, gets and lists dataset manifests', async () => {
      const later = manifestFixture('ds_20240502000000_aaaaaa', '2024-05-02T00:00:00.000Z');
      const earlier = { ...manifestFixture('ds_20240501000000_bbbbbb', '2024-05-01T00:00:00.000Z'), profile: { rows: 3 } };
      expect(await registry.listManifests()).toEqual([]);
      await registry.saveManifest(later);
      await registry.saveManifest(earlier);
      expect(await registry.getManifest(later.id)).toEqual(later);
      expect((await registry.listManifests()).map((m) => m.id)).toEqual([earlier.id, later.id]);
      expect(await codeOf(registry.getManifest('ds_20990101000000_ffffff'))).toBe('LARDER_E_DATASET_NOT_FOUND');
      expect(await codeOf(registry.getManifest('../state'))).toBe('LARDER_E_DATASET_NOT_FOUND');
      expect(await codeOf(registry.saveManifest({ ...later, id: '../escape' }))).toBe('LARDER_E_INVALID_REQUEST');
      // Fields the writer adds round-trip unchanged.
      const rich = {
        ...manifestFixture('ds_20240503000000_cccccc', '2024-05-03T00:00:00.000Z'),
        views: [{ kind: 'featureView', name: 'origin_daily', version: 2, hash: 'd'.repeat(64) }],
        columns: [{ name: 'avg_delay', ref: 'origin_daily:avg_delay', dtype: 'float64' }],
        extra: { note: 'kept' },
      };
      await registry.saveManifest(rich);
      expect(await registry.getManifest(rich.id)).toEqual(rich);
    });

    it('keeps keyed records with read-modify-write under the lock', async () => {
      expect(await registry.getRecord('watermark/origin_daily')).toBeUndefined();
      await Promise.all(Array.from({ length: 10 }, () => registry.updateRecord<number>('watermark/origin_daily', (n) => (n ?? 0) + 1)));
      expect(await registry.getRecord<number>('watermark/origin_daily')).toBe(10);
      expect(await registry.updateRecord('other key', () => ({ at: '2024-01-01' }))).toEqual({ at: '2024-01-01' });
      expect(await registry.getRecord('other key')).toEqual({ at: '2024-01-01' });
      expect(await registry.getRecord('watermark/origin_daily')).toBe(10);
    });
  });
}
