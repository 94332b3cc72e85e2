/**
 * @module validation/stage
 * Validation as a pipeline stage. `validate` profiles the current batch (and the reference,
 * unless a stored profile is given) against the reference's frozen bins and runs every check:
 * declared expectations, schema, null rates and their daily history, non-finite numbers,
 * encoding integrity, dataset checks and drift. `validateStage` is the same, but an
 * error-level issue throws `LARDER_E_VALIDATION_FAILED` carrying the report — not retryable,
 * since the same data fails the same way — so nothing downstream runs; warnings return the
 * report for the caller to record.
 */
import { randomUUID } from 'node:crypto';
import { DuckDBEngine, type Session } from '../featurestore/offline/duckdb.ts';
import { formatOfPath } from '../featurestore/offline/sources.ts';
import { quoteIdent, sqlLiteral } from '../featurestore/offline/sql.ts';
import type { Expectations } from '../featurestore/define/dtypes.ts';
import { isLarderError, larderError } from '../errors.ts';
import { profileDrift, type DriftOptions } from './drift.ts';
import { ksStatistics } from './drift-sql.ts';
import {
  checkDataset, checkEncoding, checkExpectations, checkNonFinite, checkNullRates, checkSchema, type DatasetChecks,
} from './expectations.ts';
import { issue, type IssueSeverity, type ValidationIssue } from './issues.ts';
import { isProfile } from './inputs.ts';
export { expectationsOf } from './expectations-of.ts';
import { nullAlerts, nullHistory, type NullHistory } from './nulls.ts';
import { profileRelation, relationOf, type DataInput } from './profile.ts';
import { frozenBinsOf, nullRate, type DatasetProfile } from './profile-types.ts';
import { buildReport, driftIssues, type ValidationReport } from './report.ts';

export interface ValidateOptions {
  readonly current: DataInput;
  /** The data to compare against, or its stored profile. */
  readonly reference?: DataInput | DatasetProfile;
  /** Per column, e.g. from `expectationsOf(view.schema)`. */
  readonly expectations?: Readonly<Record<string, Expectations>>;
  readonly dataset?: DatasetChecks;
  /** Drift options, plus the severity of an alert-level drift issue (default `error`); `false` skips drift. */
  readonly drift?: (DriftOptions & { readonly alertSeverity?: IssueSeverity }) | false;
  /** An engine to run in; by default a private in-memory one, closed afterwards. */
  readonly engine?: DuckDBEngine;
  /** Relative paths resolve against it (default: the working folder). */
  readonly projectDir?: string;
  readonly signal?: AbortSignal;
}

async function withEngine<T>(options: ValidateOptions, work: (session: Session) => Promise<T>): Promise<T> {
  if (options.engine) return options.engine.withSession(work, options.signal);
  const engine = await DuckDBEngine.open({ path: ':memory:', projectDir: options.projectDir ?? process.cwd() });
  try {
    return await engine.withSession(work, options.signal);
  } finally {
    engine.close();
  }
}

/**
 * A CSV file is read with DuckDB's rejects table, so rows that are not valid UTF-8 (or do not
 * parse) become issues naming their column instead of failing the whole read.
 */
function currentRelationOf(input: DataInput): { relation: string; rejects: string | null } {
  if (!('path' in input) || formatOfPath(input.path) !== 'csv') return { relation: relationOf(input), rejects: null };
  const rejects = `larder_rejects_${randomUUID().replaceAll('-', '')}`;
  const relation = `read_csv(${sqlLiteral(input.path)}, store_rejects = true, rejects_table = ${sqlLiteral(rejects)}, rejects_scan = ${sqlLiteral(`${rejects}_scan`)})`;
  return { relation, rejects };
}

