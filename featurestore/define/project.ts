/**
 * @module project
 * Turns the exports of a project's feature modules into a resolved set of definitions, and
 * checks it, listing every problem at once rather than stopping at the first.
 */
import { checkAggregations } from './aggregations-check.ts';
import { isDefinition } from './brand.ts';
import type {
  AnyDefinition, BatchSourceDef, EntityDef, FeatureServiceDef, FeatureViewDef, OnDemandViewDef, PushSourceDef, SourceDef,
} from './definitions.ts';
import { isDType, type DType } from './dtypes.ts';
import { parseDuration } from './duration.ts';

export const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;

export interface DefinitionIssue {
  readonly code: string;
  /** Where: `featureView:origin_daily.features.avg_delay`. */
  readonly path: string;
  readonly message: string;
  readonly severity: 'error' | 'warn';
}

export interface ProjectDefinitions {
  readonly entities: ReadonlyMap<string, EntityDef>;
  readonly sources: ReadonlyMap<string, SourceDef>;
  readonly views: ReadonlyMap<string, FeatureViewDef>;
  readonly onDemandViews: ReadonlyMap<string, OnDemandViewDef>;
  readonly services: ReadonlyMap<string, FeatureServiceDef>;
}

export interface ProjectResult {
  readonly project: ProjectDefinitions;
  readonly issues: readonly DefinitionIssue[];
}

/** Finds every definition among module exports, and those they reference. */
export function collectDefinitions(exportsList: readonly unknown[]): AnyDefinition[] {
  const seen = new Set<unknown>();
  const out: AnyDefinition[] = [];
  const visit = (value: unknown): void => {
    if (!isDefinition(value) || seen.has(value)) return;
    seen.add(value);
    out.push(value as AnyDefinition);
    const def = value as AnyDefinition;
    if (def.kind === 'featureView') { def.entities.forEach(visit); visit(def.source); }
    if (def.kind === 'onDemandView') def.inputs.forEach(visit);
    if (def.kind === 'featureService') {
      for (const item of def.features) visit(typeof item === 'object' && item.kind === 'projection' ? item.view : item);
    }
  };
  for (const moduleExports of exportsList) {
    if (typeof moduleExports !== 'object' || moduleExports === null) continue;
    for (const value of Object.values(moduleExports)) visit(value);
  }
  return out;
}

/** Resolves names and checks the definitions; `issues` lists every problem found. */
export function buildProject(definitions: readonly AnyDefinition[]): ProjectResult {
  const issues: DefinitionIssue[] = [];
  const error = (code: string, path: string, message: string): void => {
    issues.push({ code, path, message, severity: 'error' });
  };
  const entities = new Map<string, EntityDef>();
  const sources = new Map<string, SourceDef>();
  const views = new Map<string, FeatureViewDef>();
  const onDemandViews = new Map<string, OnDemandViewDef>();
  const services = new Map<string, FeatureServiceDef>();

  const checkName = (name: unknown, path: string, what: string): void => {
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      error('bad_name', path, `${what} name ${JSON.stringify(name)} must match [a-z][a-z0-9_]*`);
    }
  };
  const register = <D extends AnyDefinition>(map: Map<string, D>, def: D, label: string): void => {
    const existing = map.get(def.name);
    if (existing === def) return; // listed twice: one definition, reported once
    checkName(def.name, `${def.kind}:${def.name}`, label);
    if (existing) {
      error('duplicate_name', `${def.kind}:${def.name}`, `two different ${label}s are named ${def.name}`);
      return;
    }
    map.set(def.name, def);
  };

  for (const def of definitions) {
    switch (def.kind) {
      case 'entity': register(entities, def, 'entity'); break;
      case 'source': register(sources, def, 'source'); break;
      case 'featureView': register(views, def, 'feature view'); break;
      case 'onDemandView': register(onDemandViews, def, 'on-demand view'); break;
      case 'featureService': register(services, def, 'feature service'); break;
    }
  }
  for (const [name, view] of onDemandViews) {
    if (views.has(name) && views.get(name) !== (view as unknown)) {
      error('duplicate_name', `onDemandView:${name}`, `a feature view and an on-demand view are both named ${name}`);
    }
  }

  for (const entity of entities.values()) checkEntity(entity, error, checkName);
  for (const source of sources.values()) checkSource(source, error, checkName);
  for (const view of views.values()) checkView(view, entities, error, checkName);
  for (const view of onDemandViews.values()) checkOnDemand(view, views, sources, error, checkName);
  for (const service of services.values()) checkService(service, views, onDemandViews, error);

  return { project: { entities, sources, views, onDemandViews, services }, issues };
}

