/**
 * @module validation/drift-sql
 * The raw-value KS statistic, computed in DuckDB for the small samples where KS decides:
 * D = max |F_ref(x) − F_cur(x)| over the finite values of both sides.
 */
import type { Session } from '../featurestore/offline/duckdb.ts';
import { valueSql } from './profile.ts';
import type { DatasetProfile } from './profile-types.ts';

/** KS statistics for the numeric columns of `reference` when either side has fewer than `below` rows. */
export async function ksStatistics(
  session: Session, referenceRelation: string, currentRelation: string, reference: DatasetProfile, current: DatasetProfile, below = 1000,
): Promise<Record<string, { d: number; n: number; m: number }>> {
  const out: Record<string, { d: number; n: number; m: number }> = {};
  if (Math.min(reference.rows, current.rows) >= below) return out;
  const currentTypes = new Map(current.columns.map((c) => [c.name, c.type]));
  for (const c of reference.columns) {
    if (c.kind !== 'numeric' || currentTypes.get(c.name) !== c.type) continue;
    const v = valueSql(c.kind, c.name) as string;
    const sql = `WITH u AS (
  SELECT ${v} AS x, 1 AS a, 0 AS b FROM ${referenceRelation} WHERE isfinite(${v})
  UNION ALL SELECT ${v}, 0, 1 FROM ${currentRelation} WHERE isfinite(${v})
), g AS (SELECT x, sum(a) AS a, sum(b) AS b FROM u GROUP BY x),
c AS (
  SELECT sum(a) OVER w AS ca, sum(b) OVER w AS cb, sum(a) OVER () AS na, sum(b) OVER () AS nb
  FROM g WINDOW w AS (ORDER BY x ROWS UNBOUNDED PRECEDING)
)
SELECT coalesce(max(abs(ca / na - cb / nb)), 0) AS d, coalesce(max(na), 0) AS n, coalesce(max(nb), 0) AS m FROM c WHERE na > 0 AND nb > 0`;
    const row = (await session.rows(sql))[0] ?? {};
    out[c.name] = { d: Number(row['d'] ?? 0), n: Number(row['n'] ?? 0), m: Number(row['m'] ?? 0) };
  }
  return out;
}
