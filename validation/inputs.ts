/**
 * @module validation/inputs
 * What the CLI's X and Y name: a Parquet or CSV file (or glob) read in place, a profile saved
 * by `larder profile --out` (JSON), which stands in for its data as a reference, or the name of
 * a batch source or feature view of the project (read through its source's relation; a view
 * brings its features' declared `.expect(...)` and its source's event-time column).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { larderError, reasonOf } from '../errors.ts';
import { loadProject } from '../featurestore/load.ts';
import { sourceRelation } from '../featurestore/offline/sources.ts';
import { quoteIdent } from '../featurestore/offline/sql.ts';
import type { Expectations } from '../featurestore/define/dtypes.ts';
import { expectationsOf } from './expectations-of.ts';
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
  throw larderError('LARDER_E_USAGE', { reason: `${flag} ${arg}: expected a .parquet or .csv file (or a glob), a profile .json, or a source or feature view name` });
}

export interface ResolvedInput {
  readonly input: DataInput | DatasetProfile;
  readonly expectations?: Record<string, Expectations>;
  readonly eventTimestamp?: string;
}

/** Names look like `[a-z][a-z0-9_]*`; anything else is a path. */
const NAME = /^[a-z][a-z0-9_]*$/;

/** Like {@link resolveDataArg}, and a bare name is looked up among the project's sources and views. */
export async function resolveInput(arg: string, projectDir: string, flag: string): Promise<ResolvedInput> {
  if (!NAME.test(arg)) return { input: resolveDataArg(arg, projectDir, flag) };
  const { project } = await loadProject(projectDir);
  const view = project.views.get(arg);
  if (view) {
    const source = view.source;
    const relation = sourceRelation(source, projectDir);
    // An aggregation view's features are computed, not columns: profile its source as it is.
    const columns = view.aggregations ? null : [...new Set([source.timestamp, ...Object.keys(view.features)])];
    const input: DataInput = { relation: columns ? `(SELECT ${columns.map(quoteIdent).join(', ')} FROM ${relation})` : relation };
    return { input, expectations: view.aggregations ? {} : expectationsOf(view.features), eventTimestamp: source.timestamp };
  }
  const source = project.sources.get(arg);
  if (source && source.type !== 'request') {
    return { input: { relation: sourceRelation(source, projectDir) }, expectations: source.type === 'push' ? expectationsOf(source.schema) : {}, eventTimestamp: source.timestamp };
  }
  throw larderError('LARDER_E_USAGE', { reason: `${flag} ${arg}: no batch source or feature view of that name in ${projectDir}` });
}

export function isProfile(value: DataInput | DatasetProfile): value is DatasetProfile {
  return (value as DatasetProfile).version === 1 && Array.isArray((value as DatasetProfile).columns);
}
