/**
 * @module commands/model-output
 * How a model version is printed: the `--json` shape of `larder train` and `larder models show`
 * (DESIGN §3.4) and its readable form.
 */
import type { ResolvedLineage } from '../../registry/models/lineage.ts';
import type { ModelVersionView } from '../../registry/models/types.ts';

export interface ModelJson {
  model: string;
  version: string;
  status: string;
  aliases: readonly string[];
  metrics: Readonly<Record<string, number>>;
  dataset: string | null;
  featureService: string | null;
  inputs: readonly { name: string; type: string; shape: unknown }[];
  outputs: readonly { name: string; type: string; shape: unknown }[];
  features: readonly { name: string; dtype: string }[];
  task: string | null;
  artifact: { path: string; sha256: string; size: number };
  registered: { at: string; by: string; bump: string; previous: string | null };
  lineage: ResolvedLineage;
}

export function modelJson(v: ModelVersionView, lineage: ResolvedLineage, artifactPath: string): ModelJson {
  return {
    model: v.name, version: v.version, status: v.status, aliases: v.aliases,
    metrics: v.lineage.metrics ?? {},
    dataset: v.lineage.dataset ?? null,
    featureService: v.lineage.featureService ?? null,
    inputs: v.signature.inputs, outputs: v.signature.outputs,
    features: v.serving?.features ?? [],
    task: v.serving?.task ?? null,
    artifact: { path: artifactPath, sha256: v.sha256, size: v.size },
    registered: { at: v.registeredAt, by: v.registeredBy, bump: v.bump, previous: v.previous },
    lineage,
  };
}

function metric(value: number | undefined): string {
  return value === undefined ? '—' : Number.isInteger(value) ? String(value) : value.toFixed(4);
}

/** A version as a few readable lines. */
export function formatModel(m: ModelJson): string {
  const lines = [
    `${m.model}@${m.version}  ${m.status}${m.aliases.length ? `  [${m.aliases.join(', ')}]` : ''}`,
    `  registered ${m.registered.at} by ${m.registered.by} (${m.registered.bump}${m.registered.previous ? ` after ${m.registered.previous}` : ''})`,
    `  artifact   ${m.artifact.path} (${m.artifact.size} bytes, sha256 ${m.artifact.sha256.slice(0, 16)}…)`,
  ];
  if (m.featureService) {
    const fs = m.lineage.featureService;
    const drift = fs && fs.version !== null && fs.current !== null && fs.version !== fs.current ? ` (trained on v${fs.version}; v${fs.current} is applied now)` : fs?.version != null ? ` v${fs.version}` : '';
    lines.push(`  service    ${m.featureService}${drift}, ${m.features.length} features, task ${m.task ?? '?'}`);
  }
  const metrics = Object.entries(m.metrics).map(([k, v]) => `${k} ${metric(v)}`).join(', ');
  if (metrics) lines.push(`  metrics    ${metrics}`);
  const ds = m.lineage.dataset;
  if (ds) lines.push(`  dataset    ${ds.id}${ds.missing ? ` (${ds.missing})` : `: ${ds.rows} rows, ${ds.views?.length ?? 0} definitions, ${ds.sources?.length ?? 0} sources`}`);
  if (m.lineage.label) lines.push(`  label      ${m.lineage.label}`);
  if (m.lineage.gitCommit) lines.push(`  git        ${m.lineage.gitCommit}`);
  const params = Object.entries(m.lineage.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
  if (params) lines.push(`  params     ${params}`);
  return lines.join('\n');
}
