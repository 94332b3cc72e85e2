/**
 * @module applied
 * The check that work reads definitions as applied: datasets record the versions they used and
 * materialization writes only applied views, so both refuse a view (or its source or entities)
 * that is missing from the registry or changed since the last apply.
 */
import { larderError } from '../errors.ts';
import { hashSpec, type DatasetManifest, type DefinitionRegistry } from '../registry/index.ts';
import type { AnyDefinition, FeatureViewDef, OnDemandViewDef } from './define/definitions.ts';
import type { ProjectDefinitions } from './define/project.ts';
import { specOf } from './define/spec.ts';

/**
 * Views, their sources and entities, and on-demand views, each with the version the registry
 * holds. Throws `LARDER_E_NOT_APPLIED` for the first one not applied as it is now.
 */
export async function appliedObjects(
  registry: DefinitionRegistry, project: ProjectDefinitions,
  views: readonly FeatureViewDef[], onDemand: readonly OnDemandViewDef[] = [],
): Promise<DatasetManifest['views']> {
  const defs: AnyDefinition[] = [];
  const add = (d: AnyDefinition): void => { if (!defs.includes(d)) defs.push(d); };
  for (const view of views) {
    add(view);
    add(view.source);
    for (const e of view.entities) { const ent = typeof e === 'string' ? project.entities.get(e) : e; if (ent) add(ent); }
  }
  for (const odfv of onDemand) add(odfv);
  const out: DatasetManifest['views'] = [];
  for (const def of defs) {
    const spec = specOf(def);
    const hash = hashSpec(spec);
    const applied = await registry.object(def.kind, def.name);
    if (!applied || applied.hash !== hash) {
      const what = `${def.kind} ${def.name}${applied ? ' (changed since the last apply)' : ''}`;
      throw larderError('LARDER_E_NOT_APPLIED', { what });
    }
    out.push({ kind: def.kind, name: def.name, version: applied.version, hash } as DatasetManifest['views'][number]);
  }
  return out;
}
