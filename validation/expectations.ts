/**
 * @module validation/expectations
 * The checks: a feature's `.expect({ min, max, oneOf, regex, maxNullRate })`, and the checks
 * every dataset gets whether or not anything was declared — schema against a reference,
 * null-rate movement, non-finite numbers, encoding integrity, row count bounds, duplicate
 * keys, freshness. Every check returns all of its issues; none stops at the first.
 */
import type { Session } from '../featurestore/offline/duckdb.ts';
import { quoteIdent, sqlLiteral } from '../featurestore/offline/sql.ts';
import type { Expectations } from '../featurestore/define/dtypes.ts';
import { doubleLiteral } from './binning.ts';
import { encodingConditions } from './encoding-sql.ts';
import { issue, type IssueCode, type ValidationIssue } from './issues.ts';
import { valueSql } from './profile.ts';
import { nullRate, type ColumnProfile, type DatasetProfile, type EncodingCounts } from './profile-types.ts';

const SAMPLES = 5;
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  return v;
}

async function samples(session: Session, relation: string, column: string, condition: string): Promise<unknown[]> {
  const c = quoteIdent(column);
  const rows = await session.rows(`SELECT DISTINCT ${c} AS v FROM ${relation} WHERE ${condition} LIMIT ${SAMPLES}`);
  return rows.map((r) => jsonSafe(r['v']));
}

/** Violations of declared expectations, counted in one pass and sampled for each check that failed. */
export async function checkExpectations(
  session: Session, relation: string, profile: DatasetProfile, expectations: Readonly<Record<string, Expectations>>,
): Promise<ValidationIssue[]> {
  const columns = new Map(profile.columns.map((c) => [c.name, c]));
  const checks: { code: IssueCode; feature: string; cond: string; expected: unknown }[] = [];
  const issues: ValidationIssue[] = [];
  for (const [feature, e] of Object.entries(expectations)) {
    const col = columns.get(feature);
    if (!col) continue; // a missing column is the schema check's issue
    const c = quoteIdent(feature);
    const numeric = col.kind === 'numeric' || col.kind === 'timestamp';
    const v = valueSql(col.kind, feature);
    if (e.min !== undefined && numeric && v) checks.push({ code: 'EXPECT_MIN', feature, cond: `${v} < ${doubleLiteral(e.min)}`, expected: { min: e.min } });
    if (e.max !== undefined && numeric && v) checks.push({ code: 'EXPECT_MAX', feature, cond: `${v} > ${doubleLiteral(e.max)} AND NOT isnan(${v})`, expected: { max: e.max } });
    if (e.oneOf !== undefined) {
      const list = numeric && v
        ? `${v} NOT IN (${e.oneOf.map((x) => (typeof x === 'number' ? doubleLiteral(x) : 'NULL')).join(', ')})`
        : `CAST(${c} AS VARCHAR) NOT IN (${e.oneOf.map((x) => sqlLiteral(String(x))).join(', ')})`;
      checks.push({ code: 'EXPECT_ONE_OF', feature, cond: `${c} IS NOT NULL AND ${list}`, expected: { oneOf: e.oneOf } });
    }
    if (e.regex !== undefined) {
      checks.push({ code: 'EXPECT_REGEX', feature, cond: `NOT regexp_matches(CAST(${c} AS VARCHAR), ${sqlLiteral(e.regex)})`, expected: { regex: e.regex } });
    }
    if (e.maxNullRate !== undefined && nullRate(col) > e.maxNullRate) {
      issues.push(issue('NULL_RATE_ABOVE_MAX', feature, 'error', `${feature}: ${pct(nullRate(col))} null, above the expected ${pct(e.maxNullRate)}`,
        { nullRate: nullRate(col), nulls: col.nulls, rows: col.count }, { maxNullRate: e.maxNullRate }));
    }
  }
  if (checks.length > 0) {
    const counts = (await session.rows(`SELECT ${checks.map((k, i) => `count(*) FILTER (WHERE ${k.cond}) AS "k${i}"`).join(', ')} FROM ${relation}`))[0] ?? {};
    for (const [i, k] of checks.entries()) {
      const n = Number(counts[`k${i}`] ?? 0);
      if (n === 0) continue;
      const what = { EXPECT_MIN: 'below the minimum', EXPECT_MAX: 'above the maximum', EXPECT_ONE_OF: 'not one of the allowed values', EXPECT_REGEX: 'not matching the pattern' }[k.code as 'EXPECT_MIN'];
      issues.push(issue(k.code, k.feature, 'error', `${k.feature}: ${n} value(s) ${what}`, { violations: n }, k.expected,
        await samples(session, relation, k.feature, k.cond)));
    }
  }
  return issues;
}

