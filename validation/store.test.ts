/**
 * Profiles and null-rate histories kept in a real file registry (a temp folder): saved and read
 * back, row-count history bounded, days replaced rather than counted twice, the history bounded
 * to its last days, and the daily alerts against the history's median rate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileRegistry, type DefinitionRegistry } from '../registry/index.ts';
import { replaceDays, typicalNullRates, type NullHistory } from './nulls.ts';
import type { DatasetProfile } from './profile-types.ts';
import type { ValidationReport } from './report.ts';
import { loadNullHistory, trackNullHistory } from './store-nulls.ts';
import { PROFILE_HISTORY, loadProfile, saveProfile } from './store.ts';

let dir: string;
let registry: DefinitionRegistry;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'larder-vstore-'));
  registry = openFileRegistry({ dir, project: 'test' });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const profile = (rows: number): DatasetProfile => ({ version: 1, rows, columns: [] });
const day = (i: number): string => new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10);
/** `days` days of 100 rows, x null on `rate(i)` of them. */
const history = (days: number, rate: (i: number) => number, from = 0): NullHistory => ({
  eventTimestamp: 'ts',
  buckets: Array.from({ length: days }, (_, k) => ({ day: day(from + k), rows: 100, nulls: { x: Math.round(rate(from + k) * 100) } })),
});
const report = (h: NullHistory): ValidationReport => ({
  ok: true, rows: { reference: null, current: 100 * h.buckets.length }, issues: [], datasetDrift: null, nullHistory: h,
  features: [{ name: 'x', type: 'DOUBLE', nullRate: 0, severity: 'ok' }],
});

describe('saved profiles', () => {
  it('saves, loads and replaces a profile, keeping the last row counts', async () => {
    expect(await loadProfile(registry, 'ref')).toBeUndefined();
    for (let i = 1; i <= PROFILE_HISTORY + 3; i++) await saveProfile(registry, 'ref', profile(i), new Date(Date.UTC(2026, 0, i)));
    const saved = await loadProfile(registry, 'ref');
    expect(saved?.profile).toEqual(profile(PROFILE_HISTORY + 3));
    expect(saved?.history).toHaveLength(PROFILE_HISTORY);
    expect(saved?.history[0]).toEqual({ savedAt: new Date(Date.UTC(2026, 0, 4)).toISOString(), rows: 4 });
    // A fresh registry object on the same folder sees it: it is on disk, not in memory.
    expect((await loadProfile(openFileRegistry({ dir, project: 'test' }), 'ref'))?.profile.rows).toBe(PROFILE_HISTORY + 3);
  });

  it('refuses names that are not names', async () => {
    await expect(saveProfile(registry, '../x', profile(1))).rejects.toMatchObject({ code: 'LARDER_E_USAGE' });
    await expect(loadProfile(registry, 'A b')).rejects.toMatchObject({ code: 'LARDER_E_USAGE' });
  });
});

describe('null-rate history', () => {
  it('replaces the days a batch covers and keeps only the last days', () => {
    const a = history(5, () => 0.1);
    const b = history(3, () => 0.5, 3);
    const merged = replaceDays(a, b, 6);
    expect(merged.buckets.map((x) => [x.day, x.nulls['x']])).toEqual([[day(0), 10], [day(1), 10], [day(2), 10], [day(3), 50], [day(4), 50], [day(5), 50]]);
    expect(replaceDays(merged, b, 4).buckets.map((x) => x.day)).toEqual([day(2), day(3), day(4), day(5)]);
    expect(replaceDays(merged, merged, 400)).toEqual(merged);
  });

  it('takes the median daily rate, so a bad day kept in the history does not move the baseline', () => {
    expect(typicalNullRates(history(9, (i) => (i === 4 ? 0.6 : 0.01)))).toEqual({ x: 0.01 });
    expect(typicalNullRates(history(4, (i) => i / 10)).x).toBeCloseTo(0.15, 12);
  });

  it('warns on days that moved from the history, records every validation, and leaves explicit references alone', async () => {
    const clean = await trackNullHistory(registry, report(history(20, () => 0.01)), { kind: 'view', name: 'v', compare: true });
    expect(clean.issues).toEqual([]); // nothing to compare with yet
    const bad = history(20, (i) => (i === 17 ? 0.2 : 0.01));
    const flagged = await trackNullHistory(registry, report(bad), { kind: 'view', name: 'v', compare: true });
    expect(flagged.issues.map((i) => `${i.severity}:${i.code}:${i.feature}`)).toEqual(['warn:NULL_RATE_MOVED:x']);
    expect(flagged.issues[0]?.observed).toEqual({ days: [{ day: day(17), rate: 0.2 }] });
    expect(flagged.features[0]?.severity).toBe('warn');
    expect(flagged.ok).toBe(true);
    // The bad day is now in the history, but the median keeps the other days quiet.
    const again = await trackNullHistory(registry, report(bad), { kind: 'view', name: 'v', compare: true });
    expect(again.issues[0]?.observed).toEqual({ days: [{ day: day(17), rate: 0.2 }] });
    const withReference = await trackNullHistory(registry, report(bad), { kind: 'view', name: 'v', compare: false });
    expect(withReference.issues).toEqual([]);
    expect((await loadNullHistory(registry, 'view', 'v'))?.buckets).toHaveLength(20);
    expect(await loadNullHistory(registry, 'source', 'v')).toBeUndefined();
  });
});