async function rejectedRows(session: Session, rejects: string): Promise<ValidationIssue[]> {
  const rows = await session.rows(`SELECT column_name AS col, error_type AS kind, count(DISTINCT line) AS n, list(DISTINCT line ORDER BY line)[1:5] AS lines
FROM ${quoteIdent(rejects)} GROUP BY ALL ORDER BY col, kind`).catch(() => []);
  return rows.map((r) => {
    const feature = r['col'] === null || r['col'] === undefined ? null : String(r['col']);
    const n = Number(r['n']);
    const lines = ((r['lines'] ?? []) as unknown[]).map(Number);
    const encoding = String(r['kind']) === 'INVALID ENCODING';
    return issue(encoding ? 'ENCODING_INVALID_UTF8' : 'ROWS_REJECTED', feature, 'error',
      `${feature ?? 'a row'}: ${n} CSV line(s) ${encoding ? 'are not valid UTF-8' : `rejected (${String(r['kind']).toLowerCase()})`} and were left out of the profile, first at line ${lines[0]}`,
      { rows: n, kind: String(r['kind']) }, { rows: 0 }, lines.map((l) => `line ${l}`));
  });
}

/** Runs every check and returns the report; never throws for bad data. */
export async function validate(options: ValidateOptions): Promise<ValidationReport> {
  return withEngine(options, async (session) => {
    const { relation: currentRelation, rejects } = currentRelationOf(options.current);
    const referenceRelation = options.reference && !isProfile(options.reference) ? relationOf(options.reference) : null;
    let reference: DatasetProfile | null = null;
    if (options.reference) reference = isProfile(options.reference) ? options.reference : await profileRelation(session, referenceRelation as string);
    const current = await profileRelation(session, currentRelation, reference ? { bins: frozenBinsOf(reference) } : {});
    const issues: ValidationIssue[] = rejects ? await rejectedRows(session, rejects) : [];
    issues.push(...await checkExpectations(session, currentRelation, current, options.expectations ?? {}));
    if (reference) issues.push(...checkSchema(reference, current), ...checkNullRates(reference, current));
    issues.push(...checkNonFinite(reference, current));
    issues.push(...await checkEncoding(session, currentRelation, reference, current));
    if (options.dataset) issues.push(...await checkDataset(session, currentRelation, current, options.dataset));
    let history: NullHistory | undefined;
    const ts = options.dataset?.eventTimestamp;
    if (ts && current.columns.some((c) => c.name === ts)) {
      history = await nullHistory(session, currentRelation, ts);
      const rates = Object.fromEntries((reference?.columns ?? []).map((c) => [c.name, nullRate(c)]));
      // Daily alerts add to the whole-batch ones only for what those did not already say.
      const seen = new Set(issues.map((i) => `${i.code}:${i.feature}`));
      issues.push(...nullAlerts(history, rates, options.expectations ?? {}).filter((i) => !seen.has(`${i.code}:${i.feature}`)));
    }
    let drift = null;
    if (reference && options.drift !== false) {
      const d = options.drift || {};
      const ks = referenceRelation ? await ksStatistics(session, referenceRelation, currentRelation, reference, current, d.smallSample) : {};
      drift = profileDrift(reference, current, d, ks);
      issues.push(...driftIssues(drift.features, d.alertSeverity));
    }
    return buildReport({ reference, current, issues, drift, ...(history ? { nullHistory: history } : {}) });
  });
}

/**
 * The validation stage of a pipeline: returns the report when it has no errors (warnings are
 * in it, to record), and throws `LARDER_E_VALIDATION_FAILED` with the report as `details` when
 * it has any.
 * @example
 * const report = await validateStage({ current: { path: 'batch.parquet' }, reference: storedProfile, expectations });
 */
export async function validateStage(options: ValidateOptions): Promise<ValidationReport> {
  const report = await validate(options);
  if (!report.ok) {
    const errors = report.issues.filter((i) => i.severity === 'error');
    const summary = errors.slice(0, 3).map((i) => `${i.code} on ${i.feature ?? 'dataset'}`).join('; ') + (errors.length > 3 ? '; …' : '');
    throw larderError('LARDER_E_VALIDATION_FAILED', { count: errors.length, summary }, { details: report });
  }
  return report;
}

/** Whether a failure is worth retrying: a failed validation is not (the same data fails the same way). */
export function isRetryable(error: unknown): boolean {
  return !(isLarderError(error) && error.code === 'LARDER_E_VALIDATION_FAILED');
}
