/**
 * The facade end to end on a copy of the example project: apply, datasets with manifests,
 * rebuilds (also after the code moved on), and the errors a user meets on the way.
 */
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type FeatureStore } from './store.ts';

const EXAMPLE = fileURLToPath(new URL('../fixtures/example', import.meta.url));

function copyExample(root: string, name: string): string {
  const dir = path.join(root, name);
  for (const item of ['larder.config.ts', 'features', 'data']) cpSync(path.join(EXAMPLE, item), path.join(dir, item), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  // As a user's project would have it after `npm install larder`.
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(fileURLToPath(new URL('..', import.meta.url)), path.join(dir, 'node_modules', 'larder'), 'dir');
  return dir;
}

describe('FeatureStore on the example project', () => {
  let root: string;
  let dir: string;
  let store: FeatureStore;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'larder-store-'));
    dir = copyExample(root, 'rides');
    store = await openStore({ dir });
  });
  afterAll(async () => {
    await store?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('loads every definition with no problems', () => {
    expect(store.issues).toEqual([]);
    expect([...store.project.views.keys()].sort()).toEqual(['driver_hourly', 'rider_profile', 'zone_pair_stats']);
    expect([...store.project.onDemandViews.keys()]).toEqual(['trip_features']);
  });

  it('refuses datasets before apply, then applies once', async () => {
    await expect(store.writeDataset({ entities: 'data/trips.parquet', service: 'ride_model' }, path.join(root, 'x.parquet')))
      .rejects.toMatchObject({ code: 'LARDER_E_NOT_APPLIED' });
    const plan = await store.apply();
    expect(plan.counts.add).toBe(3 + 4 + 3 + 1 + 1);
    expect((await store.apply()).hasChanges).toBe(false);
  });

  it('returns rows point-in-time correct, in input order, with labels and on-demand features', async () => {
    const rows = await store.getHistoricalFeatures({
      entities: [
        { driver_id: 5, rider_id: 'r0001', pickup_zone: 'z1', dropoff_zone: 'z2', event_timestamp: new Date('2026-03-03T10:30:00Z'), requested_at: new Date('2026-03-03T23:30:00Z'), distance_km: 10, label: 1 },
        { driver_id: 99999, rider_id: 'nobody', pickup_zone: 'z9', dropoff_zone: 'z9', event_timestamp: new Date('2026-03-03T10:30:00Z'), requested_at: new Date('2026-03-03T12:00:00Z'), distance_km: 1, label: 0 },
        { driver_id: 5, rider_id: 'r0001', pickup_zone: 'z1', dropoff_zone: 'z2', event_timestamp: new Date('2026-01-01T00:00:00Z'), requested_at: new Date('2026-01-01T12:00:00Z'), distance_km: 10, label: 1 },
      ],
      service: 'ride_model',
    }).toRows();
    expect(rows.map((r) => r.label)).toEqual([1, 0, 1]);
    const [known, unknown, early] = rows as Record<string, unknown>[];
    expect(typeof known?.conv_rate).toBe('number');
    expect(known?.tier).toMatch(/basic|plus|gold/);
    expect(typeof known?.avg_fare_30d).toBe('number');
    expect(known?.is_night).toBe(true);
    expect(known?.expected_fare).toBeCloseTo((known?.avg_fare_30d as number) * 1.5, 9);
    for (const column of ['conv_rate', 'acc_rate', 'trips_today', 'tier', 'rating', 'avg_fare_30d', 'expected_fare']) {
      expect(unknown?.[column], column).toBeNull();
      expect(early?.[column], column).toBeNull();
    }
    expect(unknown?.is_night).toBe(false);
  });

  it('writes a dataset with a manifest and rebuilds it identically', async () => {
    const out = path.join(root, 'train.parquet');
    const manifest = await store.writeDataset({ entities: 'data/trips.parquet', service: 'ride_model' }, out);
    expect(manifest.rows).toBe(20_000);
    expect(manifest.views.map((v) => `${v.kind}:${v.name}@${v.version}`)).toContain('featureView:driver_hourly@1');
    expect(manifest.sources).toHaveLength(3);
    expect(await store.registry.getManifest(manifest.id)).toEqual(manifest);
    const rebuilt = await store.rebuildDataset(manifest.id, path.join(root, 'again.parquet'));
    expect(rebuilt.identical).toBe(true);
    expect(rebuilt.contentHash).toBe(manifest.contentHash);
  });

  it('rebuilds from an in-memory entity frame, and with the recorded definitions after the code changed', async () => {
    const entities = [
      { driver_id: 7, rider_id: 'r0002', pickup_zone: 'z3', dropoff_zone: 'z4', event_timestamp: new Date('2026-03-05T08:00:00Z'), requested_at: new Date('2026-03-05T08:00:00Z'), distance_km: 3.5 },
    ];
    const manifest = await store.writeDataset({ entities, features: ['driver_hourly:conv_rate', 'zone_pair_stats:avg_fare_30d'] }, path.join(root, 'small.parquet'));
    const file = path.join(dir, 'features', 'drivers.ts');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace("ttl: '2h'", "ttl: '1m'"));
    const changed = await openStore({ dir });
    try {
      expect((await changed.apply()).counts.change).toBe(1);
      const rebuilt = await changed.rebuildDataset(manifest.id, path.join(root, 'small-again.parquet'));
      expect(rebuilt.identical).toBe(true);
    } finally {
      await changed.close();
      writeFileSync(file, original);
    }
  });

  it('refuses to rebuild when a source changed since', async () => {
    const manifest = await store.writeDataset({ entities: 'data/trips.parquet', features: ['rider_profile:tier'] }, path.join(root, 'tiers.parquet'));
    const csv = path.join(dir, 'data', 'riders.csv');
    const later = new Date(Date.now() + 60_000);
    utimesSync(csv, later, later);
    await expect(store.rebuildDataset(manifest.id, path.join(root, 'tiers-again.parquet'))).rejects.toMatchObject({ code: 'LARDER_E_REBUILD_MISMATCH' });
  });

  it('names unknown features, views and services', async () => {
    expect(() => store.getHistoricalFeatures({ entities: 'data/trips.parquet', features: ['driver_hourly:nope'] })).toThrow(expect.objectContaining({ code: 'LARDER_E_UNKNOWN_FEATURE' }));
    expect(() => store.getHistoricalFeatures({ entities: 'data/trips.parquet', service: 'nope' })).toThrow(expect.objectContaining({ code: 'LARDER_E_UNKNOWN_SERVICE' }));
    await expect(store.rebuildDataset('ds_nope', path.join(root, 'n.parquet'))).rejects.toMatchObject({ code: 'LARDER_E_DATASET_NOT_FOUND' });
  });
});
