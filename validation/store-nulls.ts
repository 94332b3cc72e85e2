/**
 * @module validation/store-nulls
 * Null-rate history kept in the registry per source or feature view
 * (`null-history/<kind>/<name>`): each `larder validate` of it records its daily buckets (a day
 * it covers replaces the stored day; the latest {@link NULL_HISTORY_DAYS} days are kept), and,
 * when no reference was given, its days are first compared with the history's typical (median
 * daily) null rate per feature — the same ≥ 0.02 absolute / ≥ 2× rule as against a reference profile.
 */
import type { DefinitionRegistry } from '../registry/index.ts';
import type { ValidationIssue } from './issues.ts';
import { nullAlerts, typicalNullRates, replaceDays, type NullHistory } from './nulls.ts';
import type { ValidationReport } from './report.ts';

/** Days of null counts kept per source or view (a little over a year, for yearly seasonality). */
export const NULL_HISTORY_DAYS = 400;

export type TrackedKind = 'source' | 'view';

export const nullHistoryKey = (kind: TrackedKind, name: string): string => `null-history/${kind}/${name}`;

/** The stored history of a source or view, or `undefined` before its first validation. */
export function loadNullHistory(registry: DefinitionRegistry, kind: TrackedKind, name: string): Promise<NullHistory | undefined> {
  return registry.getRecord<NullHistory>(nullHistoryKey(kind, name));
}

/** Records a batch's daily buckets into the stored history and returns the history as stored. */
export function recordNullHistory(
  registry: DefinitionRegistry, kind: TrackedKind, name: string, batch: NullHistory, maxDays: number = NULL_HISTORY_DAYS,
): Promise<NullHistory> {
  return registry.updateRecord<NullHistory>(nullHistoryKey(kind, name), (old) => replaceDays(old, batch, maxDays));
}

/** The report with more issues: `ok` and the features' severities follow them. */
function withIssues(report: ValidationReport, added: readonly ValidationIssue[]): ValidationReport {
  if (added.length === 0) return report;
  const features = report.features.map((f) => {
    const own = added.filter((i) => i.feature === f.name);
    if (own.length === 0) return f;
    return { ...f, severity: own.some((i) => i.severity === 'error') ? 'error' as const : f.severity === 'ok' ? 'warn' as const : f.severity };
  });
  return { ...report, ok: report.ok && !added.some((i) => i.severity === 'error'), features, issues: [...report.issues, ...added] };
}

export interface TrackNullsOptions {
  readonly kind: TrackedKind;
  readonly name: string;
  /** Compare the batch's days with the stored history (do so when no reference was given). */
  readonly compare: boolean;
  readonly maxDays?: number;
}

/**
 * Null tracking over time for a validated batch of a source or view: with `compare`, adds a
 * `NULL_RATE_MOVED` warning per feature whose daily rate moved from the history's median daily rate
 * (history as it was before this batch), then records the batch's days. A report without a
 * daily null history (no event-time column) is returned as it is and nothing is recorded.
 * @example report = await trackNullHistory(registry, report, { kind: 'view', name: 'driver_hourly', compare: !reference });
 */
export async function trackNullHistory(registry: DefinitionRegistry, report: ValidationReport, options: TrackNullsOptions): Promise<ValidationReport> {
  const batch = report.nullHistory;
  if (!batch) return report;
  let out = report;
  if (options.compare) {
    const stored = await loadNullHistory(registry, options.kind, options.name);
    if (stored && stored.buckets.length > 0) {
      const seen = new Set(report.issues.map((i) => `${i.code}:${i.feature}`));
      const moved = nullAlerts(batch, typicalNullRates(stored), {}, `its history (${stored.buckets.length} days)`)
        .filter((i) => !seen.has(`${i.code}:${i.feature}`));
      out = withIssues(report, moved);
    }
  }
  await recordNullHistory(registry, options.kind, options.name, batch, options.maxDays);
  return out;
}
