/**
 * Seeded corruptions of real data (a flights sample, the multilingual emoji labels of
 * emojibase-data) must each be flagged on the right column with the right code, and clean
 * splits of the same data must raise no errors.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssueCode } from './issues.ts';
import type { ValidationReport } from './report.ts';
import { validate } from './stage.ts';
import { emojiLabels, flightsSample, openTestDb, rng, type TestDb } from './test-support.ts';

let db: TestDb;
const LOCALES = ['ja', 'en', 'fr', 'de', 'ru', 'zh', 'ko', 'vi', 'es', 'pt'];


const cp1252 = new TextDecoder('windows-1252');
const utf8 = new TextDecoder('utf-8');
const escapeUtf16 = (s: string): string => [...s].map((ch) => (ch.charCodeAt(0) < 128 && ch.length === 1 ? ch : [...Array(ch.length).keys()].map((i) => `\\u${ch.charCodeAt(i).toString(16)}`).join(''))).join('');
/** UTF-8 bytes with one byte cut out of a multi-byte character, decoded leniently: U+FFFD where it was. */
function replacementCorrupt(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  const at = bytes.findIndex((b) => b >= 0x80);
  return at < 0 ? `${s}\uFFFD` : utf8.decode(Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]));
}

type Emoji = { locale: string; label: string; emoji: string; n: number };
let emoji: Emoji[] = [];

/** Rows appended through the Node client, as a serving process would write them (JS strings → UTF-8). */
async function emojiTable(name: string, rows: Emoji[]): Promise<{ table: string }> {
  await db.session.run(`CREATE OR REPLACE TABLE "${name}" (locale VARCHAR, label VARCHAR, emoji VARCHAR, n BIGINT)`);
  const appender = await db.session.connection.createAppender(name);
  for (const r of rows) {
    appender.appendVarchar(r.locale); appender.appendVarchar(r.label); appender.appendVarchar(r.emoji); appender.appendBigInt(BigInt(r.n));
    appender.endRow();
  }
  appender.closeSync();
  return { table: name };
}

beforeAll(async () => {
  db = await openTestDb();
  await flightsSample(db.session, 'flights', 30_000);
  emoji = LOCALES.flatMap((locale) => emojiLabels(locale).map((e) => ({ locale, ...e }))).map((e, n) => ({ ...e, n }));
});
afterAll(() => db.close());

const errorsOf = (r: ValidationReport) => r.issues.filter((i) => i.severity === 'error').map((i) => `${i.code}:${i.feature}`);
function expectFlag(r: ValidationReport, code: IssueCode, feature: string, severity?: 'warn' | 'error'): void {
  const hit = r.issues.find((i) => i.code === code && i.feature === feature && (severity === undefined || i.severity === severity));
  expect(hit, `${code} on ${feature} in ${JSON.stringify(r.issues.map((i) => `${i.severity} ${i.code}:${i.feature}`))}`).toBeDefined();
}

const flights = (where: string, select = '*') => ({ sql: `SELECT ${select} FROM flights WHERE ${where}` });
const EARLY = `date < (SELECT quantile_disc(date, 0.5) FROM flights)`;
const LATE = `date >= (SELECT quantile_disc(date, 0.5) FROM flights)`;
const HALF_A = `hash(date, origin, delay) % 2 = 0`;
const HALF_B = `hash(date, origin, delay) % 2 = 1`;

