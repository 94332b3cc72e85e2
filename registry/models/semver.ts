/**
 * @module registry/models/semver
 * Model versions are `major.minor.patch`. The registry bumps minor for a new artifact with the
 * same input signature and major when the inputs change (names, order, types or shapes), since
 * a caller built for the old inputs cannot feed the new model.
 */
import type { OnnxValueInfo } from './onnx.ts';

export const SEMVER = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

export type Semver = readonly [major: number, minor: number, patch: number];

export function parseSemver(text: string): Semver | undefined {
  const m = SEMVER.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareSemver(a: Semver, b: Semver): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** A stable text of the input signature: equal texts mean a caller can feed either model. */
export function signatureKey(inputs: readonly OnnxValueInfo[]): string {
  return JSON.stringify(inputs.map((i) => [i.name, i.type, i.shape]));
}

export type VersionBump = 'initial' | 'minor' | 'major';

/**
 * The version after `previous`: 1.0.0 first, then a minor bump, or a major bump when the input
 * signature changed.
 * @example nextVersion('1.4.0', true) // { version: '2.0.0', bump: 'major' }
 */
export function nextVersion(previous: string | undefined, inputsChanged: boolean): { version: string; bump: VersionBump } {
  const parsed = previous === undefined ? undefined : parseSemver(previous);
  if (parsed === undefined) return { version: '1.0.0', bump: 'initial' };
  const [major, minor] = parsed;
  return inputsChanged ? { version: `${major + 1}.0.0`, bump: 'major' } : { version: `${major}.${minor + 1}.0`, bump: 'minor' };
}
