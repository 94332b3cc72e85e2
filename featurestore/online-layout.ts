/**
 * @module online-layout
 * How a feature view is stored online: its `OnlineViewLayout` (features in declared order, their
 * dtypes, the ttl) and the online key of an entity row. Materialization, push and online reads all
 * go through these two functions, so they agree on layouts and keys.
 */
import type { EntityDef, FeatureViewDef } from './define/definitions.ts';
import { dtypeSpec } from './define/dtypes.ts';
import { parseDuration } from './define/duration.ts';
import { viewEntities } from './define/project.ts';
import { encodeEntityKey } from './online/entity-key.ts';
import type { OnlineViewLayout } from './online/store.ts';

// Keyed by the view object and then the project: the store caches its value codec per layout
// object, so one view must always give the same layout object.
const layouts = new WeakMap<FeatureViewDef, Map<string, OnlineViewLayout>>();
const joinKeyLists = new WeakMap<FeatureViewDef, { entities: ReadonlyMap<string, EntityDef>; keys: readonly string[] }>();

/**
 * The online layout of a view, memoized per view object (reuse it: stores cache codecs per layout).
 * @example await online.write(onlineLayout('flights', originDaily), rows);
 */
export function onlineLayout(project: string, view: FeatureViewDef): OnlineViewLayout {
  let byProject = layouts.get(view);
  if (!byProject) { byProject = new Map(); layouts.set(view, byProject); }
  let layout = byProject.get(project);
  if (!layout) {
    layout = Object.freeze({
      project,
      view: view.name,
      features: Object.freeze(Object.entries(view.features).map(([name, dtype]) => Object.freeze({ name, dtype: dtypeSpec(dtype) }))),
      ttlMs: view.ttl === undefined ? null : parseDuration(view.ttl),
    });
    byProject.set(project, layout);
  }
  return layout;
}

/** The join key column names of a view, over all its entities, in declared order. */
export function viewJoinKeys(view: FeatureViewDef, entities: ReadonlyMap<string, EntityDef>): readonly string[] {
  const cached = joinKeyLists.get(view);
  if (cached && cached.entities === entities) return cached.keys;
  const keys = Object.freeze(viewEntities(view, entities).flatMap((e) => Object.keys(e.joinKeys)));
  joinKeyLists.set(view, { entities, keys });
  return keys;
}

/**
 * The online key of `row` for `view`, or null when one of the view's join keys is missing or null.
 * @throws LARDER_E_INVALID_ENTITIES when a join key is not a scalar or not finite
 * @example entityKeyOf(originDaily, project.entities, { origin: 'SFO' }) // 'SFO'
 */
export function entityKeyOf(view: FeatureViewDef, entities: ReadonlyMap<string, EntityDef>, row: Record<string, unknown>): string | null {
  const keys = viewJoinKeys(view, entities);
  for (const key of keys) if (row[key] === null || row[key] === undefined) return null;
  return encodeEntityKey(keys, row);
}