describe('flights: seeded corruptions are caught, clean splits pass', () => {
  it('a clean time split (earlier vs later dates) raises no errors', async () => {
    const r = await validate({ engine: db.engine, reference: flights(EARLY), current: flights(LATE), dataset: { eventTimestamp: 'date' } });
    expect(errorsOf(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.datasetDrift?.drifted).toBe(false);
  });

  it('nulls injected into 5% of delay', async () => {
    const r = await validate({ engine: db.engine, reference: flights(HALF_A), current: flights(HALF_B, `* REPLACE (CASE WHEN hash(origin, destination, date) % 20 = 0 THEN NULL ELSE delay END AS delay)`),
      expectations: { delay: { maxNullRate: 0.01 } } });
    expectFlag(r, 'NULL_RATE_ABOVE_MAX', 'delay', 'error');
    expectFlag(r, 'NULL_RATE_MOVED', 'delay', 'warn');
    expect(r.features.find((f) => f.name === 'delay')?.drift?.topBins[0]?.bin).toBe('(missing)');
    expect(r.issues.filter((i) => i.feature !== 'delay')).toEqual([]);
  });

  it('a unit change (×1000) in distance', async () => {
    const r = await validate({ engine: db.engine, reference: flights(HALF_A), current: flights(HALF_B, `* REPLACE (distance * 1000 AS distance)`),
      expectations: { distance: { min: 0, max: 6000 } } });
    expectFlag(r, 'DRIFT', 'distance', 'error');
    expectFlag(r, 'EXPECT_MAX', 'distance', 'error');
    expect(r.issues.find((i) => i.code === 'EXPECT_MAX')?.sampleValues.length).toBeGreaterThan(0);
    expect(errorsOf(r).every((e) => e.endsWith(':distance'))).toBe(true);
  });

  it('a renamed category in origin', async () => {
    const r = await validate({ engine: db.engine, reference: flights(HALF_A), current: flights(HALF_B, `* REPLACE (CASE origin WHEN 'ATL' THEN 'Atlanta' ELSE origin END AS origin)`),
      expectations: { origin: { regex: '^[A-Z]{3}$' } } });
    expectFlag(r, 'DRIFT', 'origin');
    expectFlag(r, 'EXPECT_REGEX', 'origin', 'error');
    expect(r.issues.find((i) => i.code === 'EXPECT_REGEX')?.sampleValues).toEqual(['Atlanta']);
    expect(r.features.find((f) => f.name === 'origin')?.drift?.topBins.map((b) => b.bin)).toContain('"ATL"');
  });

  it('a dropped column and a changed type', async () => {
    const r = await validate({ engine: db.engine, reference: flights(HALF_A), current: flights(HALF_B, `date, CAST(delay AS VARCHAR) AS delay, origin, destination`) });
    expectFlag(r, 'COLUMN_MISSING', 'distance', 'error');
    expectFlag(r, 'COLUMN_RETYPED', 'delay', 'error');
    expect(r.features.find((f) => f.name === 'distance')?.severity).toBe('error');
  });

  it('dataset checks: duplicate keys, row-count bounds, freshness — all collected', async () => {
    const r = await validate({ engine: db.engine, current: { sql: `SELECT * FROM flights UNION ALL SELECT * FROM flights LIMIT 35000` },
      dataset: { keys: ['date', 'origin', 'destination', 'delay', 'distance'], rowCount: { max: 30_000 }, eventTimestamp: 'date', maxAgeMs: 86_400_000, now: new Date('2030-01-01') } });
    expectFlag(r, 'DUPLICATE_KEYS', 'date,origin,destination,delay,distance', 'error');
    expectFlag(r, 'ROW_COUNT_OUT_OF_BOUNDS', null as unknown as string, 'error');
    expectFlag(r, 'STALE_DATA', 'date', 'error');
  });
});

describe('emoji labels: wrongly re-encoded text is caught', () => {
  it('a CSV file with lines in Latin-1 instead of UTF-8 → ENCODING_INVALID_UTF8 on label; a clean file passes', async () => {
    const rows = emoji.filter((e) => e.locale === 'fr');
    const random = rng(3);
    const csv = (bad: boolean): Buffer => Buffer.concat([Buffer.from('label,n\n'), ...rows.map((e) => {
      const quoted = `"${e.label.replaceAll('"', '""')}"`;
      const latin1 = bad && random() < 0.05 && /[\u0080-\u00ff]/.test(e.label);
      return Buffer.concat([latin1 ? Buffer.from(quoted, 'latin1') : Buffer.from(quoted, 'utf8'), Buffer.from(`,${e.n}\n`)]);
    })]);
    writeFileSync(join(db.dir, 'clean.csv'), csv(false));
    writeFileSync(join(db.dir, 'latin1.csv'), csv(true));
    const clean = await validate({ engine: db.engine, current: { path: join(db.dir, 'clean.csv') } });
    expect(errorsOf(clean)).toEqual([]);
    expect(clean.rows.current).toBe(rows.length);
    const r = await validate({ engine: db.engine, current: { path: join(db.dir, 'latin1.csv') }, reference: { path: join(db.dir, 'clean.csv') } });
    expectFlag(r, 'ENCODING_INVALID_UTF8', 'label', 'error');
    const hit = r.issues.find((i) => i.code === 'ENCODING_INVALID_UTF8');
    expect((hit?.observed as { rows: number }).rows).toBe(rows.length - r.rows.current);
    expect(hit?.sampleValues[0]).toMatch(/^line \d+$/);
  });

  const split = () => ({ a: emoji.filter((e) => e.n % 2 === 0), b: emoji.filter((e) => e.n % 2 === 1) });

  it('a clean split of the labels raises no errors', async () => {
    const { a, b } = split();
    const r = await validate({ engine: db.engine, reference: await emojiTable('clean_a', a), current: await emojiTable('clean_b', b) });
    expect(errorsOf(r)).toEqual([]);
  });

  const corruptions: [string, (e: Emoji) => Emoji, IssueCode, 'label' | 'emoji'][] = [
    ['UTF-8 decoded as Windows-1252', (e) => ({ ...e, label: cp1252.decode(Buffer.from(e.label, 'utf8')) }), 'ENCODING_MOJIBAKE', 'label'],
    ['emoji written as surrogate-pair escapes', (e) => ({ ...e, emoji: escapeUtf16(e.emoji) }), 'ENCODING_SURROGATE_ESCAPE', 'emoji'],
    ['U+FFFD replacement of a cut byte', (e) => ({ ...e, label: replacementCorrupt(e.label) }), 'ENCODING_REPLACEMENT_CHAR', 'label'],
    ['lone surrogates (half an emoji) crossing into DuckDB', (e) => ({ ...e, emoji: e.emoji.slice(0, 1) }), 'ENCODING_REPLACEMENT_CHAR', 'emoji'],
  ];
  for (const [what, corrupt, code, column] of corruptions) {
    it(`${what} → ${code} on ${column}`, async () => {
      const { a, b } = split();
      const random = rng(7);
      const current = b.map((e) => (random() < 0.05 && /[^\x00-\x7f]/.test(e[column]) ? corrupt(e) : e));
      const r = await validate({ engine: db.engine, reference: await emojiTable('ref', a), current: await emojiTable(`cur_${column}`, current) });
      expectFlag(r, code, column, 'error');
      const hit = r.issues.find((i) => i.code === code && i.feature === column);
      expect(hit?.sampleValues.length).toBeGreaterThan(0);
      expect(r.issues.filter((i) => i.severity === 'error' && i.feature !== column)).toEqual([]);
    });
  }
});
