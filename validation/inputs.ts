/**
 * @module validation/inputs
 * What the CLI's X and Y name: a Parquet or CSV file (or glob) read in place, or a profile
 * saved by `larder profile --out` (JSON), which stands in for its data as a reference.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { larderError, reasonOf } from '../errors.ts';
import type { DataInput } from './profile.ts';
import type { DatasetProfile } from './profile-types.ts';

export function resolveDataArg(arg: string, projectDir: string, flag: string): DataInput | DatasetProfile {
  const path = isAbsolute(arg) ? arg : resolve(projectDir, arg);
  if (/\.json$/i.test(path)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw larderError('LARDER_E_IO', { path, reason: reasonOf(error) }, { cause: error });
    }
    const p = parsed as DatasetProfile;
    if (p?.version !== 1 || !Array.isArray(p.columns)) throw larderError('LARDER_E_USAGE', { reason: `${flag} ${arg} is JSON but not a profile saved by larder profile --out` });
    return p;
  }
  if (/\.(parquet|csv|tsv)(\.gz|\.zst)?$/i.test(path) || /[*?]/.test(path)) return { path };
  throw larderError('LARDER_E_USAGE', { reason: `${flag} ${arg}: expected a .parquet or .csv file (or a glob), or a profile .json` });
}

export function isProfile(value: DataInput | DatasetProfile): value is DatasetProfile {
  return (value as DatasetProfile).version === 1 && Array.isArray((value as DatasetProfile).columns);
}
