/**
 * @module selection
 * Resolves what a request asks for (`features: ['view:feature', …]` or `service: 'name'`) into
 * the views to read and the output columns, in request order, checking names and clashes.
 */
import { larderError } from '../../errors.ts';
import type { FeatureViewDef, OnDemandViewDef, ServiceItem } from './definitions.ts';
import type { DType } from './dtypes.ts';
import type { ProjectDefinitions } from './project.ts';

export interface OutputColumn {
  /** `view:feature` */
  readonly ref: string;
  readonly view: string;
  readonly feature: string;
  /** The output column name: `feature`, or `view__feature` with fullFeatureNames. */
  readonly column: string;
  readonly dtype: DType;
}

export interface FeatureSelection {
  /** Output columns in request order. */
  readonly columns: readonly OutputColumn[];
  /** Batch views to read, each with the features needed from it (requested or used by on-demand views). */
  readonly views: readonly { readonly view: FeatureViewDef; readonly features: readonly string[] }[];
  /** On-demand views to compute, in dependency order. */
  readonly onDemand: readonly OnDemandViewDef[];
  readonly fullFeatureNames: boolean;
}

export interface SelectionRequest {
  readonly features?: readonly (ServiceItem | string)[];
  readonly service?: string;
  readonly fullFeatureNames?: boolean;
}

type AnyView = FeatureViewDef | OnDemandViewDef;

/** The project's view of that name: the one the request reads, even if `item` holds an older object. */
function viewNamed(name: string, project: ProjectDefinitions): AnyView {
  const view = project.views.get(name) ?? project.onDemandViews.get(name);
  if (!view) throw larderError('LARDER_E_UNKNOWN_VIEW', { name });
  return view;
}

function refsOf(item: ServiceItem, project: ProjectDefinitions): { view: AnyView; features: readonly string[] } {
  if (typeof item === 'string') {
    const colon = item.indexOf(':');
    if (colon < 0) {
      // A bare name is a whole view; when it is not one, the likelier slip is a feature without its view.
      const view = project.views.get(item) ?? project.onDemandViews.get(item);
      if (!view) throw larderError('LARDER_E_UNKNOWN_FEATURE', { ref: `${JSON.stringify(item)} (write view:feature)` });
      return { view, features: Object.keys(view.features) };
    }
    const view = viewNamed(item.slice(0, colon), project);
    const feature = item.slice(colon + 1);
    if (!Object.hasOwn(view.features, feature)) throw larderError('LARDER_E_UNKNOWN_FEATURE', { ref: item });
    return { view, features: [feature] };
  }
  const view = viewNamed(item.kind === 'projection' ? item.view.name : item.name, project);
  if (item.kind !== 'projection') return { view, features: Object.keys(view.features) };
  for (const f of item.features) if (!Object.hasOwn(view.features, f)) throw larderError('LARDER_E_UNKNOWN_FEATURE', { ref: `${view.name}:${f}` });
  return { view, features: item.features };
}

/** Resolves a request's features against the project. Throws `LARDER_E_UNKNOWN_*` or `LARDER_E_FEATURE_NAME_CLASH`. */
export function selectFeatures(project: ProjectDefinitions, request: SelectionRequest): FeatureSelection {
  let items: readonly (ServiceItem | string)[];
  if (request.service !== undefined && request.features !== undefined && request.features.length > 0) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'name a feature service or a list of features, not both' });
  }
  if (request.service !== undefined) {
    const service = project.services.get(request.service);
    if (!service) throw larderError('LARDER_E_UNKNOWN_SERVICE', { name: request.service });
    items = service.features;
  } else if (request.features && request.features.length > 0) {
    items = request.features;
  } else {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'name a feature service or at least one feature (view:feature)' });
  }
  const full = request.fullFeatureNames ?? false;
  const columns: OutputColumn[] = [];
  const byColumn = new Map<string, string>();
  const seenRefs = new Set<string>();
  for (const item of items) {
    const { view, features } = refsOf(item, project);
    for (const feature of features) {
      const ref = `${view.name}:${feature}`;
      if (seenRefs.has(ref)) continue;
      seenRefs.add(ref);
      const column = full ? `${view.name}__${feature}` : feature;
      const first = byColumn.get(column);
      if (first !== undefined) throw larderError('LARDER_E_FEATURE_NAME_CLASH', { column, first, second: ref });
      byColumn.set(column, ref);
      columns.push({ ref, view: view.name, feature, column, dtype: view.features[feature] as DType });
    }
  }

  const needed = new Map<string, Set<string>>();
  const onDemand: OnDemandViewDef[] = [];
  const need = (view: FeatureViewDef, features: Iterable<string>): void => {
    const set = needed.get(view.name) ?? new Set<string>();
    for (const f of features) set.add(f);
    needed.set(view.name, set);
  };
  for (const col of columns) {
    const batch = project.views.get(col.view);
    if (batch) { need(batch, [col.feature]); continue; }
    const odfv = project.onDemandViews.get(col.view);
    if (odfv && !onDemand.includes(odfv)) {
      onDemand.push(odfv);
      // By name: a rebuilt project swaps in recorded views that the inputs' objects may predate.
      for (const input of odfv.inputs) {
        if (input.kind !== 'featureView') continue;
        const view = project.views.get(input.name);
        if (!view) throw larderError('LARDER_E_UNKNOWN_VIEW', { name: input.name });
        need(view, Object.keys(view.features));
      }
    }
  }
  const views = [...needed].map(([name, features]) => {
    const view = project.views.get(name) as FeatureViewDef;
    return { view, features: Object.keys(view.features).filter((f) => features.has(f)) };
  });
  return { columns, views, onDemand, fullFeatureNames: full };
}