type Report = (code: string, path: string, message: string) => void;
type NameCheck = (name: unknown, path: string, what: string) => void;

/** Lists from plain JavaScript may be anything; iterate only real arrays. */
function listOf<T>(value: readonly T[] | undefined): readonly T[] {
  return Array.isArray(value) ? value : [];
}

function checkEntity(entity: EntityDef, error: Report, checkName: NameCheck): void {
  const path = `entity:${entity.name}`;
  const keys = Object.entries(entity.joinKeys ?? {});
  if (keys.length === 0) error('no_join_keys', path, `entity ${entity.name} declares no join keys`);
  for (const [key, dtype] of keys) {
    checkName(key, `${path}.joinKeys.${key}`, 'join key');
    if (!isDType(dtype)) error('bad_dtype', `${path}.joinKeys.${key}`, `join key ${key} needs a dtype such as t.string()`);
    else if (dtype.kind === 'array' || dtype.kind === 'float32' || dtype.kind === 'float64') {
      error('bad_join_key_type', `${path}.joinKeys.${key}`, `join key ${key} cannot be ${dtype.kind}: use a string, integer, bool or timestamp`);
    }
  }
}

function checkSource(source: SourceDef, error: Report, checkName: NameCheck): void {
  const path = `source:${source.name}`;
  if (source.type === 'request') {
    if (Object.keys(source.schema ?? {}).length === 0) error('empty_schema', path, `request source ${source.name} declares no fields`);
    for (const [field, dtype] of Object.entries(source.schema ?? {})) {
      checkName(field, `${path}.schema.${field}`, 'request field');
      if (!isDType(dtype)) error('bad_dtype', `${path}.schema.${field}`, `field ${field} needs a dtype such as t.timestamp()`);
    }
    return;
  }
  if (typeof source.timestamp !== 'string' || source.timestamp.length === 0) {
    error('no_timestamp', path, `source ${source.name} must name its timestamp column`);
  }
  if (source.type === 'file' && (typeof source.path !== 'string' || source.path.length === 0)) {
    error('no_path', path, `file source ${source.name} needs a path`);
  }
  if (source.type === 'file' && source.format !== 'parquet' && source.format !== 'csv') {
    error('bad_format', path, `file source ${source.name} has format ${String(source.format)}: use parquet or csv`);
  }
  if (source.type === 'sql' && (typeof source.query !== 'string' || source.query.trim().length === 0)) {
    error('no_query', path, `SQL source ${source.name} needs a query`);
  }
  if (source.type === 'push') checkPushSource(source, path, error, checkName);
}

function checkPushSource(source: PushSourceDef, path: string, error: Report, checkName: NameCheck): void {
  const schema = source.schema ?? {};
  if (Object.keys(schema).length === 0) error('empty_schema', path, `push source ${source.name} declares no columns`);
  for (const [field, dtype] of Object.entries(schema)) {
    checkName(field, `${path}.schema.${field}`, 'column');
    if (!isDType(dtype)) error('bad_dtype', `${path}.schema.${field}`, `column ${field} needs a dtype such as t.float64()`);
  }
  for (const [option, column] of [['timestamp', source.timestamp], ['createdTimestamp', source.createdTimestamp]] as const) {
    if (typeof column !== 'string' || column.length === 0) continue;
    if (schema[column]?.kind !== 'timestamp') {
      error('bad_push_timestamp', `${path}.${option}`, `push source ${source.name}: ${option} column ${column} must be in its schema as t.timestamp()`);
    }
  }
  if (source.batchPath !== undefined && (typeof source.batchPath !== 'string' || source.batchPath.length === 0)) {
    error('no_path', `${path}.batchPath`, `push source ${source.name}: batchPath must be a file or glob`);
  }
}

/** The entities of a view, resolved by object or by name. */
export function viewEntities(view: FeatureViewDef, entities: ReadonlyMap<string, EntityDef>): EntityDef[] {
  return view.entities.flatMap((e) => {
    const found = typeof e === 'string' ? entities.get(e) : e;
    return found ? [found] : [];
  });
}

