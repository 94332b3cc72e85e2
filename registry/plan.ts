/**
 * @module registry/plan
 * Computes a {@link Plan}: what applying a set of specs would add, change and remove, compared
 * with the applied state. Pure: no I/O, so the facade and tests can call it directly.
 */
import { createHash } from 'node:crypto';
import { larderError } from '../errors.ts';
import { canonicalJson, type DefinitionSpec } from '../featurestore/define/spec.ts';
import { diffSpecs } from './diff.ts';
import type { Plan, PlanEntry, RegistryObject } from './types.ts';

/** Dependency order: what a later kind refers to comes first. */
export const KIND_ORDER: readonly string[] = ['entity', 'source', 'featureView', 'onDemandView', 'featureService'];

/** sha256 (hex) of the spec's canonical JSON: its content address. */
export function hashSpec(spec: DefinitionSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}

export function objectKey(kind: string, name: string): string {
  return `${kind}:${name}`;
}

function kindRank(kind: string): number {
  const rank = KIND_ORDER.indexOf(kind);
  return rank === -1 ? KIND_ORDER.length : rank;
}

/** Orders by kind (known kinds in dependency order, then others alphabetically), then by name. */
export function compareKindName(a: { kind: string; name: string }, b: { kind: string; name: string }): number {
  return kindRank(a.kind) - kindRank(b.kind) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Refuses specs that cannot be registered: missing kind/name, or the same kind and name twice. */
export function checkSpecs(specs: readonly DefinitionSpec[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  specs.forEach((spec, i) => {
    if (typeof spec.kind !== 'string' || spec.kind === '' || typeof spec.name !== 'string' || spec.name === '') {
      problems.push(`spec #${i} has no kind or name`);
      return;
    }
    const key = objectKey(spec.kind, spec.name);
    if (seen.has(key)) problems.push(`${key} is given twice`);
    seen.add(key);
  });
  if (problems.length > 0) {
    throw larderError('LARDER_E_INVALID_DEFINITION', { count: problems.length, summary: problems.join('; ') }, { details: { problems } });
  }
}

export interface PlanBase {
  project: string;
  serial: number;
  objects: readonly RegistryObject[];
  /** The highest version ever given to each `kind:name`, removed objects included. */
  versions: Readonly<Record<string, number>>;
}

/** Compares `specs` with the applied objects. */
export function computePlan(base: PlanBase, specs: readonly DefinitionSpec[]): Plan {
  checkSpecs(specs);
  const applied = new Map(base.objects.map((o) => [objectKey(o.kind, o.name), o]));
  const entries: PlanEntry[] = [];
  for (const spec of specs) {
    const key = objectKey(spec.kind, spec.name);
    const hash = hashSpec(spec);
    const current = applied.get(key);
    applied.delete(key);
    const { kind, name } = spec;
    if (!current) {
      entries.push({ action: 'add', kind, name, toVersion: (base.versions[key] ?? 0) + 1, hash });
    } else if (current.hash === hash) {
      entries.push({ action: 'unchanged', kind, name, fromVersion: current.version, toVersion: current.version, hash });
    } else {
      const toVersion = Math.max(current.version, base.versions[key] ?? 0) + 1;
      entries.push({ action: 'change', kind, name, fromVersion: current.version, toVersion, hash, changes: diffSpecs(current.spec, spec) });
    }
  }
  for (const removed of applied.values()) {
    entries.push({ action: 'remove', kind: removed.kind, name: removed.name, fromVersion: removed.version, hash: removed.hash });
  }
  entries.sort(compareKindName);
  const counts = { add: 0, change: 0, remove: 0, unchanged: 0 };
  for (const entry of entries) counts[entry.action] += 1;
  return {
    project: base.project,
    baseSerial: base.serial,
    entries,
    hasChanges: counts.add + counts.change + counts.remove > 0,
    counts,
  };
}
