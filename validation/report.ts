/**
 * @module validation/report
 * The JSON report of DESIGN §6 (`larder validate --json`, `larder drift --json`, the stage's
 * result) and its readable text form.
 */
import { binLabels, binVector, type DatasetDrift, type FeatureDrift } from './drift.ts';
import { issue, type IssueSeverity, type ValidationIssue } from './issues.ts';
import type { NullHistory } from './nulls.ts';
import { nullRate, type ColumnProfile, type DatasetProfile } from './profile-types.ts';

export type FeatureSeverity = 'ok' | 'warn' | 'alert' | 'error';

export interface FeatureReport {
  readonly name: string;
  readonly type: string;
  readonly nullRate: number;
  readonly drift?: Pick<FeatureDrift, 'metric' | 'value' | 'pValue' | 'psi' | 'jsDistance' | 'topBins'>;
  readonly severity: FeatureSeverity;
  /** Bin proportions, reference and current, for charts. */
  readonly distribution?: { readonly labels: string[]; readonly reference: number[] | null; readonly current: number[] };
}

export interface ValidationReport {
  readonly ok: boolean;
  readonly rows: { readonly reference: number | null; readonly current: number };
  readonly features: FeatureReport[];
  readonly issues: ValidationIssue[];
  readonly datasetDrift: DatasetDrift | null;
  readonly nullHistory?: NullHistory;
}

/** A `DRIFT` issue per drifting feature: `alertSeverity` (default error) at alert level, a warning at warn level. */
export function driftIssues(drift: ReadonlyMap<string, FeatureDrift>, alertSeverity: IssueSeverity = 'error'): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const [name, d] of drift) {
    if (d.severity === 'ok') continue;
    const moved = d.topBins.map((b) => `${b.bin} ${(b.reference * 100).toFixed(1)}% → ${(b.current * 100).toFixed(1)}%`).join(', ');
    const stat = d.metric === 'psi' ? `PSI ${d.value.toFixed(3)}` : `${d.metric} ${d.value.toFixed(3)}, p = ${d.pValue?.toExponential(2)}`;
    out.push(issue('DRIFT', name, d.severity === 'alert' ? alertSeverity : 'warn', `${name} drifted (${stat}); moved most: ${moved}`,
      { metric: d.metric, value: d.value, pValue: d.pValue ?? null, psi: d.psi, jsDistance: d.jsDistance },
      d.metric === 'psi' ? { psiBelow: 0.1 } : { pValueAtLeast: 0.05 }, d.topBins.map((b) => b.bin)));
  }
  return out;
}

const proportions = (v: number[]): number[] => {
  const total = v.reduce((s, x) => s + x, 0);
  return v.map((x) => (total === 0 ? 0 : x / total));
};

function distributionOf(ref: ColumnProfile | undefined, cur: ColumnProfile): FeatureReport['distribution'] {
  if (!cur.bins) return undefined;
  const sameBins = ref?.bins && JSON.stringify(ref.bins.spec) === JSON.stringify(cur.bins.spec);
  return { labels: binLabels(cur.bins), reference: sameBins && ref?.bins ? proportions(binVector(ref.bins)) : null, current: proportions(binVector(cur.bins)) };
}

export function buildReport(input: {
  reference: DatasetProfile | null; current: DatasetProfile; issues: ValidationIssue[];
  drift?: { features: ReadonlyMap<string, FeatureDrift>; dataset: DatasetDrift } | null; nullHistory?: NullHistory;
}): ValidationReport {
  const refCols = new Map((input.reference?.columns ?? []).map((c) => [c.name, c]));
  const features: FeatureReport[] = input.current.columns.map((c) => {
    const own = input.issues.filter((i) => i.feature === c.name);
    const d = input.drift?.features.get(c.name);
    const severity: FeatureSeverity = own.some((i) => i.severity === 'error') ? 'error'
      : d?.severity === 'alert' ? 'alert'
        : own.length > 0 || d?.severity === 'warn' ? 'warn' : 'ok';
    const distribution = distributionOf(refCols.get(c.name), c);
    return {
      name: c.name, type: c.type, nullRate: nullRate(c), severity,
      ...(d ? { drift: { metric: d.metric, value: d.value, ...(d.pValue === undefined ? {} : { pValue: d.pValue }), psi: d.psi, jsDistance: d.jsDistance, topBins: d.topBins } } : {}),
      ...(distribution ? { distribution } : {}),
    };
  });
  for (const r of input.reference?.columns ?? []) {
    if (!input.current.columns.some((c) => c.name === r.name)) features.push({ name: r.name, type: r.type, nullRate: 1, severity: 'error' });
  }
  return {
    ok: !input.issues.some((i) => i.severity === 'error'),
    rows: { reference: input.reference?.rows ?? null, current: input.current.rows },
    features,
    issues: input.issues,
    datasetDrift: input.drift?.dataset ?? null,
    ...(input.nullHistory ? { nullHistory: input.nullHistory } : {}),
  };
}

const MARK: Record<FeatureSeverity, string> = { ok: '✓', warn: '!', alert: '▲', error: '✗' };

/** The report as lines for a terminal. */
export function formatReport(report: ValidationReport): string {
  const lines = [
    `${report.ok ? 'OK' : 'FAILED'}: ${report.rows.current} rows${report.rows.reference === null ? '' : ` (reference ${report.rows.reference})`}, ` +
      `${report.issues.filter((i) => i.severity === 'error').length} error(s), ${report.issues.filter((i) => i.severity === 'warn').length} warning(s)`,
  ];
  if (report.datasetDrift) {
    const d = report.datasetDrift;
    lines.push(`dataset drift: ${d.drifted ? 'YES' : 'no'} (${d.driftedFeatures.length}/${d.tested} features${d.driftedFeatures.length ? `: ${d.driftedFeatures.join(', ')}` : ''})`);
  }
  lines.push('', 'features:');
  const width = Math.max(8, ...report.features.map((f) => f.name.length));
  for (const f of report.features) {
    const drift = f.drift ? `${f.drift.metric} ${f.drift.value.toFixed(3)}${f.drift.pValue === undefined ? '' : ` p=${f.drift.pValue.toExponential(1)}`} js ${f.drift.jsDistance.toFixed(3)}` : '';
    lines.push(`  ${MARK[f.severity]} ${f.name.padEnd(width)} ${f.type.padEnd(12)} null ${(f.nullRate * 100).toFixed(2).padStart(6)}%  ${drift}`.trimEnd());
  }
  if (report.issues.length > 0) {
    lines.push('', 'issues:');
    for (const i of report.issues) {
      const samples = i.sampleValues.length > 0 ? `  e.g. ${i.sampleValues.slice(0, 3).map((v) => JSON.stringify(v)).join(', ')}` : '';
      lines.push(`  ${i.severity === 'error' ? '✗' : '!'} [${i.code}] ${i.message}${samples}`);
    }
  }
  return lines.join('\n');
}
