/**
 * @module commands/profile
 * `larder profile FILE`: the profile of a Parquet/CSV file, computed in DuckDB; `--out` saves
 * it as JSON to use as a reference for `validate` and `drift`.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { larderError, reasonOf } from '../../errors.ts';
import { DuckDBEngine } from '../../featurestore/offline/duckdb.ts';
import { isProfile, resolveInput } from '../../validation/inputs.ts';
import { profileRelation, relationOf } from '../../validation/profile.ts';
import { nullRate, type DatasetProfile } from '../../validation/profile-types.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError, type Io } from '../output.ts';
import { withProgress } from '../progress.ts';

const USAGE = `Usage: larder profile FILE|SOURCE|VIEW [--out PROFILE.json] [--top-k N] [--project DIR] [--json]

Profiles a Parquet or CSV file in DuckDB: per column the row count, null / NaN / ±Inf / empty
rates, min, max, mean, stddev, decile bins and their counts, top values, approximate distinct
count, and for text the lengths and encoding signals. --out writes the profile as JSON, to pass
as --reference to larder validate or larder drift.`;

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
  summary: 'profile a Parquet/CSV file (counts, rates, bins, top values, encoding)',
  usage: USAGE,
  options: { out: { type: 'string' }, 'top-k': { type: 'string' } },
  async run({ io, projectDir, values, positionals }: CommandContext): Promise<number> {
    const file = positionals[0];
    if (file === undefined) throw usageError(`give a file to profile\n${USAGE}`);
    const input = (await resolveInput(file, projectDir, 'FILE')).input;
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
    if (io.json) io.out(JSON.stringify(profile, null, 2));
    else printProfile(io, profile);
    return EXIT.ok;
  },
};