/** Columns missing, added or retyped against the reference. */
export function checkSchema(reference: DatasetProfile, current: DatasetProfile): ValidationIssue[] {
  const cur = new Map(current.columns.map((c) => [c.name, c]));
  const ref = new Set(reference.columns.map((c) => c.name));
  const issues: ValidationIssue[] = [];
  for (const r of reference.columns) {
    const c = cur.get(r.name);
    if (!c) issues.push(issue('COLUMN_MISSING', r.name, 'error', `${r.name} is missing (reference type ${r.type})`, null, { type: r.type }));
    else if (c.type !== r.type) issues.push(issue('COLUMN_RETYPED', r.name, 'error', `${r.name} is ${c.type}, the reference has ${r.type}`, { type: c.type }, { type: r.type }));
  }
  for (const c of current.columns) {
    if (!ref.has(c.name)) issues.push(issue('COLUMN_ADDED', c.name, 'warn', `${c.name} (${c.type}) is new: not in the reference`, { type: c.type }, null));
  }
  return issues;
}

/** Null-rate thresholds of the null-tracking rules (DESIGN §6). */
export const NULL_MOVE = { absolute: 0.02, relative: 2, relativeFloor: 0.01 } as const;

/**
 * Whether a null rate moved from its reference: by ≥ 0.02 absolute, or by ≥ 2× either way
 * once either rate is at least 1% (below that, 2× is noise: 3 nulls instead of 1).
 */
export function nullRateMoved(reference: number, current: number): boolean {
  if (Math.abs(current - reference) >= NULL_MOVE.absolute) return true;
  if (Math.max(reference, current) < NULL_MOVE.relativeFloor) return false;
  const lo = Math.min(reference, current);
  const hi = Math.max(reference, current);
  return lo === 0 || hi / lo >= NULL_MOVE.relative;
}

export function checkNullRates(reference: DatasetProfile, current: DatasetProfile): ValidationIssue[] {
  const cur = new Map(current.columns.map((c) => [c.name, c]));
  const issues: ValidationIssue[] = [];
  for (const r of reference.columns) {
    const c = cur.get(r.name);
    if (!c) continue;
    const a = nullRate(r);
    const b = nullRate(c);
    if (nullRateMoved(a, b)) {
      issues.push(issue('NULL_RATE_MOVED', r.name, 'warn', `${r.name}: null rate ${pct(b)}, reference ${pct(a)}`, { nullRate: b }, { nullRate: a }));
    }
  }
  return issues;
}

const nonFinite = (c: ColumnProfile): number => c.nan + c.posInf + c.negInf;

/** NaN/±Inf where the reference had (almost) none, or anywhere without a reference. */
export function checkNonFinite(reference: DatasetProfile | null, current: DatasetProfile): ValidationIssue[] {
  const ref = new Map((reference?.columns ?? []).map((c) => [c.name, c]));
  const issues: ValidationIssue[] = [];
  for (const c of current.columns) {
    const n = nonFinite(c);
    if (n === 0 || c.count === 0) continue;
    const r = ref.get(c.name);
    const refRate = r && r.count > 0 ? nonFinite(r) / r.count : 0;
    if (r && n / c.count < 2 * refRate + 0.001) continue;
    issues.push(issue('NON_FINITE_VALUES', c.name, 'warn', `${c.name}: ${c.nan} NaN, ${c.posInf} +Inf, ${c.negInf} −Inf`,
      { nan: c.nan, posInf: c.posInf, negInf: c.negInf }, reference ? { rate: refRate } : { rate: 0 }));
  }
  return issues;
}

const ENCODING_CODES: Record<keyof EncodingCounts, IssueCode> = {
  replacement: 'ENCODING_REPLACEMENT_CHAR', mojibake: 'ENCODING_MOJIBAKE', nonNfc: 'ENCODING_NON_NFC',
  surrogateEscapes: 'ENCODING_SURROGATE_ESCAPE', loneSurrogates: 'ENCODING_LONE_SURROGATE', invalidUtf8: 'ENCODING_INVALID_UTF8',
};

const ENCODING_WORDS: Record<keyof EncodingCounts, string> = {
  replacement: 'contain U+FFFD (bytes a decoder could not read)', mojibake: 'look like UTF-8 read as Windows-1252 (mojibake)',
  nonNfc: 'are not NFC-normalized', surrogateEscapes: 'contain surrogate escapes such as \\ud83d',
  loneSurrogates: 'contain lone surrogates', invalidUtf8: 'are not valid UTF-8',
};

/**
 * Encoding signals. With a reference: an error when a signal's rate grew by ≥ 0.1% of rows and
 * at least doubled (non-NFC text: a warning, it is often legitimate). Without one: any
 * replacement character, surrogate or invalid UTF-8 is an error above 0.1% of rows, and a
 * warning below; mojibake and non-NFC text are warnings.
 */
