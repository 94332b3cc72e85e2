/**
 * @module commands/drift
 * `larder drift --reference Y --current X`: drift only — PSI over the reference's bins
 * (KS / chi-square below 1000 rows), Jensen–Shannon distance, the bins that moved most, and
 * dataset drift. Exit code 3 when a feature drifts at alert level.
 */
import { InputResolver, isProfile } from '../../validation/inputs.ts';
import { validate } from '../../validation/stage.ts';
import type { Command, CommandContext } from '../command.ts';
import { usageError } from '../output.ts';
import { withProgress } from '../progress.ts';
import { emitReport } from './validate.ts';

const USAGE = `Usage: larder drift --reference FILE|PROFILE.json|SOURCE|VIEW|DATASET_ID|[profile:]SAVED --current FILE|SOURCE|VIEW|DATASET_ID
       [--html REPORT.html] [--project DIR] [--json]

Compares the distribution of every column of --current with --reference: PSI over the
reference's decile bins plus a missing bin (numbers) or its top values + other + missing (text,
booleans), with KS or chi-square p-values when either side has fewer than 1000 rows, the
Jensen–Shannon distance, and the bins that moved most. Dataset drift when at least half the
features drift. Exit code 3 when any feature drifts at alert level (PSI ≥ 0.25 or p < 0.05).`;

export const driftCommand: Command = {
  summary: 'compare distributions of two files, sources, views, datasets or a saved profile (PSI, KS, chi-square)',
  usage: USAGE,
  options: { current: { type: 'string' }, reference: { type: 'string' }, html: { type: 'string' } },
  async run({ io, projectDir, values }: CommandContext): Promise<number> {
    if (typeof values.current !== 'string' || typeof values.reference !== 'string') throw usageError(`--reference and --current are required\n${USAGE}`);
    const resolver = new InputResolver(projectDir);
    const current = (await resolver.resolve(values.current, '--current')).input;
    if (isProfile(current)) throw usageError('--current must be data (Parquet/CSV, a source, a view or a dataset), not a profile');
    const reference = (await resolver.resolve(values.reference, '--reference')).input;
    const full = await withProgress(io, 'comparing distributions', () => validate({ current, reference, projectDir }));
    // Only drift (and the schema problems that decide what could be compared) belongs here.
    const issues = full.issues.filter((i) => i.code === 'DRIFT' || i.code.startsWith('COLUMN_'));
    const report = { ...full, issues, ok: !issues.some((i) => i.severity === 'error') };
    return emitReport(io, projectDir, report, values.html, `Drift of ${values.current} against ${values.reference}`);
  },
};
