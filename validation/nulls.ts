/**
 * @module validation/nulls
 * Null tracking: per feature, the null count of each day bucket of event time, kept as a
 * history (JSON, mergeable by adding buckets), with the alerts of DESIGN §6: a day above the
 * feature's `maxNullRate` is an error; a day whose rate moved from the reference by ≥ 0.02
 * absolute or ≥ 2× relative is a warning. The reference rate is a reference profile's, or —
 * when there is none — the median daily rate of the stored history (`store-nulls.ts`).
 */
import type { Session } from '../featurestore/offline/duckdb.ts';
import { quoteIdent } from '../featurestore/offline/sql.ts';
import type { Expectations } from '../featurestore/define/dtypes.ts';
import { nullRateMoved } from './expectations.ts';
import { issue, type ValidationIssue } from './issues.ts';

export interface NullBucket {
  /** UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  readonly rows: number;
  /** Null count per feature. */
  readonly nulls: Readonly<Record<string, number>>;
}

export interface NullHistory {
  readonly eventTimestamp: string;
  readonly buckets: NullBucket[];
}

/** Null counts per UTC day of `eventTimestamp` for `columns` (default: all other columns), in one pass. */
export async function nullHistory(session: Session, relation: string, eventTimestamp: string, columns?: readonly string[]): Promise<NullHistory> {
  let names = columns;
  if (!names) {
    const described = await session.rows(`DESCRIBE SELECT * FROM ${relation}`);
    names = described.map((r) => String(r['column_name'])).filter((n) => n !== eventTimestamp);
  }
  const ts = quoteIdent(eventTimestamp);
  const select = names.map((n, i) => `count(*) - count(${quoteIdent(n)}) AS "n${i}"`);
  const rows = await session.rows(`SELECT strftime(CAST(${ts} AS TIMESTAMP), '%Y-%m-%d') AS day, count(*) AS rows${select.length ? `, ${select.join(', ')}` : ''}
FROM ${relation} WHERE ${ts} IS NOT NULL GROUP BY 1 ORDER BY 1`);
  return {
    eventTimestamp,
    buckets: rows.map((r) => ({
      day: String(r['day']),
      rows: Number(r['rows']),
      nulls: Object.fromEntries((names ?? []).map((n, i) => [n, Number(r[`n${i}`])])),
    })),
  };
}

/** Adds two histories (e.g. yesterday's stored history and today's batch); buckets of the same day add up. */
export function mergeNullHistory(a: NullHistory, b: NullHistory): NullHistory {
  const byDay = new Map<string, { rows: number; nulls: Record<string, number> }>();
  for (const bucket of [...a.buckets, ...b.buckets]) {
    const into = byDay.get(bucket.day) ?? { rows: 0, nulls: {} };
    into.rows += bucket.rows;
    for (const [k, v] of Object.entries(bucket.nulls)) into.nulls[k] = (into.nulls[k] ?? 0) + v;
    byDay.set(bucket.day, into);
  }
  return { eventTimestamp: a.eventTimestamp, buckets: [...byDay].sort(([x], [y]) => (x < y ? -1 : 1)).map(([day, v]) => ({ day, ...v })) };
}

/**
 * A stored history brought up to date with a batch: the batch's buckets replace the stored ones
 * of the same days (a batch that covers a day counts all of that day's rows, so validating the
 * same data twice must not count it twice), and only the latest `maxDays` days are kept.
 */
export function replaceDays(stored: NullHistory | undefined, batch: NullHistory, maxDays: number): NullHistory {
  const byDay = new Map((stored?.buckets ?? []).map((b) => [b.day, b]));
  for (const b of batch.buckets) byDay.set(b.day, b);
  const buckets = [...byDay.values()].sort((x, y) => (x.day < y.day ? -1 : x.day > y.day ? 1 : 0));
  return { eventTimestamp: batch.eventTimestamp, buckets: buckets.slice(Math.max(0, buckets.length - maxDays)) };
}

/**
 * Per feature, the median of its daily null rates in a history: the rate a typical day had. A
 * median, not the pooled rate, so a few bad days kept in the history (they are recorded too) do
 * not shift the baseline and make every normal day look moved.
 */
export function typicalNullRates(history: NullHistory): Record<string, number> {
  const rates = new Map<string, number[]>();
  for (const b of history.buckets) {
    if (b.rows === 0) continue;
    for (const [f, n] of Object.entries(b.nulls)) {
      const list = rates.get(f) ?? [];
      list.push(n / b.rows);
      rates.set(f, list);
    }
  }
  return Object.fromEntries([...rates].map(([f, list]) => {
    const sorted = list.sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    return [f, sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2];
  }));
}

/**
 * Alerts over a history: one issue per feature and rule, naming the days.
 * `referenceRates` are the features' reference null rates; `referenceName` says where they came
 * from in the messages.
 */
export function nullAlerts(
  history: NullHistory, referenceRates: Readonly<Record<string, number>>, expectations: Readonly<Record<string, Expectations>> = {},
  referenceName = 'the reference',
): ValidationIssue[] {
  const features = new Set(history.buckets.flatMap((b) => Object.keys(b.nulls)));
  const issues: ValidationIssue[] = [];
  for (const f of features) {
    const days = history.buckets.filter((b) => b.rows > 0).map((b) => ({ day: b.day, rate: (b.nulls[f] ?? 0) / b.rows }));
    const max = expectations[f]?.maxNullRate;
    if (max !== undefined) {
      const over = days.filter((d) => d.rate > max);
      if (over.length > 0) {
        issues.push(issue('NULL_RATE_ABOVE_MAX', f, 'error', `${f}: null rate above ${max} on ${over.length} day(s), first ${over[0]?.day}`,
          { days: over.slice(0, 10) }, { maxNullRate: max }));
      }
    }
    const ref = referenceRates[f];
    if (ref !== undefined) {
      const moved = days.filter((d) => nullRateMoved(ref, d.rate));
      if (moved.length > 0) {
        issues.push(issue('NULL_RATE_MOVED', f, 'warn', `${f}: daily null rate moved from ${referenceName} ${ref.toFixed(4)} on ${moved.length} day(s), first ${moved[0]?.day}`,
          { days: moved.slice(0, 10) }, { nullRate: ref }));
      }
    }
  }
  return issues;
}
