/**
 * @module validation/drift
 * Drift between a reference and a current profile, computed from their bin counts alone, so
 * the same function serves DuckDB profiles and live accumulators (identical counts give an
 * identical PSI). PSI over the reference's decile bins plus a missing bin (numbers) or its
 * top-K + other + missing (text, booleans); below `smallSample` rows on either side the
 * verdict comes from KS (numbers; its statistic computed from the raw values when given,
 * else from the binned ECDFs) or chi-square (categories). Jensen–Shannon distance is reported
 * alongside. Timestamp columns are not drift-tested: event time moves by design.
 */
import type { BinCounts, ColumnProfile, DatasetProfile } from './profile-types.ts';
import { chiSquareTest, ksPValue } from './stats.ts';

export interface DriftOptions {
  /** Floor for empty bins in PSI (default 1e-4). */
  readonly epsilon?: number;
  readonly psiWarn?: number;
  readonly psiAlert?: number;
  /** Below this many rows on either side, KS / chi-square decide (default 1000). */
  readonly smallSample?: number;
  readonly pValue?: number;
  /** Dataset drift when at least this share of tested features drifted (default 0.5). */
  readonly datasetShare?: number;
  /** Bins named per result (default 3). */
  readonly topBins?: number;
}

export const DRIFT_DEFAULTS = { epsilon: 1e-4, psiWarn: 0.1, psiAlert: 0.25, smallSample: 1000, pValue: 0.05, datasetShare: 0.5, topBins: 3 } as const;

export interface BinMove {
  readonly bin: string;
  readonly reference: number;
  readonly current: number;
  /** This bin's term of the PSI sum. */
  readonly contribution: number;
}

export interface FeatureDrift {
  readonly metric: 'psi' | 'ks' | 'chi2';
  /** The metric's value: PSI, the KS statistic D, or χ². */
  readonly value: number;
  readonly pValue?: number;
  readonly psi: number;
  readonly jsDistance: number;
  readonly topBins: BinMove[];
  readonly severity: 'ok' | 'warn' | 'alert';
  /** Counted towards dataset drift: PSI ≥ alert, or p < 0.05 on a small sample. */
  readonly drifted: boolean;
}

export interface DatasetDrift {
  readonly drifted: boolean;
  readonly share: number;
  readonly tested: number;
  readonly driftedFeatures: string[];
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4))));

/** Readable bin names: `< 5`, `[5, 10)`, `≥ 90`, category values, `(other)`, `(missing)`. */
export function binLabels(bins: BinCounts): string[] {
  const spec = bins.spec;
  const labels = spec.kind === 'categorical'
    ? [...spec.categories.map((c) => JSON.stringify(c)), '(other)']
    : spec.edges.length === 0
      ? ['(all)']
      : [`< ${fmt(spec.edges[0] as number)}`, ...spec.edges.slice(1).map((e, i) => `[${fmt(spec.edges[i] as number)}, ${fmt(e)})`), `≥ ${fmt(spec.edges.at(-1) as number)}`];
  return [...labels, '(missing)'];
}

/** Counts with the missing bin last. */
export function binVector(bins: BinCounts): number[] {
  return [...bins.counts, bins.missing];
}

function proportions(counts: readonly number[]): number[] {
  const total = counts.reduce((s, x) => s + x, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

/** PSI = Σ (q − p)·ln(q / p) with both proportions floored at ε; also each bin's term. */
export function psi(reference: readonly number[], current: readonly number[], epsilon: number = DRIFT_DEFAULTS.epsilon): { value: number; terms: number[] } {
  const p = proportions(reference);
  const q = proportions(current);
  const terms = p.map((pi, i) => {
    const a = Math.max(pi, epsilon);
    const b = Math.max(q[i] ?? 0, epsilon);
    return (b - a) * Math.log(b / a);
  });
  return { value: terms.reduce((s, x) => s + x, 0), terms };
}

/** Jensen–Shannon distance (square root of the divergence, base 2: between 0 and 1). */
export function jensenShannonDistance(reference: readonly number[], current: readonly number[]): number {
  const p = proportions(reference);
  const q = proportions(current);
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] ?? 0;
    const b = q[i] ?? 0;
    const m = (a + b) / 2;
    if (a > 0) js += 0.5 * a * Math.log2(a / m);
    if (b > 0) js += 0.5 * b * Math.log2(b / m);
  }
  return Math.sqrt(Math.max(0, js));
}

