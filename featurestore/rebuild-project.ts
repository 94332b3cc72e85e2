/**
 * @module rebuild-project
 * The definitions a dataset was built with, as recorded in its manifest: batch objects come
 * from the registry's specs at the recorded versions, on-demand views from the current code
 * (only when their code is unchanged).
 */
import { larderError } from '../errors.ts';
import { hashSpec, type DatasetManifest } from '../registry/index.ts';
import type { EntityDef, FeatureViewDef, OnDemandViewDef, SourceDef } from './define/definitions.ts';
import type { ProjectDefinitions } from './define/project.ts';
import { specOf } from './define/spec.ts';
import type { DatasetContext } from './dataset-context.ts';
import { entityFromSpec, sourceFromSpec, viewFromSpec } from './from-spec.ts';

export async function rebuildProject(ctx: DatasetContext, manifest: DatasetManifest): Promise<ProjectDefinitions> {
  const recorded = manifest.views as { kind: string; name: string; version: number; hash: string }[];
  const specOfRecorded = async (kind: string, name: string) => {
    const entry = recorded.find((r) => r.kind === kind && r.name === name);
    if (!entry) throw larderError('LARDER_E_REBUILD_MISMATCH', { id: manifest.id, reason: `the manifest does not record ${kind} ${name}` });
    const object = await ctx.registry.object(kind, name, entry.version);
    if (!object || object.hash !== entry.hash) {
      throw larderError('LARDER_E_REBUILD_MISMATCH', { id: manifest.id, reason: `the registry no longer holds ${kind} ${name} v${entry.version}` });
    }
    return object.spec;
  };
  const entities = new Map<string, EntityDef>();
  const sources = new Map<string, SourceDef>();
  const views = new Map<string, FeatureViewDef>();
  const onDemandViews = new Map<string, OnDemandViewDef>();
  for (const r of recorded.filter((x) => x.kind === 'entity')) entities.set(r.name, entityFromSpec(await specOfRecorded('entity', r.name)));
  for (const r of recorded.filter((x) => x.kind === 'source')) {
    const spec = await specOfRecorded('source', r.name);
    sources.set(r.name, sourceFromSpec(spec));
  }
  for (const r of recorded.filter((x) => x.kind === 'featureView')) {
    const spec = await specOfRecorded('featureView', r.name);
    const source = sources.get(String(spec.source));
    const ents = (spec.entities as string[]).map((n) => entities.get(n));
    if (!source || source.type === 'request' || ents.some((e) => e === undefined)) {
      throw larderError('LARDER_E_REBUILD_MISMATCH', { id: manifest.id, reason: `view ${r.name} refers to objects the manifest does not record` });
    }
    views.set(r.name, viewFromSpec(spec, source, ents as EntityDef[]));
  }
  for (const r of recorded.filter((x) => x.kind === 'onDemandView')) {
    const current = ctx.project.onDemandViews.get(r.name);
    if (!current || hashSpec(specOf(current)) !== r.hash) {
      throw larderError('LARDER_E_REBUILD_MISMATCH', { id: manifest.id, reason: `on-demand view ${r.name} changed since the dataset was built; its code cannot be restored` });
    }
    // Inputs of a recorded on-demand view refer to current objects; swap in the recorded batch views.
    onDemandViews.set(r.name, current);
  }
  return { entities, sources, views, onDemandViews, services: ctx.project.services };
}
