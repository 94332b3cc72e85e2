import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnDrift, jensenShannonDistance, profileDrift, psi } from './drift.ts';
import { ksStatistics } from './drift-sql.ts';
import { profileRelation, relationOf } from './profile.ts';
import { frozenBinsOf, type ColumnProfile } from './profile-types.ts';
import { flightsSample, openTestDb, type TestDb } from './test-support.ts';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
  await flightsSample(db.session, 'flights', 40_000);
});
afterAll(() => db.close());

async function drift(referenceSql: string, currentSql: string) {
  const r = relationOf({ sql: referenceSql });
  const c = relationOf({ sql: currentSql });
  const reference = await profileRelation(db.session, r);
  const current = await profileRelation(db.session, c, { bins: frozenBinsOf(reference) });
  return profileDrift(reference, current, {}, await ksStatistics(db.session, r, c, reference, current));
}

describe('PSI and Jensen–Shannon', () => {
  it('computes PSI with the ε floor', () => {
    expect(psi([50, 50], [50, 50]).value).toBe(0);
    expect(psi([50, 50], [25, 75]).value).toBeCloseTo(0.25 * Math.log(2) + 0.25 * Math.log(1.5), 12);
    // An empty reference bin counts as ε = 1e-4, not as zero (which would make PSI infinite).
    expect(psi([100, 0], [90, 10]).value).toBeCloseTo(-0.1 * Math.log(0.9) + (0.1 - 1e-4) * Math.log(0.1 / 1e-4), 12);
  });
  it('JS distance is 0 for equal and 1 for disjoint distributions', () => {
    expect(jensenShannonDistance([1, 2, 3], [2, 4, 6])).toBe(0);
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(1, 12);
  });
});

describe('drift on real data', () => {
  it('a ×1000 unit change alerts on that column only and names the bins that moved', async () => {
    const { features, dataset } = await drift(
      `SELECT * FROM flights WHERE hash(date, origin) % 2 = 0`,
      `SELECT date, delay, distance * 1000 AS distance, origin, destination FROM flights WHERE hash(date, origin) % 2 = 1`,
    );
    const d = features.get('distance');
    expect(d?.severity).toBe('alert');
    expect(d?.metric).toBe('psi');
    expect(d?.topBins[0]?.bin).toMatch(/^≥ /);
    expect(d?.jsDistance).toBeGreaterThan(0.5);
    for (const name of ['delay', 'origin', 'destination']) expect(features.get(name)?.severity, name).toBe('ok');
    expect(features.has('date')).toBe(false);
    expect(dataset).toMatchObject({ drifted: false, tested: 4, driftedFeatures: ['distance'] });
  });

  it('a renamed category shows as the category emptied and other filled', async () => {
    const { features } = await drift(
      `SELECT * FROM flights WHERE hash(date, origin) % 2 = 0`,
      `SELECT * REPLACE (CASE origin WHEN 'ATL' THEN 'Atlanta' ELSE origin END AS origin) FROM flights WHERE hash(date, origin) % 2 = 1`,
    );
    const o = features.get('origin');
    expect(o?.severity).not.toBe('ok');
    expect(o?.topBins.map((b) => b.bin)).toEqual(expect.arrayContaining(['"ATL"', '(other)']));
  });

  it('dataset drift when at least half the features drift', async () => {
    const { dataset } = await drift(
      `SELECT * FROM flights WHERE hash(date, origin) % 2 = 0`,
      `SELECT date, delay + 500 AS delay, distance * 1000 AS distance, lower(origin) AS origin, destination FROM flights WHERE hash(date, origin) % 2 = 1`,
    );
    expect(dataset.drifted).toBe(true);
    expect(dataset.driftedFeatures.sort()).toEqual(['delay', 'distance', 'origin']);
  });

  it('below 1000 rows: KS from the raw values (numbers) and chi-square (categories)', async () => {
    const { features } = await drift(`SELECT * FROM (VALUES (1, 'a'), (2, 'a'), (3, 'b'), (4, 'b'), (5, 'a')) t(x, s)`,
      `SELECT * FROM (VALUES (3, 'a'), (4, 'b'), (5, 'b'), (6, 'a'), (7, 'b'), (8, 'b')) t(x, s)`);
    const x = features.get('x');
    expect(x?.metric).toBe('ks');
    expect(x?.value).toBeCloseTo(0.5, 12); // scipy.stats.ks_2samp([1..5], [3..8]).statistic
    expect(features.get('s')?.metric).toBe('chi2');
    const small = await drift(`SELECT * FROM flights LIMIT 400`, `SELECT delay * 1000 AS delay FROM flights LIMIT 400 OFFSET 400`);
    expect(small.features.get('delay')).toMatchObject({ metric: 'ks', severity: 'alert', drifted: true });
    const clean = await drift(`SELECT * FROM flights WHERE hash(date) % 50 = 0`, `SELECT * FROM flights WHERE hash(date) % 50 = 1`);
    expect(clean.features.get('delay')?.metric).toBe('ks');
    expect(clean.features.get('delay')?.pValue).toBeGreaterThan(0.001);
  });

  it('returns null for a column it cannot compare', () => {
    const c = { name: 'x', type: 'TIMESTAMP', kind: 'timestamp', bins: { spec: { kind: 'numeric', edges: [1] }, counts: [1, 1], missing: 0 } } as unknown as ColumnProfile;
    expect(columnDrift(c, c)).toBeNull();
  });
});