/** KS statistic from two binned distributions of the non-missing values (a lower bound of the raw D). */
function binnedKs(reference: readonly number[], current: readonly number[]): number {
  const p = proportions(reference);
  const q = proportions(current);
  let fa = 0;
  let fb = 0;
  let d = 0;
  for (let i = 0; i < p.length; i++) {
    fa += p[i] ?? 0;
    fb += q[i] ?? 0;
    d = Math.max(d, Math.abs(fa - fb));
  }
  return d;
}

/**
 * Drift of one column, or `null` when it cannot be tested (no bins, a timestamp, bins that
 * differ). `ks` is the raw-value KS statistic with its sample sizes, from `ksStatistics`.
 */
export function columnDrift(
  reference: ColumnProfile, current: ColumnProfile, options: DriftOptions = {}, ks?: { d: number; n: number; m: number },
): FeatureDrift | null {
  const o = { ...DRIFT_DEFAULTS, ...options };
  if (reference.kind === 'timestamp' || !reference.bins || !current.bins) return null;
  if (JSON.stringify(reference.bins.spec) !== JSON.stringify(current.bins.spec)) return null;
  const ref = binVector(reference.bins);
  const cur = binVector(current.bins);
  const { value: psiValue, terms } = psi(ref, cur, o.epsilon);
  const js = jensenShannonDistance(ref, cur);
  const labels = binLabels(reference.bins);
  const p = proportions(ref);
  const q = proportions(cur);
  const topBins = terms.map((t, i) => ({ bin: labels[i] as string, reference: p[i] as number, current: q[i] as number, contribution: t }))
    .filter((b) => b.contribution > 0)
    .sort((a, b) => b.contribution - a.contribution).slice(0, o.topBins);
  const small = Math.min(reference.count, current.count) < o.smallSample;
  if (small) {
    if (reference.bins.spec.kind === 'numeric') {
      const stat = ks ?? { d: binnedKs(reference.bins.counts, current.bins.counts), n: reference.count - reference.bins.missing, m: current.count - current.bins.missing };
      const pValue = ksPValue(stat.d, stat.n, stat.m);
      const drifted = pValue < o.pValue;
      return { metric: 'ks', value: stat.d, pValue, psi: psiValue, jsDistance: js, topBins, severity: drifted ? 'alert' : 'ok', drifted };
    }
    const test = chiSquareTest(ref, cur);
    const drifted = test.pValue < o.pValue;
    return { metric: 'chi2', value: test.statistic, pValue: test.pValue, psi: psiValue, jsDistance: js, topBins, severity: drifted ? 'alert' : 'ok', drifted };
  }
  const severity = psiValue >= o.psiAlert ? 'alert' : psiValue >= o.psiWarn ? 'warn' : 'ok';
  return { metric: 'psi', value: psiValue, psi: psiValue, jsDistance: js, topBins, severity, drifted: severity === 'alert' };
}

/** Drift of every column both profiles share, and the dataset verdict (≥ 50% of tested features drifted). */
export function profileDrift(
  reference: DatasetProfile, current: DatasetProfile, options: DriftOptions = {}, ks: Readonly<Record<string, { d: number; n: number; m: number }>> = {},
): { features: Map<string, FeatureDrift>; dataset: DatasetDrift } {
  const o = { ...DRIFT_DEFAULTS, ...options };
  const byName = new Map(current.columns.map((c) => [c.name, c]));
  const features = new Map<string, FeatureDrift>();
  for (const ref of reference.columns) {
    const cur = byName.get(ref.name);
    if (!cur || cur.type !== ref.type) continue;
    const d = columnDrift(ref, cur, o, ks[ref.name]);
    if (d) features.set(ref.name, d);
  }
  const driftedFeatures = [...features].filter(([, d]) => d.drifted).map(([name]) => name);
  const share = features.size === 0 ? 0 : driftedFeatures.length / features.size;
  return { features, dataset: { drifted: features.size > 0 && share >= o.datasetShare, share, tested: features.size, driftedFeatures } };
}
