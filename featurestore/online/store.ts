/**
 * @module online/store
 * The `OnlineStore` contract: the latest value of each (entity, feature view), written
 * last-write-wins by event time then created time, read for many views and entities at once.
 * Implementations: `redis` (redis-store.ts) and the embedded `memory` (memory-store.ts); both run
 * the conformance suite in online-store.suite.ts.
 *
 * Semantics every implementation keeps:
 * - Freshness is the pair (eventTs, createdTs), compared in that order; a null createdTs is older
 *   than any createdTs. A row replaces the stored one when it is at least as fresh: an older row
 *   never overwrites a newer one, and a row with the same eventTs and createdTs overwrites (so a
 *   re-materialization after a view changed rewrites values in the new layout, and a corrected
 *   push with the same timestamps wins). Within one `write` call rows apply in order, as if written
 *   one at a time (a row older than an earlier row of the same entity counts as `skippedOlder`);
 *   concurrent calls end in the freshest row per key, whatever order they run in.
 * - Values are stored with a fingerprint of the view's layout (feature names and dtypes): after a
 *   view's features change, rows written with the old layout read as absent until re-written.
 * - Reads return values whatever their age: ttl (OUTSIDE_MAX_AGE) is decided by the caller at
 *   read time. Expiry only collects garbage, see {@link expiresAt}.
 */
import type { DTypeSpec } from '../define/dtypes.ts';

/**
 * What the store needs to know of a feature view. Make one per view and reuse it: the value codec
 * is built once per layout object.
 */
export interface OnlineViewLayout {
  readonly project: string;
  readonly view: string;
  /** The view's features in storage order; values are given and returned in this order. */
  readonly features: readonly { readonly name: string; readonly dtype: DTypeSpec }[];
  /** The view's ttl in milliseconds, or null for none; drives key expiry (garbage collection). */
  readonly ttlMs: number | null;
}

/** One entity's row of a view. */
export interface OnlineRow {
  /** The canonical encoding of the entity's join key values, from `encodeEntityKey`. */
  readonly entityKey: string;
  /**
   * In `layout.features` order; null (or undefined) for a missing value. Timestamps as Date (or
   * epoch ms), int64 as number (or bigint; read back as number, exact to ±2^53), arrays as arrays
   * or typed arrays (read back as arrays).
   */
  readonly values: readonly unknown[];
  /** Event time, epoch ms. */
  readonly eventTs: number;
  /** When the row became known, epoch ms; null when the source has no created timestamp. */
  readonly createdTs: number | null;
}

/**
 * Rows of one view column by column, the shape materialization pulls them in: row i is
 * `entityKeys[i]`, `features[f][i]` (in `layout.features` order), `eventTs[i]` and
 * `createdTs?.[i]`. A column may be a typed array (numbers) or a plain array.
 */
export interface OnlineColumns {
  readonly length: number;
  /** From `encodeEntityKey`, as in {@link OnlineRow}. */
  readonly entityKeys: readonly string[];
  readonly features: readonly ArrayLike<unknown>[];
  readonly eventTs: ArrayLike<number>;
  readonly createdTs: ArrayLike<number> | null;
}

/** Columns as rows, for a store without {@link OnlineStore.writeColumns}. */
export function rowsOfColumns(columns: OnlineColumns): OnlineRow[] {
  const rows = new Array<OnlineRow>(columns.length);
  const { entityKeys, features, eventTs, createdTs } = columns;
  for (let i = 0; i < columns.length; i++) {
    const values = new Array<unknown>(features.length);
    for (let f = 0; f < values.length; f++) values[f] = (features[f] as ArrayLike<unknown>)[i];
    rows[i] = { entityKey: entityKeys[i] as string, values, eventTs: eventTs[i] as number, createdTs: createdTs === null ? null : createdTs[i] as number };
  }
  return rows;
}

/** A row as read back. */
export interface StoredRow {
  values: unknown[];
  eventTs: number;
  createdTs: number | null;
}

export interface WriteResult {
  /** Rows that landed (replaced an older or equal value, or filled an empty key). */
  written: number;
  /** Rows that were older than the value already stored, and changed nothing. */
  skippedOlder: number;
}

export interface ReadRequest {
  readonly layout: OnlineViewLayout;
  readonly entityKeys: readonly string[];
}

export interface OnlineStore {
  /**
   * Last-write-wins by (eventTs, createdTs): an older row never overwrites a newer one, enforced
   * atomically in the store. Rows are validated first: a bad value rejects the whole call with
   * LARDER_E_INVALID_REQUEST and nothing is written.
   * @throws LARDER_E_ONLINE_UNAVAILABLE (details: written, skippedOlder, unconfirmed) when the
   *   store fails midway; rows are idempotent under last-write-wins, so retrying the call is safe.
   */
  write(layout: OnlineViewLayout, rows: readonly OnlineRow[], options?: { signal?: AbortSignal }): Promise<WriteResult>;
  /**
   * Optional: `write(layout, rowsOfColumns(columns))` without building rows, for stores where
   * that matters (materialization writes millions); same semantics, results and errors.
   */
  writeColumns?(layout: OnlineViewLayout, columns: OnlineColumns, options?: { signal?: AbortSignal }): Promise<WriteResult>;
  /**
   * Reads any number of views for any number of entities in one round trip: `result[i][j]` is
   * request i's j-th entity, null when absent. Values older than the view's ttl are returned.
   * @throws LARDER_E_ONLINE_UNAVAILABLE when the store cannot answer within `timeoutMs`.
   */
  read(requests: readonly ReadRequest[], options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<(StoredRow | null)[][]>;
  /** Removes everything of one project (tests, teardown). */
  clearProject(project: string): Promise<void>;
  close(): Promise<void>;
}

/** Default time a value is kept past its ttl (and at least from the time it is written). */
export const DEFAULT_EXPIRY_GRACE_MS = 86_400_000;

/**
 * When a written value may be garbage-collected: `max(eventTs + ttl, now) + grace`, or null (never)
 * without a ttl. Past `eventTs + ttl` the value is already OUTSIDE_MAX_AGE at read time; the grace
 * keeps it readable as such for a while, and the `now` floor means that materializing historical
 * rows (eventTs long ago) never writes a value that vanishes at once.
 */
export function expiresAt(eventTs: number, ttlMs: number | null, now: number, graceMs: number): number | null {
  if (ttlMs === null) return null;
  return Math.max(eventTs + ttlMs, now) + graceMs;
}

/** Whether row `a` is at least as fresh as row `b`: by eventTs, then createdTs (null oldest). */
export function atLeastAsFresh(a: OnlineRow, b: OnlineRow): boolean {
  if (a.eventTs !== b.eventTs) return a.eventTs > b.eventTs;
  if (a.createdTs === b.createdTs) return true;
  if (a.createdTs === null) return false;
  return b.createdTs === null || a.createdTs > b.createdTs;
}
