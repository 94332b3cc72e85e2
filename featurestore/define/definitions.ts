/**
 * @module definitions
 * The definition builders users call in their feature modules: `entity`, `fileSource`,
 * `sqlSource`, `pushSource`, `requestSource`, `featureView`, `onDemandView`, `featureService`. Each returns a
 * frozen, branded object. Builders never throw: problems (bad names, unknown references, …) are
 * collected all at once by `validateProject` when the project is loaded.
 */
import type { AggregationFeatures, Aggregations } from './aggregations.ts';
import { brand, type Branded } from './brand.ts';
import type { DType, Infer, InferFields } from './dtypes.ts';

type DTypes = Record<string, DType>;

export interface EntityDef<K extends DTypes = DTypes> extends Branded<'entity'> {
  readonly joinKeys: K;
  readonly description?: string;
  /** Phantom: the key columns' row type. */
  readonly $inferKeys: { [P in keyof K]: Infer<K[P]> };
}

interface TimedSource {
  /** Column holding each row's event time. */
  readonly timestamp: string;
  /** Column holding when each row became known; rows are invisible before it. */
  readonly createdTimestamp?: string;
  readonly description?: string;
}

export interface FileSourceDef extends Branded<'source'>, TimedSource {
  readonly type: 'file';
  /** A file or glob, relative to the project folder. */
  readonly path: string;
  readonly format: 'parquet' | 'csv';
}

export interface SqlSourceDef extends Branded<'source'>, TimedSource {
  readonly type: 'sql';
  /** A DuckDB query; its columns are the source's columns. */
  readonly query: string;
}

export interface RequestSourceDef<S extends DTypes = DTypes> extends Branded<'source'> {
  readonly type: 'request';
  readonly schema: S;
  readonly description?: string;
  readonly $inferRow: { [P in keyof S]: Infer<S[P]> };
}

/**
 * Rows pushed by the application (`store.push`, `larder push`) for real-time features: written
 * online to the views on this source, and/or appended as Parquet under the project's
 * `.larder/push/<name>/`, which the offline store reads together with the optional `batchPath`.
 */
export interface PushSourceDef<S extends DTypes = DTypes> extends Branded<'source'>, TimedSource {
  readonly type: 'push';
  /** Every column of a pushed row: join keys, features and the timestamp column(s). */
  readonly schema: S;
  /** Historical rows (a Parquet file or glob, relative to the project) read offline with the pushed ones. */
  readonly batchPath?: string;
  readonly $inferRow: { [P in keyof S]: Infer<S[P]> | null };
}

/** What a feature view reads from: files, a query, or pushed rows. */
export type BatchSourceDef = FileSourceDef | SqlSourceDef | PushSourceDef;
export type SourceDef = BatchSourceDef | RequestSourceDef;

export interface FeatureViewProjection<N extends string = string> {
  readonly kind: 'projection';
  readonly view: FeatureViewDef | OnDemandViewDef;
  readonly features: readonly N[];
}

export interface FeatureViewDef<F extends DTypes = DTypes, E extends readonly (EntityDef | string)[] = readonly (EntityDef | string)[]> extends Branded<'featureView'> {
  readonly entities: E;
  readonly source: BatchSourceDef;
  /** How long a value stays valid after its event time (`'2d'`); none means forever. */
  readonly ttl?: string;
  /** The view's features; for an aggregation view, one per aggregation with its output dtype. */
  readonly features: F;
  /** Windowed aggregations (`agg.*`) computing the features from the source's events. */
  readonly aggregations?: Aggregations;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** A subset of the view's features, for a feature service. */
  select<N extends keyof F & string>(...names: N[]): FeatureViewProjection<N>;
  /** Phantom: the view's feature values (each may be null). */
  readonly $inferRow: InferFields<F>;
}

export type OnDemandInput = RequestSourceDef | FeatureViewDef;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type InputRow<I> = I extends RequestSourceDef<infer S> ? { [P in keyof S]: Infer<S[P]> }
  : I extends FeatureViewDef<infer F> ? InferFields<F> : never;
/** The row an on-demand `compute` receives: request fields plus the input views' features. */
export type OnDemandRow<I extends readonly OnDemandInput[]> = UnionToIntersection<InputRow<I[number]>>;

export interface OnDemandViewDef<F extends DTypes = DTypes, I extends readonly OnDemandInput[] = readonly OnDemandInput[]> extends Branded<'onDemandView'> {
  readonly inputs: I;
  readonly features: F;
  /** Returns every feature (null where there is no value). */
  readonly compute: (row: OnDemandRow<I>) => InferFields<F>;
  readonly description?: string;
  select<N extends keyof F & string>(...names: N[]): FeatureViewProjection<N>;
  readonly $inferRow: InferFields<F>;
}

/** What a feature service lists: a whole view, a projection, or a `'view:feature'` string. */
export type ServiceItem = FeatureViewDef | OnDemandViewDef | FeatureViewProjection | string;

export interface FeatureServiceDef extends Branded<'featureService'> {
  readonly features: readonly ServiceItem[];
  readonly description?: string;
}

export type AnyDefinition = EntityDef | SourceDef | FeatureViewDef | OnDemandViewDef | FeatureServiceDef;

