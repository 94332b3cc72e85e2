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
import { DuckDBEngine, type Session } from '../featurestore/offline/duckdb.ts';
import type { DType, DTypeSpec, Expectations } from '../featurestore/define/dtypes.ts';
import { isLarderError, larderError } from '../errors.ts';
import { profileDrift, type DriftOptions } from './drift.ts';
import { ksStatistics } from './drift-sql.ts';
import {
  checkDataset, checkEncoding, checkExpectations, checkNonFinite, checkNullRates, checkSchema, type DatasetChecks,
} from './expectations.ts';
import type { IssueSeverity, ValidationIssue } from './issues.ts';
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

/** The expectations declared on a schema's dtypes (`t.float64().expect({ … })`). */
export function expectationsOf(schema: Readonly<Record<string, DType | DTypeSpec>>): Record<string, Expectations> {
  const out: Record<string, Expectations> = {};
  for (const [name, d] of Object.entries(schema)) {
    const e = 'expect' in d && typeof d.expect === 'object' ? d.expect : (d as DType).expectations;
    if (e) out[name] = e;
  }
  return out;
}

function isProfile(value: DataInput | DatasetProfile): value is DatasetProfile {
  return (value as DatasetProfile).version === 1 && Array.isArray((value as DatasetProfile).columns);
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

/** Runs every check and returns the report; never throws for bad data. */
export async function validate(options: ValidateOptions): Promise<ValidationReport> {
  return withEngine(options, async (session) => {
    const currentRelation = relationOf(options.current);
    const referenceRelation = options.reference && !isProfile(options.reference) ? relationOf(options.reference) : null;
    let reference: DatasetProfile | null = null;
    if (options.reference) reference = isProfile(options.reference) ? options.reference : await profileRelation(session, referenceRelation as string);
    const current = await profileRelation(session, currentRelation, reference ? { bins: frozenBinsOf(reference) } : {});
    const issues: ValidationIssue[] = [];
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
