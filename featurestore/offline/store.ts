/**
 * @module offline/store
 * The `OfflineStore` contract: point-in-time training datasets, source schema checks and
 * fingerprints, and content hashes of written datasets. It imports no driver; the DuckDB
 * implementation lives in `duckdb-store.ts` (DESIGN §2, §4, §5).
 */
import type { Table } from 'apache-arrow';
import type { BatchSourceDef, FeatureViewDef, PushSourceDef } from '../define/definitions.ts';
import type { DefinitionIssue, ProjectDefinitions } from '../define/project.ts';
import type { FeatureSelection } from '../define/selection.ts';

/**
 * The entity rows of a dataset request: join keys, a timestamp column and any other columns
 * (labels), which pass through unchanged and in order.
 * - a string: a Parquet/CSV path or glob (relative to the project folder, or absolute), or a
 *   DuckDB query when it starts with `SELECT`, `WITH`, `FROM` or `(`;
 * - `{ path }` or `{ sql }` to say which explicitly;
 * - an Arrow table, or an array of plain row objects (loaded into DuckDB column-wise).
 */
export type EntityInput =
  | string
  | { readonly path: string }
  | { readonly sql: string }
  | Table
  | readonly Record<string, unknown>[];

export interface HistoricalRequest {
  readonly project: ProjectDefinitions;
  readonly selection: FeatureSelection;
  readonly entities: EntityInput;
  /** The entity rows' time column; default `event_timestamp`. */
  readonly timestampColumn?: string;
  /** Aborting interrupts the running query; the job then rejects with `LARDER_E_ABORTED`. */
  readonly signal?: AbortSignal;
}

/** A point-in-time dataset, built when one of the `to*` methods is called (each call runs it again). */
export interface RetrievalJob {
  /** The generated point-in-time SQL, readable; on-demand features are computed after it in JS. */
  sql(): string;
  toArrow(): Promise<Table>;
  /** Rows as plain JS values: numbers (int64 too), strings, booleans, `Date`s, arrays, `null`. For small results. */
  toRows(): Promise<Record<string, unknown>[]>;
  /** Writes Parquet atomically (temp file + rename) and returns the rows' content hash. */
  toParquet(path: string): Promise<{ rows: number; contentHash: string }>;
}

export interface SourceColumn {
  readonly name: string;
  /** DuckDB's type text, e.g. `BIGINT`, `TIMESTAMP WITH TIME ZONE`, `FLOAT[]`. */
  readonly type: string;
}

/** What a dataset manifest records about a source, to tell whether it changed. */
export interface SourceFingerprint {
  readonly source: string;
  /** File sources: every matching file, sorted by path (relative to the project when inside it). */
  readonly files?: readonly { readonly path: string; readonly size: number; readonly mtimeMs: number }[];
  /** SQL sources: the query text (the files it reads are not tracked). */
  readonly query?: string;
}

/** What {@link OfflineStore.pullLatest} reads. */
export interface PullRequest {
  readonly project: ProjectDefinitions;
  readonly view: FeatureViewDef;
  /** Inclusive lower bound of event time; null for all history. */
  readonly start: Date | null;
  /** Inclusive upper bound of event time (and of created time): the `T` of the pick. */
  readonly end: Date;
  /**
   * Incremental runs: rows created after this instant qualify whatever their event time
   * (late arrivals). Ignored for sources without a createdTimestamp.
   */
  readonly createdAfter?: Date;
  /**
   * Every candidate row of the pick (same filter: keys, event and created time not null, in range),
   * not one per entity: for a consumer that keeps the latest itself (last-write-wins online),
   * spared DuckDB's per-entity aggregation. Ignored by aggregation views.
   */
  readonly candidates?: boolean;
  /** Rows per yielded batch (default 50 000; DuckDB's 2048-row chunks are gathered up to it). */
  readonly batchRows?: number;
  /** Rows in the first batch (default `batchRows`): a consumer that decides from the first rows how to go on gets them sooner. */
  readonly firstBatchRows?: number;
  readonly signal?: AbortSignal;
}

/**
 * A batch of pulled rows, column by column. A column is a plain array, or a `Float64Array` when
 * all its values in the batch are non-null numbers (numeric and epoch-ms columns usually are):
 * either way `column[i]` is row i's plain JS value.
 */
export interface PulledBatch {
  readonly length: number;
  /** The view's join key names, over its entities in declared order. */
  readonly keyNames: readonly string[];
  /** `keys[k][i]`: key `keyNames[k]` of row i (numbers, strings, booleans, Dates). */
  readonly keys: readonly ArrayLike<unknown>[];
  /** Event time of each row, epoch ms. */
  readonly eventTs: ArrayLike<number>;
  /** Created time of each row, epoch ms; null when the source has no createdTimestamp. */
  readonly createdTs: ArrayLike<number> | null;
  /** `features[f][i]`: feature f (the view's declared order) of row i, as plain JS values. */
  readonly features: readonly ArrayLike<unknown>[];
}

export interface OfflineStore {
  /** Plans a point-in-time join (DESIGN §4); nothing runs until a `to*` method is called. */
  getHistoricalFeatures(request: HistoricalRequest): RetrievalJob;
  /** The columns of a batch source, as DuckDB reads them. */
  describeSource(source: BatchSourceDef): Promise<SourceColumn[]>;
  /**
   * apply's schema check: every view's source is readable; its timestamp and createdTimestamp
   * columns exist and hold timestamps; its join keys exist; each feature column exists and
   * the declared dtype can hold the source type. One issue per problem, naming view, column
   * and both types.
   */
  checkSchemas(project: ProjectDefinitions): Promise<DefinitionIssue[]>;
  fingerprintSource(source: BatchSourceDef): Promise<SourceFingerprint>;
  /**
   * Appends validated rows of a push source as one new Parquet file under the project
   * (`.larder/push/<source>/`), atomically (temp file + rename); returns its path.
   */
  appendPushed(source: PushSourceDef, rows: readonly Record<string, unknown>[], signal?: AbortSignal): Promise<string>;
  /** Content hash of a Parquet file's rows, order-sensitive, the same as `toParquet` returned. */
  contentHashOf(parquetPath: string): Promise<{ rows: number; contentHash: string }>;
  /**
   * Materialization's pull (pull.ts): per entity, the latest row of a view with
   * `start <= event_ts <= end` (and `created_ts <= end`) — or with `candidates`, every row that
   * qualifies — streamed in batches; the session is closed when iteration ends or stops early.
   */
  pullLatest(request: PullRequest): AsyncIterable<PulledBatch>;
  /** How many rows `pullLatest` would yield (one per entity, or the candidates), for progress. */
  countLatest(request: PullRequest): Promise<number>;
  close(): Promise<void>;
}
