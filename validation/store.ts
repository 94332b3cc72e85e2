/**
 * @module validation/store
 * Profiles kept in the registry as keyed records (`profiles/<name>`), so a reference survives
 * between runs without a JSON file to carry around: `larder profile X --save NAME` writes one,
 * `validate --reference NAME` and `drift --reference NAME` read it back. Each record also keeps
 * the row counts of the profiles saved under that name before (the last
 * {@link PROFILE_HISTORY}), which feed the "row count vs history" check.
 */
import { larderError } from '../errors.ts';
import type { ResolvedConfig } from '../featurestore/config.ts';
import { openFileRegistry, type DefinitionRegistry } from '../registry/index.ts';
import type { DatasetProfile } from './profile-types.ts';

/** How many earlier row counts a saved profile remembers. */
export const PROFILE_HISTORY = 50;

/** Profile names: like source and view names, so they fit a record key and a CLI argument. */
export const PROFILE_NAME = /^[a-z][a-z0-9_]*$/;

export interface SavedProfile {
  readonly name: string;
  readonly savedAt: string;
  readonly profile: DatasetProfile;
  /** Row counts of this and the earlier profiles saved under the name, oldest first. */
  readonly history: readonly { readonly savedAt: string; readonly rows: number }[];
}

const profileKey = (name: string): string => `profiles/${name}`;

function checkName(name: string): void {
  if (!PROFILE_NAME.test(name)) throw larderError('LARDER_E_USAGE', { reason: `profile name ${JSON.stringify(name)} must match [a-z][a-z0-9_]*` });
}

/** The registry a project's config names (nothing is written until a record is). */
export function registryOf(config: ResolvedConfig): DefinitionRegistry {
  return openFileRegistry({ dir: config.registry.path, project: config.project });
}

/**
 * Saves (or replaces) the profile called `name`, appending its row count to the name's history.
 * @example await saveProfile(registry, 'trips_reference', await profileRelation(session, relation));
 */
export async function saveProfile(registry: DefinitionRegistry, name: string, profile: DatasetProfile, at: Date = new Date()): Promise<SavedProfile> {
  checkName(name);
  const savedAt = at.toISOString();
  return registry.updateRecord<SavedProfile>(profileKey(name), (old) => ({
    name, savedAt, profile,
    history: [...(old?.history ?? []), { savedAt, rows: profile.rows }].slice(-PROFILE_HISTORY),
  }));
}

/** The profile saved as `name`, or `undefined`. */
export async function loadProfile(registry: DefinitionRegistry, name: string): Promise<SavedProfile | undefined> {
  checkName(name);
  const saved = await registry.getRecord<SavedProfile>(profileKey(name));
  if (saved !== undefined && (saved.profile?.version !== 1 || !Array.isArray(saved.profile.columns))) {
    throw larderError('LARDER_E_REGISTRY_CORRUPT', { path: `records/${profileKey(name)}`, reason: 'it does not hold a version 1 profile' });
  }
  return saved;
}
