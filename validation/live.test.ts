import { DuckDBTimestampValue } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnDrift, profileDrift } from './drift.ts';
import { LiveProfile } from './live.ts';
import { profileRelation, relationOf } from './profile.ts';
import { frozenBinsOf, type ColumnProfile, type DatasetProfile } from './profile-types.ts';
import { openTestDb, rng, type TestDb } from './test-support.ts';

let db: TestDb;
let reference: DatasetProfile;


type Row = { x: number | null; n: number | null; s: string | null; b: boolean | null; ts: Date | null };

beforeAll(async () => {
  db = await openTestDb();
  await db.session.run(`SELECT setseed(0.1)`);
  await db.session.run(`CREATE TABLE ref AS SELECT random() * 100 - 20 AS x, CAST(floor(random() * 50) AS BIGINT) AS n,
    ['alpha', 'beta', 'gamma', 'delta', 'épsilon', '日本', ''][CAST(floor(random() * 7) AS INTEGER) + 1] AS s, random() < 0.3 AS b,
    TIMESTAMP '2026-01-01' + to_milliseconds(CAST(floor(random() * 864000000) AS BIGINT)) AS ts FROM range(5000)`);
  reference = await profileRelation(db.session, relationOf({ table: 'ref' }), { topK: 5 });
});
afterAll(() => db.close());

const col = (p: DatasetProfile, name: string): ColumnProfile => p.columns.find((c) => c.name === name) as ColumnProfile;

function edgeRows(count: number, seed: number): Row[] {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const edges = (name: string): number[] => {
    const spec = col(reference, name).bins?.spec;
    return spec?.kind === 'numeric' ? [...spec.edges] : [];
  };
  const xEdges = edges('x');
  const nEdges = edges('n');
  const tsEdges = edges('ts').map(Math.floor);
  const texts = ['alpha', 'beta', 'gamma', 'unseen', '', 'Ã©t', 'e\u0301', 'x\\ud83d', '\uD83D', 'ok\uDE00', '😀', 'a\uFFFD', 'ã‚¢'];
  return Array.from({ length: count }, () => ({
    x: pick([null, NaN, Infinity, -Infinity, pick(xEdges), pick(xEdges), random() * 200 - 60, -0, 1e308]),
    n: pick([null, pick(nEdges), Math.floor(random() * 80) - 10]),
    s: pick([null, ...texts, ...texts]),
    b: pick([null, true, false]),
    ts: pick([null, new Date(pick(tsEdges)), new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 1e9))]),
  }));
}

async function duckdbProfile(table: string, rows: Row[]): Promise<DatasetProfile> {
  await db.session.run(`CREATE OR REPLACE TABLE "${table}" (x DOUBLE, n BIGINT, s VARCHAR, b BOOLEAN, ts TIMESTAMP)`);
  const a = await db.session.connection.createAppender(table);
  for (const r of rows) {
    if (r.x === null) a.appendNull(); else a.appendDouble(r.x);
    if (r.n === null) a.appendNull(); else a.appendBigInt(BigInt(r.n));
    if (r.s === null) a.appendNull(); else a.appendVarchar(r.s);
    if (r.b === null) a.appendNull(); else a.appendBoolean(r.b);
    if (r.ts === null) a.appendNull(); else a.appendTimestamp(new DuckDBTimestampValue(BigInt(r.ts.getTime()) * 1000n));
    a.endRow();
  }
  a.closeSync();
  return profileRelation(db.session, relationOf({ table }), { bins: frozenBinsOf(reference) });
}

/** Everything the live path must reproduce exactly: counts, rates, bins, lengths, encoding, extremes. */
function exactPart(c: ColumnProfile, jsOnly = false) {
  // Lone surrogates exist only in JS strings: by the time DuckDB holds them they are U+FFFD
  // (counted as replacements on both sides), so the live count is the one extra signal.
  const strings = c.strings && jsOnly ? { ...c.strings, encoding: { ...c.strings.encoding, loneSurrogates: 0 } } : c.strings;
  return { ...c, strings, finite: c.finite ? { n: c.finite.n, min: c.finite.min, max: c.finite.max } : null, topK: [], distinct: 0, deciles: null };
}

describe('LiveProfile agrees exactly with DuckDB on the same rows', () => {
  it('counts, null rates, bins (values on edges, NaN, ±Inf, nulls, empty and broken text) and PSI', async () => {
    const rows = edgeRows(4000, 11);
    const offline = await duckdbProfile('cur', rows);
    const live = new LiveProfile(reference);
    live.addMany(rows);
    const online = live.toProfile();
    expect(online.rows).toBe(offline.rows);
    for (const c of offline.columns) {
      expect(exactPart(col(online, c.name), true), c.name).toEqual(exactPart(c));
      // Moments agree up to floating point; DuckDB's sum overflows to ±Inf near 1e308 where Welford's update does not.
      const mean = col(online, c.name).finite?.mean;
      if (c.finite?.mean != null && Number.isFinite(c.finite.mean) && mean != null) expect(mean / c.finite.mean).toBeCloseTo(1, 9);
      const a = columnDrift(col(reference, c.name), c);
      const b = columnDrift(col(reference, c.name), col(online, c.name));
      expect(b?.psi, c.name).toBe(a?.psi);
    }
    // The edge cases were really there.
    expect(col(offline, 'x').nan).toBeGreaterThan(0);
    expect(col(offline, 's').strings?.encoding.replacement).toBeGreaterThan(0);
    expect(col(online, 's').strings?.encoding.loneSurrogates).toBeGreaterThan(0); // only JS can see them
    expect(profileDrift(reference, online).dataset).toEqual(profileDrift(reference, offline).dataset);
  });

  it('merges across processes through JSON, equal to one accumulator over all rows', () => {
    const rows = edgeRows(3000, 23);
    const whole = new LiveProfile(reference);
    whole.addMany(rows);
    const parts = [rows.slice(0, 1000), rows.slice(1000, 1700), rows.slice(1700)].map((part) => {
      const p = new LiveProfile(reference);
      p.addMany(part);
      return JSON.parse(JSON.stringify(p)) as DatasetProfile;
    });
    const merged = LiveProfile.fromJSON(parts[0] as DatasetProfile).merge(parts[1] as DatasetProfile).merge(parts[2] as DatasetProfile).toProfile();
    expect(merged.rows).toBe(3000);
    for (const c of whole.toProfile().columns) expect(exactPart(col(merged, c.name)), c.name).toEqual(exactPart(c));
  });

  it('keeps bounded memory: its state does not grow with the rows it has seen', () => {
    const live = new LiveProfile(reference);
    live.addMany(edgeRows(100, 1));
    const small = JSON.stringify(live).length;
    live.addMany(edgeRows(20_000, 2));
    expect(JSON.stringify(live).length).toBeLessThan(small + 200);
  });
});