type WithoutUndefined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } &
  { [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined> };

/** Drops keys whose value is undefined, so optional fields are absent rather than undefined. */
function optional<T extends object>(value: T): WithoutUndefined<T> {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value as WithoutUndefined<T>;
}

/**
 * Declares an entity: what features are keyed by.
 * @example export const route = entity('route', { joinKeys: { origin: t.string(), dest: t.string() } });
 */
export function entity<K extends DTypes>(name: string, options: { joinKeys: K; description?: string }): EntityDef<K> {
  return brand('entity', optional({ kind: 'entity' as const, name, joinKeys: options.joinKeys, description: options.description })) as EntityDef<K>;
}

/**
 * A Parquet or CSV file (or glob) read in place by DuckDB.
 * @example fileSource('flights', { path: 'data/flights.parquet', timestamp: 'dep_time' })
 */
export function fileSource(name: string, options: {
  path: string; timestamp: string; createdTimestamp?: string; format?: 'parquet' | 'csv'; description?: string;
}): FileSourceDef {
  const format = options.format ?? (/\.csv(\.gz)?$/i.test(options.path) ? 'csv' : 'parquet');
  return brand('source', optional({
    kind: 'source' as const, type: 'file' as const, name, path: options.path, format,
    timestamp: options.timestamp, createdTimestamp: options.createdTimestamp, description: options.description,
  }));
}

/**
 * A DuckDB query used as a source.
 * @example sqlSource('daily', { query: "SELECT * FROM read_parquet('data/*.parquet')", timestamp: 'day' })
 */
export function sqlSource(name: string, options: {
  query: string; timestamp: string; createdTimestamp?: string; description?: string;
}): SqlSourceDef {
  return brand('source', optional({
    kind: 'source' as const, type: 'sql' as const, name, query: options.query,
    timestamp: options.timestamp, createdTimestamp: options.createdTimestamp, description: options.description,
  }));
}

/**
 * A source the application pushes rows to (real-time features).
 * @example pushSource('trip_events', { schema: { driver_id: t.int64(), speed: t.float64(), ts: t.timestamp() }, timestamp: 'ts' })
 */
export function pushSource<S extends DTypes>(name: string, options: {
  schema: S; timestamp: string; createdTimestamp?: string; batchPath?: string; description?: string;
}): PushSourceDef<S> {
  return brand('source', optional({
    kind: 'source' as const, type: 'push' as const, name, schema: options.schema, timestamp: options.timestamp,
    createdTimestamp: options.createdTimestamp, batchPath: options.batchPath, description: options.description,
  })) as PushSourceDef<S>;
}

/** Fields that arrive with each request (online) or each entity row (offline). */
export function requestSource<S extends DTypes>(name: string, options: { schema: S; description?: string }): RequestSourceDef<S> {
  return brand('source', optional({
    kind: 'source' as const, type: 'request' as const, name, schema: options.schema, description: options.description,
  })) as RequestSourceDef<S>;
}

/** Adds `select` bound to the view itself, so `const { select } = view` works too. */
function addSelect(view: object): void {
  const select = (...names: string[]): FeatureViewProjection =>
    Object.freeze({ kind: 'projection' as const, view: view as FeatureViewDef, features: Object.freeze([...names]) });
  Object.defineProperty(view, 'select', { value: select, enumerable: false });
}

interface ViewOptions<E> {
  entities: E; source: BatchSourceDef; ttl?: string; description?: string; tags?: Record<string, string>;
}

/**
 * Features read from a batch source, keyed by entities, valid for `ttl` after their event time;
 * or, with `aggregations`, windowed aggregates of the source's events (see `agg`), computed as
 * of each entity row's time offline and as of the materialization time online.
 * @example featureView('origin_daily', { entities: [origin], source, ttl: '2d', features: { avg_delay: t.float64() } })
 * @example featureView('origin_delays', { entities: [origin], source: flights, aggregations: { avg_delay_7d: agg.avg('delay', '7d', { lag: '1d' }) } })
 */
export function featureView<F extends DTypes, const E extends readonly (EntityDef | string)[]>(name: string, options: ViewOptions<E> & { features: F }): FeatureViewDef<F, E>;
export function featureView<A extends Aggregations, const E extends readonly (EntityDef | string)[]>(name: string, options: ViewOptions<E> & { aggregations: A }): FeatureViewDef<AggregationFeatures<A>, E>;
export function featureView(name: string, options: ViewOptions<readonly (EntityDef | string)[]> & { features?: DTypes; aggregations?: Aggregations }): FeatureViewDef {
  const aggregations = options.aggregations;
  // Both given is reported by validation (features_and_aggregations); the declared features stay as they are.
  const features = options.features ?? (aggregations && typeof aggregations === 'object'
    ? Object.fromEntries(Object.entries(aggregations).map(([k, a]) => [k, a?.dtype])) as DTypes
    : options.features);
  const def = optional({
    kind: 'featureView' as const, name, entities: options.entities, source: options.source, ttl: options.ttl,
    features, aggregations: aggregations === undefined ? undefined : Object.freeze({ ...aggregations }),
    description: options.description, tags: options.tags,
  });
  addSelect(def);
  return brand('featureView', def) as unknown as FeatureViewDef;
}

/**
 * Features computed by a TypeScript function from request fields and other views' features;
 * the same function runs offline on every dataset row and online at read time.
 */
export function onDemandView<F extends DTypes, const I extends readonly OnDemandInput[]>(name: string, options: {
  inputs: I; features: F; compute: (row: OnDemandRow<I>) => InferFields<F>; description?: string;
}): OnDemandViewDef<F, I> {
  const def = optional({
    kind: 'onDemandView' as const, name, inputs: options.inputs, features: options.features,
    compute: options.compute, description: options.description,
  });
  addSelect(def);
  return brand('onDemandView', def) as unknown as OnDemandViewDef<F, I>;
}

/**
 * A named set of features a model consumes.
 * @example featureService('delay_model', { features: [originDelays, originDaily.select('avg_delay')] })
 */
export function featureService(name: string, options: { features: readonly ServiceItem[]; description?: string }): FeatureServiceDef {
  return brand('featureService', optional({
    kind: 'featureService' as const, name, features: options.features, description: options.description,
  }));
}