function checkFeatures(features: Record<string, DType> | undefined, path: string, error: Report, checkName: NameCheck): void {
  const entries = Object.entries(features ?? {});
  if (entries.length === 0) error('no_features', path, `${path} declares no features`);
  for (const [name, dtype] of entries) {
    checkName(name, `${path}.features.${name}`, 'feature');
    if (!isDType(dtype)) error('bad_dtype', `${path}.features.${name}`, `feature ${name} needs a dtype such as t.float64()`);
    else checkDType(dtype, `${path}.features.${name}`, error);
  }
}

const DEFAULT_OK: Record<string, (v: unknown) => boolean> = {
  int64: (v) => Number.isSafeInteger(v),
  int32: (v) => Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31,
  float64: (v) => typeof v === 'number',
  float32: (v) => typeof v === 'number',
  string: (v) => typeof v === 'string',
  bool: (v) => typeof v === 'boolean',
  timestamp: (v) => v instanceof Date && !Number.isNaN(v.getTime()),
};

function defaultFits(dtype: DType, value: unknown): boolean {
  if (dtype.kind !== 'array') return DEFAULT_OK[dtype.kind]?.(value) ?? false;
  return Array.isArray(value) && value.every((v) => (dtype.element ? defaultFits(dtype.element, v) : true));
}

/** What TypeScript cannot see: an int64 default of 1.5, min above max, a regex that does not compile. */
function checkDType(dtype: DType, path: string, error: Report): void {
  if (dtype.defaultValue !== undefined && !defaultFits(dtype, dtype.defaultValue)) {
    error('bad_default', path, `default ${JSON.stringify(dtype.defaultValue)} is not a ${dtype.kind} value`);
  }
  const rules = dtype.expectations;
  if (rules === undefined) return;
  const { min, max, maxNullRate, regex, oneOf } = rules;
  for (const [key, value] of [['min', min], ['max', max]] as const) {
    if (value !== undefined && (typeof value !== 'number' || Number.isNaN(value))) error('bad_expectation', path, `expect.${key} must be a number`);
  }
  if (typeof min === 'number' && typeof max === 'number' && min > max) error('bad_expectation', path, `expect.min ${min} is above expect.max ${max}`);
  if (maxNullRate !== undefined && !(typeof maxNullRate === 'number' && maxNullRate >= 0 && maxNullRate <= 1)) {
    error('bad_expectation', path, `expect.maxNullRate must be between 0 and 1, not ${String(maxNullRate)}`);
  }
  if (oneOf !== undefined && (!Array.isArray(oneOf) || oneOf.length === 0)) error('bad_expectation', path, 'expect.oneOf must list at least one value');
  if (regex !== undefined) {
    try {
      new RegExp(regex, 'u');
    } catch (e) {
      error('bad_expectation', path, `expect.regex does not compile: ${(e as Error).message}`);
    }
  }
}

function checkView(view: FeatureViewDef, entities: ReadonlyMap<string, EntityDef>, error: Report, checkName: NameCheck): void {
  const path = `featureView:${view.name}`;
  checkFeatures(view.features, path, error, checkName);
  if (view.aggregations !== undefined) checkAggregations(view, path, error);
  if (!Array.isArray(view.entities) || view.entities.length === 0) error('no_entities', path, `feature view ${view.name} needs at least one entity`);
  const keyOwner = new Map<string, string>();
  for (const e of listOf(view.entities)) {
    const resolved = typeof e === 'string' ? entities.get(e) : isDefinition(e, 'entity') ? e : undefined;
    if (!resolved) {
      const what = typeof e === 'string' ? e : String((e as { name?: unknown } | null)?.name ?? e);
      error('unknown_entity', `${path}.entities`, `feature view ${view.name} refers to unknown entity ${what}`);
      continue;
    }
    for (const key of Object.keys(resolved.joinKeys ?? {})) {
      const other = keyOwner.get(key);
      if (other !== undefined) error('join_key_clash', `${path}.entities`, `entities ${other} and ${resolved.name} both use join key ${key}`);
      keyOwner.set(key, resolved.name);
      if (Object.hasOwn(view.features ?? {}, key)) {
        error('feature_is_join_key', `${path}.features.${key}`, `feature ${key} of ${view.name} has the name of a join key of entity ${resolved.name}`);
      }
    }
  }
  if (!view.source || view.source.kind !== 'source' || (view.source as { type: string }).type === 'request') {
    error('bad_source', `${path}.source`, `feature view ${view.name} needs a file, SQL or push source`);
  } else {
    const source: BatchSourceDef = view.source;
    if (Object.hasOwn(view.features ?? {}, source.timestamp)) {
      error('feature_is_timestamp', `${path}.features.${source.timestamp}`, `feature ${source.timestamp} of ${view.name} is the source's timestamp column`);
    }
    // A push source's schema is all its rows hold: a view can only use columns it declares.
    if (source.type === 'push') {
      // An aggregation view's features are expressions, not columns; DuckDB checks them at apply.
      for (const column of [...keyOwner.keys(), ...(view.aggregations === undefined ? Object.keys(view.features ?? {}) : [])]) {
        if (!Object.hasOwn(source.schema ?? {}, column)) {
          error('not_in_push_schema', `${path}.source`, `feature view ${view.name} uses column ${column}, which push source ${source.name} does not declare`);
        }
      }
    }
  }
  if (view.ttl !== undefined) {
    try {
      if (parseDuration(view.ttl) <= 0) error('bad_ttl', `${path}.ttl`, `ttl of ${view.name} must be positive`);
    } catch (e) {
      error('bad_ttl', `${path}.ttl`, (e as Error).message);
    }
  }
}

