/**
 * @module commands/profile
 * `larder profile X`: the profile of a Parquet/CSV file, source, view or dataset, computed in
 * DuckDB; `--out` writes it as JSON and `--save NAME` keeps it in the project's registry, either
 * to use as a reference for `validate` and `drift`.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { larderError, reasonOf } from '../../errors.ts';
import { DuckDBEngine } from '../../featurestore/offline/duckdb.ts';
import { InputResolver, isProfile } from '../../validation/inputs.ts';
import { profileRelation, relationOf } from '../../validation/profile.ts';
import { nullRate, type DatasetProfile } from '../../validation/profile-types.ts';
import { PROFILE_NAME, saveProfile } from '../../validation/store.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError, type Io } from '../output.ts';
import { withProgress } from '../progress.ts';

const USAGE = `Usage: larder profile FILE|SOURCE|VIEW|DATASET_ID [--out PROFILE.json] [--save NAME] [--top-k N] [--project DIR] [--json]

Profiles a Parquet or CSV file, a batch source, a feature view or a dataset in DuckDB: per
column the row count, null / NaN / ±Inf / empty rates, min, max, mean, stddev, decile bins and
their counts, top values, approximate distinct count, and for text the lengths and encoding
signals. --out writes the profile as JSON; --save NAME keeps it in the project's registry (with
the row counts of the profiles saved as NAME before). Either can be passed as --reference to
larder validate or larder drift (a saved one by NAME, or profile:NAME).`;

function printProfile(io: Io, p: DatasetProfile): void {
  io.out(`${p.rows} rows, ${p.columns.length} columns`);
  const width = Math.max(6, ...p.columns.map((c) => c.name.length));
  for (const c of p.columns) {
    const f = c.finite;
    const sd = f && f.n > 1 ? Math.sqrt(f.m2 / (f.n - 1)) : null;
    const at = (ms: number | null | undefined): string => (ms == null ? '—' : new Date(ms).toISOString());
    const stats = f && c.kind === 'timestamp' ? `min ${at(f.min)} max ${at(f.max)}`
      : f ? `min ${f.min} max ${f.max} mean ${f.mean?.toPrecision(6)} sd ${sd?.toPrecision(6)}` : c.topK.slice(0, 3).map((t) => `${JSON.stringify(t.value)}×${t.count}`).join(' ');
    const enc = c.strings ? Object.entries(c.strings.encoding).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') : '';
    io.out(`  ${c.name.padEnd(width)} ${c.type.padEnd(12)} null ${(nullRate(c) * 100).toFixed(2).padStart(6)}%  distinct≈${c.distinct}  ${stats}${enc ? `  [${enc}]` : ''}`);
  }
}

export const profileCommand: Command = {
  summary: 'profile a Parquet/CSV file, source, view or dataset (counts, rates, bins, top values, encoding)',
  usage: USAGE,
  options: { out: { type: 'string' }, save: { type: 'string' }, 'top-k': { type: 'string' } },
  async run({ io, projectDir, values, positionals }: CommandContext): Promise<number> {
    const file = positionals[0];
    if (file === undefined) throw usageError(`give a file to profile\n${USAGE}`);
    const save = values.save;
    if (save !== undefined && (typeof save !== 'string' || !PROFILE_NAME.test(save))) throw usageError('--save NAME: the name must match [a-z][a-z0-9_]*');
    const resolver = new InputResolver(projectDir);
    const input = (await resolver.resolve(file, 'FILE')).input;
    if (isProfile(input)) throw usageError(`${file} is already a profile`);
    const topK = values['top-k'] === undefined ? undefined : Number(values['top-k']);
    if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) throw usageError('--top-k must be a whole number');
    const engine = await DuckDBEngine.open({ path: ':memory:', projectDir });
    let profile: DatasetProfile;
    try {
      profile = await withProgress(io, `profiling ${file}`, () =>
        engine.withSession((s) => profileRelation(s, relationOf(input), topK === undefined ? {} : { topK })));
    } finally {
      engine.close();
    }
    if (typeof values.out === 'string') {
      const out = resolve(projectDir, values.out);
      try { writeFileSync(out, `${JSON.stringify(profile, null, 2)}\n`); } catch (error) {
        throw larderError('LARDER_E_IO', { path: out, reason: reasonOf(error) }, { cause: error });
      }
      if (!io.json) io.err(`wrote ${out}`);
    }
    if (typeof save === 'string') {
      const saved = await saveProfile(await resolver.registry(), save, profile);
      if (!io.json) io.err(`saved as profile ${save} in the registry (${saved.history.length} saved so far)`);
    }
    if (io.json) io.out(JSON.stringify(profile, null, 2));
    else printProfile(io, profile);
    return EXIT.ok;
  },
};