export async function checkEncoding(
  session: Session | null, relation: string | null, reference: DatasetProfile | null, current: DatasetProfile,
): Promise<ValidationIssue[]> {
  const ref = new Map((reference?.columns ?? []).map((c) => [c.name, c]));
  const issues: ValidationIssue[] = [];
  for (const c of current.columns) {
    if (!c.strings || c.count === 0) continue;
    const r = ref.get(c.name);
    for (const signal of Object.keys(ENCODING_CODES) as (keyof EncodingCounts)[]) {
      const n = c.strings.encoding[signal];
      if (n === 0) continue;
      const rate = n / c.count;
      const refRate = r?.strings && r.count > 0 ? r.strings.encoding[signal] / r.count : null;
      let severity: 'warn' | 'error' | null;
      if (reference && r) {
        severity = rate >= 2 * (refRate ?? 0) && rate - (refRate ?? 0) >= 0.001 ? (signal === 'nonNfc' ? 'warn' : 'error') : null;
      } else if (signal === 'nonNfc' || signal === 'mojibake') severity = 'warn';
      else severity = rate > 0.001 ? 'error' : 'warn';
      if (!severity) continue;
      const cond = encodingConditions(c.kind, c.name)[signal];
      const sampleValues = session && relation && cond ? await samples(session, relation, c.name, cond) : [];
      issues.push(issue(ENCODING_CODES[signal], c.name, severity, `${c.name}: ${n} value(s) (${pct(rate)}) ${ENCODING_WORDS[signal]}`,
        { rows: n, rate }, { rate: refRate ?? 0 }, sampleValues));
    }
  }
  return issues;
}

export interface DatasetChecks {
  /** Hard bounds: outside is an error. */
  readonly rowCount?: { readonly min?: number; readonly max?: number };
  /** Row counts of earlier batches: a count below half the smallest or above twice the largest is a warning. */
  readonly rowCountHistory?: readonly number[];
  /** Columns that must identify a row. */
  readonly keys?: readonly string[];
  /** The event-time column for freshness (and null tracking). */
  readonly eventTimestamp?: string;
  /** Newest event older than this many milliseconds before `now` is an error. */
  readonly maxAgeMs?: number;
  readonly now?: Date;
}

export async function checkDataset(session: Session, relation: string, current: DatasetProfile, checks: DatasetChecks): Promise<ValidationIssue[]> {
  const issues: ValidationIssue[] = [];
  const rows = current.rows;
  const { min, max } = checks.rowCount ?? {};
  if ((min !== undefined && rows < min) || (max !== undefined && rows > max)) {
    issues.push(issue('ROW_COUNT_OUT_OF_BOUNDS', null, 'error', `${rows} rows, expected ${min ?? 0}…${max ?? '∞'}`, { rows }, { min: min ?? null, max: max ?? null }));
  }
  const history = checks.rowCountHistory ?? [];
  if (history.length > 0) {
    const lo = Math.min(...history) / 2;
    const hi = Math.max(...history) * 2;
    if (rows < lo || rows > hi) {
      issues.push(issue('ROW_COUNT_OUT_OF_BOUNDS', null, 'warn', `${rows} rows, history ${Math.min(...history)}…${Math.max(...history)} (allowed ${lo}…${hi})`, { rows }, { min: lo, max: hi }));
    }
  }
  const columns = new Set(current.columns.map((c) => c.name));
  if (checks.keys && checks.keys.length > 0 && checks.keys.every((k) => columns.has(k))) {
    const keys = checks.keys.map(quoteIdent).join(', ');
    const dup = await session.rows(`SELECT count(*) AS groups, sum(n) AS rows, any_value(k) AS sample FROM (
      SELECT row(${keys})::VARCHAR AS k, count(*) AS n FROM ${relation} GROUP BY ${keys} HAVING count(*) > 1)`);
    const groups = Number(dup[0]?.['groups'] ?? 0);
    if (groups > 0) {
      const sample = await session.rows(`SELECT ${keys}, count(*) AS n FROM ${relation} GROUP BY ${keys} HAVING count(*) > 1 ORDER BY n DESC LIMIT ${SAMPLES}`);
      issues.push(issue('DUPLICATE_KEYS', checks.keys.join(','), 'error', `${groups} key(s) of (${checks.keys.join(', ')}) appear more than once (${Number(dup[0]?.['rows'])} rows)`,
        { duplicateKeys: groups }, { duplicateKeys: 0 }, sample.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, jsonSafe(v)])))));
    }
  }
  if (checks.eventTimestamp && checks.maxAgeMs !== undefined && columns.has(checks.eventTimestamp)) {
    const ts = quoteIdent(checks.eventTimestamp);
    const newest = (await session.rows(`SELECT CAST(epoch_ms(CAST(max(${ts}) AS TIMESTAMP)) AS DOUBLE) AS ms FROM ${relation}`))[0]?.['ms'];
    const now = (checks.now ?? new Date()).getTime();
    const age = newest === null || newest === undefined ? Infinity : now - Number(newest);
    if (age > checks.maxAgeMs) {
      issues.push(issue('STALE_DATA', checks.eventTimestamp, 'error',
        `newest ${checks.eventTimestamp} is ${newest == null ? 'missing' : new Date(Number(newest)).toISOString()}, older than ${checks.maxAgeMs / 3_600_000} h`,
        { newest: newest == null ? null : new Date(Number(newest)).toISOString() }, { maxAgeMs: checks.maxAgeMs }));
    }
  }
  return issues;
}