function checkOnDemand(
  view: OnDemandViewDef, views: ReadonlyMap<string, FeatureViewDef>, sources: ReadonlyMap<string, SourceDef>,
  error: Report, checkName: NameCheck,
): void {
  const path = `onDemandView:${view.name}`;
  checkFeatures(view.features, path, error, checkName);
  if (typeof view.compute !== 'function') error('no_compute', path, `on-demand view ${view.name} needs a compute function`);
  if (!Array.isArray(view.inputs) || view.inputs.length === 0) error('no_inputs', path, `on-demand view ${view.name} needs at least one input`);
  // compute gets one flat row, so two inputs offering the same field name would hide one another.
  const fieldOwner = new Map<string, string>();
  for (const input of listOf(view.inputs)) {
    const ok = (input?.kind === 'source' && input.type === 'request' && sources.get(input.name) === input) ||
      (input?.kind === 'featureView' && views.get(input.name) === input);
    if (!ok) {
      error('bad_input', `${path}.inputs`, `on-demand view ${view.name} takes request sources and feature views as inputs, not ${String(input?.name ?? input)}`);
      continue;
    }
    const label = `${input.kind === 'source' ? 'request source' : 'feature view'} ${input.name}`;
    for (const field of Object.keys((input.kind === 'source' ? input.schema : input.features) ?? {})) {
      const other = fieldOwner.get(field);
      if (other !== undefined) error('input_field_clash', `${path}.inputs`, `${other} and ${label} both give compute a field ${field}`);
      fieldOwner.set(field, label);
    }
  }
}

function checkService(
  service: FeatureServiceDef, views: ReadonlyMap<string, FeatureViewDef>,
  onDemandViews: ReadonlyMap<string, OnDemandViewDef>, error: Report,
): void {
  const path = `featureService:${service.name}`;
  if (!Array.isArray(service.features) || service.features.length === 0) error('no_features', path, `feature service ${service.name} lists no features`);
  for (const item of listOf(service.features)) {
    let viewName: string;
    let names: readonly string[];
    if (typeof item === 'string') {
      // Split at the first colon, as selectFeatures does.
      const colon = item.indexOf(':');
      viewName = colon < 0 ? item : item.slice(0, colon);
      names = colon < 0 ? [] : [item.slice(colon + 1)];
    } else if (
      typeof item !== 'object' || item === null ||
      (item.kind !== 'projection' && !isDefinition(item, 'featureView') && !isDefinition(item, 'onDemandView'))
    ) {
      const odd = item as unknown as { kind?: unknown; name?: unknown } | null;
      const what = typeof odd === 'object' && odd !== null ? `${String(odd.kind)} ${String(odd.name)}` : String(odd);
      error('bad_feature_ref', `${path}.features`, `feature service ${service.name} lists ${what}: use a view, view.select(...) or 'view:feature'`);
      continue;
    } else if (item.kind === 'projection') {
      viewName = item.view?.name;
      names = listOf(item.features);
      if (names.length === 0) error('no_features', `${path}.features`, `feature service ${service.name} selects no features of ${viewName}`);
    } else {
      viewName = item.name;
      names = [];
    }
    const view = views.get(viewName) ?? onDemandViews.get(viewName);
    if (!view) { error('unknown_view', `${path}.features`, `feature service ${service.name} refers to unknown view ${viewName}`); continue; }
    for (const name of names) {
      if (!Object.hasOwn(view.features ?? {}, name)) error('unknown_feature', `${path}.features`, `feature service ${service.name} refers to unknown feature ${viewName}:${name}`);
    }
  }
}
