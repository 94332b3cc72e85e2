/**
 * @module validation/html
 * A self-contained HTML page for a report (`--html FILE`): the summary, the issues, and per
 * feature a bar chart of reference vs current bin proportions and, when null tracking ran, the
 * daily null rate. Inline CSS and SVG only; no scripts, no network.
 */
import type { FeatureReport, ValidationReport } from './report.ts';

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function barChart(f: FeatureReport): string {
  const d = f.distribution;
  if (!d) return '';
  const w = 28;
  const h = 120;
  const max = Math.max(1e-9, ...d.current, ...(d.reference ?? []));
  const bars = d.labels.map((label, i) => {
    const x = 40 + i * (w * 2 + 10);
    const ref = d.reference?.[i] ?? 0;
    const cur = d.current[i] ?? 0;
    const rh = (ref / max) * h;
    const ch = (cur / max) * h;
    return `<g><title>${esc(label)}: reference ${pct(ref)}, current ${pct(cur)}</title>` +
      (d.reference ? `<rect x="${x}" y="${10 + h - rh}" width="${w}" height="${rh}" class="ref"/>` : '') +
      `<rect x="${x + w}" y="${10 + h - ch}" width="${w}" height="${ch}" class="cur"/>` +
      `<text x="${x + w}" y="${h + 26}" text-anchor="end" transform="rotate(-35 ${x + w} ${h + 26})">${esc(label.length > 14 ? `${label.slice(0, 13)}…` : label)}</text></g>`;
  }).join('');
  const width = 60 + d.labels.length * (w * 2 + 10);
  return `<svg width="${width}" height="${h + 80}" role="img" aria-label="distribution of ${esc(f.name)}">${bars}<line x1="36" y1="${h + 10}" x2="${width}" y2="${h + 10}" class="axis"/></svg>`;
}

function nullChart(report: ValidationReport, feature: string): string {
  const buckets = report.nullHistory?.buckets ?? [];
  if (buckets.length < 2) return '';
  const rates = buckets.map((b) => (b.rows === 0 ? 0 : (b.nulls[feature] ?? 0) / b.rows));
  const max = Math.max(0.01, ...rates);
  const w = 360;
  const h = 60;
  const pts = rates.map((r, i) => `${(i / (rates.length - 1)) * w + 5},${5 + h - (r / max) * h}`).join(' ');
  return `<figure><svg width="${w + 10}" height="${h + 10}" role="img" aria-label="daily null rate of ${esc(feature)}"><polyline points="${pts}" class="nulls"/></svg>` +
    `<figcaption>daily null rate, ${esc(buckets[0]?.day)} … ${esc(buckets.at(-1)?.day)}, max ${pct(Math.max(...rates))}</figcaption></figure>`;
}

export function reportHtml(report: ValidationReport, title = 'Larder validation report'): string {
  const issues = report.issues.map((i) => `<tr class="${i.severity}"><td>${i.severity}</td><td><code>${esc(i.code)}</code></td><td>${esc(i.feature ?? '—')}</td>` +
    `<td>${esc(i.message)}</td><td>${esc(i.sampleValues.slice(0, 3).map((v) => JSON.stringify(v)).join(', '))}</td></tr>`).join('');
  const features = report.features.map((f) => `<section class="feature ${f.severity}"><h3>${esc(f.name)} <small>${esc(f.type)} · ${f.severity} · null ${pct(f.nullRate)}` +
    `${f.drift ? ` · ${f.drift.metric} ${f.drift.value.toFixed(3)} · JS ${f.drift.jsDistance.toFixed(3)}` : ''}</small></h3>${barChart(f)}${nullChart(report, f.name)}</section>`).join('');
  const drift = report.datasetDrift
    ? `<p>Dataset drift: <b>${report.datasetDrift.drifted ? 'yes' : 'no'}</b> (${report.datasetDrift.driftedFeatures.length} of ${report.datasetDrift.tested} features)</p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}h1 small,h3 small{color:#666;font-weight:normal}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
tr.error td:first-child,.feature.error h3{color:#b00}tr.warn td:first-child,.feature.warn h3,.feature.alert h3{color:#a60}
.ref{fill:#9ab}.cur{fill:#e74}.axis{stroke:#999}.nulls{fill:none;stroke:#b00;stroke-width:1.5}text{font-size:10px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}</style></head><body>
<h1>${esc(title)} <small>${report.ok ? 'OK' : 'FAILED'}</small></h1>
<p>${report.rows.current} rows${report.rows.reference === null ? '' : ` · reference ${report.rows.reference} rows`}</p>${drift}
<h2>Issues (${report.issues.length})</h2>${report.issues.length ? `<table><tr><th>severity</th><th>code</th><th>feature</th><th>message</th><th>samples</th></tr>${issues}</table>` : '<p>None.</p>'}
<h2>Features</h2><p class="legend"><span style="background:#9ab"></span>reference<span style="background:#e74"></span>current</p>${features}
<script type="application/json" id="report">${JSON.stringify(report).replace(/</g, '\\u003c')}</script>
</body></html>`;
}
