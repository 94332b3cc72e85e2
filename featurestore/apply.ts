/**
 * @module apply
 * `plan` and `apply`: check the loaded definitions (all problems at once), check every source
 * against its real schema in DuckDB, then diff against — or record into — the registry.
 */
import { larderError } from '../errors.ts';
import type { DefinitionRegistry, Plan } from '../registry/index.ts';
import type { AnyDefinition } from './define/definitions.ts';
import type { DefinitionIssue, ProjectDefinitions } from './define/project.ts';
import { specOf, type DefinitionSpec } from './define/spec.ts';
import type { OfflineStore } from './offline/store.ts';

export interface PlanResult {
  readonly plan: Plan;
  /** Problems found in the definitions or in the sources' schemas. */
  readonly issues: readonly DefinitionIssue[];
}

export function projectSpecs(project: ProjectDefinitions): DefinitionSpec[] {
  const all: AnyDefinition[] = [
    ...project.entities.values(), ...project.sources.values(), ...project.views.values(),
    ...project.onDemandViews.values(), ...project.services.values(),
  ];
  return all.map(specOf);
}

function summarize(issues: readonly DefinitionIssue[]): string {
  const shown = issues.slice(0, 3).map((i) => i.message).join('; ');
  return issues.length > 3 ? `${shown}; and ${issues.length - 3} more` : shown;
}

/** Throws `LARDER_E_INVALID_DEFINITION` listing every definition problem. */
export function assertValidDefinitions(issues: readonly DefinitionIssue[]): void {
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) {
    throw larderError('LARDER_E_INVALID_DEFINITION', { count: errors.length, summary: summarize(errors) }, { details: errors });
  }
}

function assertValidSchemas(issues: readonly DefinitionIssue[]): void {
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) {
    throw larderError('LARDER_E_SCHEMA_MISMATCH', { count: errors.length, summary: summarize(errors) }, { details: errors });
  }
}

/** What `apply` would change, with any problems that would stop it. Writes nothing. */
export async function planProject(
  project: ProjectDefinitions, definitionIssues: readonly DefinitionIssue[],
  registry: DefinitionRegistry, offline: OfflineStore,
): Promise<PlanResult> {
  const specs = definitionIssues.some((i) => i.severity === 'error') ? [] : projectSpecs(project);
  const schemaIssues = specs.length > 0 ? await offline.checkSchemas(project) : [];
  const plan = await registry.plan(specs.length > 0 ? specs : projectSpecsLenient(project));
  return { plan, issues: [...definitionIssues, ...schemaIssues] };
}

/** Specs of whatever can be serialized, so a plan still shows while definitions have problems. */
function projectSpecsLenient(project: ProjectDefinitions): DefinitionSpec[] {
  const out: DefinitionSpec[] = [];
  for (const def of [...project.entities.values(), ...project.sources.values(), ...project.views.values(),
    ...project.onDemandViews.values(), ...project.services.values()] as AnyDefinition[]) {
    try { out.push(specOf(def)); } catch { /* shown as an issue instead */ }
  }
  return out;
}

/** Checks definitions and sources, then records the definitions, all under the registry lock. */
export async function applyProject(
  project: ProjectDefinitions, definitionIssues: readonly DefinitionIssue[],
  registry: DefinitionRegistry, offline: OfflineStore, signal?: AbortSignal,
): Promise<Plan> {
  assertValidDefinitions(definitionIssues);
  return registry.withLock(async () => {
    assertValidSchemas(await offline.checkSchemas(project));
    return registry.apply(projectSpecs(project), signal === undefined ? {} : { signal });
  });
}
