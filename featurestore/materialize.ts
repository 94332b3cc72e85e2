/**
 * @module materialize
 * Materialization: the latest row of each entity of a feature view, pulled from the offline
 * store in batches (`offline/pull.ts`) and written to the online store last-write-wins, two
 * write calls in flight so encoding overlaps the store's work.
 *
 * `materialize({ start, end })` writes, per entity, the point-in-time pick at `T = end` among
 * rows with `start <= event_ts <= end`. `materializeIncremental({ end })` continues each view
 * from its watermark in the registry (record `watermark/<view>`): the first run starts at
 * `end - ttl` (all history without a ttl); after a view's run succeeds its watermark becomes
 * `end`. Late rows (created after the watermark, event before it) are picked up too, so a chain
 * of incremental runs ends where one full run would. A watermark remembers the view version it
 * was made with: after a view changes (`apply`), its next incremental run starts over as a
 * first run, because values written in the old layout read as absent.
 *
 * Aggregation views (`offline/pull-aggregates.ts`) write each aggregate as of `end`, with `end` as
 * the row's event time: a full run writes every entity with an event up to `end`; an
 * incremental run only the entities with events recent enough to change a window since the
 * watermark (the others' values are unchanged), and a first incremental run covers all history.
 *
 * How rows are pulled (`pull`, default `auto`): DuckDB's per-entity `GROUP BY` costs most of
 * the pull and yields nothing until it has read the whole range, which is pure waste when each
 * entity has one row in it (snapshot tables, incremental runs). So `auto` first streams every
 * candidate row as DuckDB scans it (`candidates`) and leaves the pick to the online store's
 * last-write-wins, which stores the same row the grouped pull would have (full ties, as there,
 * arbitrarily). It counts repeated entity keys as the batches come (on a hash sample of the keys
 * past 64k distinct ones, so memory stays bounded); once repeats pass {@link REPEAT_LIMIT} of the
 * rows seen, the batch in hand is dropped and the view's rows are pulled again grouped. Rows
 * already written by then are harmless under last-write-wins; they cost writes, so a view whose
 * entities first repeat late (a daily snapshot table sorted by day) pays for about one extra
 * write per entity of the first day. Aggregation views always pull one row per entity.
 *
 * Interrupted runs are safe to repeat: every write is last-write-wins by (event_ts,
 * created_ts), an equally fresh row rewrites the same value, and the watermark moves only after
 * the view's rows all landed — so killing a run and running it again ends in the same online
 * state as one clean run.
 */
import { larderError } from '../errors.ts';
import type { DefinitionRegistry } from '../registry/index.ts';
import { appliedObjects } from './applied.ts';
import type { FeatureViewDef } from './define/definitions.ts';
import { parseDuration } from './define/duration.ts';
import type { ProjectDefinitions } from './define/project.ts';
import type { OfflineStore, PulledBatch, PullRequest } from './offline/store.ts';
import { encodeEntityKey } from './online/entity-key.ts';
import { EntityKeySet, KeySeen } from './online/entity-key-set.ts';
import { rowsOfColumns, type OnlineColumns, type OnlineStore, type OnlineViewLayout, type WriteResult } from './online/store.ts';
import { onlineLayout } from './online-layout.ts';

/** What materialization needs from the store. */
export interface MaterializeContext {
  readonly projectName: string;
  readonly project: ProjectDefinitions;
  readonly registry: DefinitionRegistry;
  readonly offline: OfflineStore;
  readonly online: OnlineStore;
}

export interface MaterializeProgress {
  readonly view: string;
  /** Rows written so far for this view. */
  readonly rows: number;
  /**
   * Rows this view will write in all: one per entity, or every candidate row while pulling
   * candidates (after a switch to the grouped pull: the rows sent so far plus one per entity).
   */
  readonly total: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  /** Seconds left at the current rate; null before the first batch lands. */
  readonly etaSeconds: number | null;
}

interface CommonOptions {
  /** Feature view names; default every feature view of the project. */
  readonly views?: readonly string[];
  readonly signal?: AbortSignal;
  /** Called after each written batch (and once per view before the first); counting rows for the ETA costs one extra query per view. */
  readonly onProgress?: (progress: MaterializeProgress) => void;
  /** Rows per online write call (default 50 000). */
  readonly batchRows?: number;
  /**
   * How rows are pulled from the offline store (see the module comment): `latest`, one row per
   * entity (grouped in DuckDB); `candidates`, every row in range, the online store keeping the
   * latest; `auto` (default), candidates until entity keys repeat in more than 2% of the rows
   * seen, then `latest` for the whole view.
   */
  readonly pull?: 'auto' | 'latest' | 'candidates';
}

export interface MaterializeRequest extends CommonOptions {
  /** Inclusive lower bound of event time; omit (or null) for all history. */
  readonly start?: Date | null;
  /** Inclusive upper bound of event and created time: the `T` of the pick. */
  readonly end: Date;
}

export interface MaterializeIncrementalRequest extends CommonOptions {
  /** Default: now. */
  readonly end?: Date;
}

/**
 * How a view's rows were pulled: grouped (`latest`, one row per entity), as `candidates` (every
 * row in range), or candidates until their keys repeated and then grouped.
 */
export type PullMode = 'latest' | 'candidates' | 'candidates-then-latest';

/**
 * What one view's materialization did. With the grouped pull, `rows` is one per entity with a row
 * in range. With candidates, it counts every candidate row written, so an entity with several
 * rows in range counts several times, and after a switch it is the candidates written before it
 * plus one per entity. Always `rows = written + skippedOlder`, each row counted when its write
 * call returned: a candidate row counts as written when it was at least as fresh as what it met,
 * even if a fresher row of the same entity replaced it later in the run; so `written` can exceed
 * the number of entities whose value changed.
 */
export interface MaterializeResult {
  readonly view: string;
  /** Rows sent to the online store (see above: one per entity only with the grouped pull). */
  readonly rows: number;
  /** Rows that replaced an older (or equal) value or filled an empty key when written. */
  readonly written: number;
  /** Rows older than the value they met online (stored before, or written earlier in the run), which changed nothing. */
  readonly skippedOlder: number;
  /** How the rows were pulled. */
  readonly pull: PullMode;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  /** null: all history. */
  readonly start: Date | null;
  readonly end: Date;
}

/** The watermark record of a view. */
interface Watermark { end: string; version: number }

const IN_FLIGHT = 2;
/**
 * `auto` pulls candidates until repeated entity keys pass this share of the rows seen: below it,
 * writing every candidate costs at most a few percent more writes than one row per entity, while
 * the grouped pull costs ~1 CPU-s more per 1M rows at 1M entities × 1 row (docs/benchmarks.md,
 * 2026-11-29); at 50k × 200, candidates would write 200 times the rows.
 */
export const REPEAT_LIMIT = 0.02;
/**
 * Rows of the first candidates batch with `auto`: when keys repeat from the start (most sources
 * with many rows per entity), the switch comes after two DuckDB chunks instead of a whole batch
 * (51 200 rows took DuckDB ~0.1 s at 50k entities × 200 rows, 2026-11-29).
 */
const FIRST_BATCH_ROWS = 4096;
/** Distinct keys `auto` holds before it samples them (8 bytes a slot, half full: ~1 MB, in cache). */
const SAMPLED_KEYS = 1 << 16;

/** Counts repeated entity keys over a pull's batches, on a hash sample past {@link SAMPLED_KEYS}. */
class RepeatWatch {
  readonly #keys = new EntityKeySet({ maxKeys: SAMPLED_KEYS });
  #rows = 0;
  #repeats = 0;

  /** Adds a batch's keys; whether repeats now pass {@link REPEAT_LIMIT} of the rows seen. */
  tooMany(entityKeys: readonly string[], length: number): boolean {
    const keys = this.#keys;
    for (let i = 0; i < length; i++) {
      const seen = keys.add(entityKeys[i] as string);
      if (seen === KeySeen.Outside) continue;
      const weight = keys.sampleWeight;
      this.#rows += weight;
      if (seen === KeySeen.Repeat) this.#repeats += weight;
    }
    return this.#repeats > REPEAT_LIMIT * this.#rows;
  }
}

export function watermarkKey(view: string): string {
  return `watermark/${view}`;
}

function checkDate(value: unknown, name: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `${name} must be a valid Date` });
  }
  return value;
}

function checkPull(pull: unknown): void {
  if (pull !== undefined && pull !== 'auto' && pull !== 'latest' && pull !== 'candidates') {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `pull must be 'auto', 'latest' or 'candidates', got ${JSON.stringify(pull)}` });
  }
}

/** The views to materialize, all applied as they are now (nothing is written otherwise). */
async function selectViews(ctx: MaterializeContext, names: readonly string[] | undefined): Promise<{ view: FeatureViewDef; version: number }[]> {
  const views = names === undefined ? [...ctx.project.views.values()] : names.map((name) => {
    const view = ctx.project.views.get(name);
    if (view) return view;
    if (ctx.project.onDemandViews.has(name)) {
      throw larderError('LARDER_E_INVALID_REQUEST', { reason: `${name} is an on-demand view: it is computed at read time, not materialized` });
    }
    throw larderError('LARDER_E_UNKNOWN_VIEW', { name });
  });
  const applied = await appliedObjects(ctx.registry, ctx.project, views);
  return [...new Set(views)].map((view) => ({
    view, version: applied.find((a) => a.kind === 'featureView' && a.name === view.name)?.version ?? 0,
  }));
}

/**
 * A pulled batch as online columns: the pulled feature and time columns as they are (typed
 * arrays for numbers), plus each row's entity key. No object per row: at millions of rows the
 * row objects and their boxed numbers cost more than the writes.
 */
function toOnlineColumns(batch: PulledBatch): OnlineColumns {
  const entityKeys = new Array<string>(batch.length);
  const keyNames = batch.keyNames;
  const only = batch.keys.length === 1 ? batch.keys[0] : undefined;
  if (only instanceof Float64Array) {
    // One numeric join key: its entity key is the number's text, which has nothing to escape
    // (what encodeEntityKey returns, without a record and a regex pass per row).
    for (let i = 0; i < batch.length; i++) {
      const value = only[i] as number;
      entityKeys[i] = Number.isFinite(value) ? String(value) : encodeEntityKey(keyNames, { [keyNames[0] as string]: value });
    }
    return { length: batch.length, entityKeys, features: batch.features, eventTs: batch.eventTs, createdTs: batch.createdTs };
  }
  const key: Record<string, unknown> = {};
  for (let i = 0; i < batch.length; i++) {
    for (let k = 0; k < keyNames.length; k++) key[keyNames[k] as string] = (batch.keys[k] as ArrayLike<unknown>)[i];
    entityKeys[i] = encodeEntityKey(keyNames, key);
  }
  return { length: batch.length, entityKeys, features: batch.features, eventTs: batch.eventTs, createdTs: batch.createdTs };
}

/** Writes columns, as rows to a store that takes only rows. */
function writeColumns(online: OnlineStore, layout: OnlineViewLayout, columns: OnlineColumns, signal: AbortSignal | undefined): Promise<WriteResult> {
  const options = signal === undefined ? {} : { signal };
  return online.writeColumns !== undefined ? online.writeColumns(layout, columns, options) : online.write(layout, rowsOfColumns(columns), options);
}

/**
 * Pulls one view's rows and writes them, {@link IN_FLIGHT} write calls at a time; with `auto`,
 * as candidates until their keys repeat, then grouped.
 */
async function materializeView(ctx: MaterializeContext, view: FeatureViewDef, range: Omit<PullRequest, 'project' | 'view'>, options: CommonOptions): Promise<MaterializeResult> {
  const started = performance.now();
  const layout: OnlineViewLayout = onlineLayout(ctx.projectName, view);
  const wanted = view.aggregations === undefined ? options.pull ?? 'auto' : 'latest';
  let request: PullRequest = {
    project: ctx.project, view, ...range, batchRows: options.batchRows ?? 50_000,
    ...(wanted === 'latest' ? {} : { candidates: true }), ...(wanted === 'auto' ? { firstBatchRows: FIRST_BATCH_ROWS } : {}),
  };
  const watch = wanted === 'auto' ? new RepeatWatch() : null;
  const elapsed = (): number => (performance.now() - started) / 1000;
  let total = options.onProgress ? await ctx.offline.countLatest(request) : 0;
  let sent = 0;
  let rows = 0;
  let written = 0;
  let skippedOlder = 0;
  let pull: PullMode = wanted === 'latest' ? 'latest' : 'candidates';
  const report = (): void => {
    if (!options.onProgress) return;
    const seconds = elapsed();
    const rate = seconds > 0 ? rows / seconds : 0;
    options.onProgress({ view: view.name, rows, total, seconds, rowsPerSecond: rate, etaSeconds: rows > 0 && rate > 0 ? Math.max(0, total - rows) / rate : null });
  };
  report();
  let failure: unknown;
  const pending: Promise<void>[] = [];
  for (;;) {
    let repeated = false;
    for await (const batch of ctx.offline.pullLatest(request)) {
      if (failure !== undefined) break;
      const chunk = toOnlineColumns(batch);
      if (watch !== null && pull === 'candidates' && watch.tooMany(chunk.entityKeys, chunk.length)) {
        repeated = true;
        break;
      }
      sent += chunk.length;
      pending.push(writeColumns(ctx.online, layout, chunk, options.signal).then((result) => {
        rows += chunk.length;
        written += result.written;
        skippedOlder += result.skippedOlder;
        report();
      }, (error: unknown) => { failure ??= error; }));
      if (pending.length >= IN_FLIGHT) await pending.shift();
    }
    if (!repeated || failure !== undefined) break;
    // Keys repeat: pull the view again grouped, while the candidates' writes in flight finish.
    pull = sent === 0 ? 'latest' : 'candidates-then-latest';
    request = { ...request, candidates: false };
    if (options.onProgress) total = sent + await ctx.offline.countLatest(request);
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
  const seconds = elapsed();
  return { view: view.name, rows, written, skippedOlder, pull, seconds, rowsPerSecond: seconds > 0 ? rows / seconds : 0, start: range.start, end: range.end };
}

/**
 * Writes, per entity of each view, the latest row with `start <= event_ts <= end` (and
 * `created_ts <= end`) to the online store.
 * @example await materialize(ctx, { start: new Date('2026-03-01'), end: new Date() });
 */
export async function materialize(ctx: MaterializeContext, request: MaterializeRequest): Promise<MaterializeResult[]> {
  const end = checkDate(request.end, 'end');
  checkPull(request.pull);
  const start = request.start === undefined || request.start === null ? null : checkDate(request.start, 'start');
  if (start !== null && start.getTime() > end.getTime()) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `start ${start.toISOString()} is after end ${end.toISOString()}` });
  }
  const views = await selectViews(ctx, request.views);
  const results: MaterializeResult[] = [];
  for (const { view } of views) {
    results.push(await materializeView(ctx, view, { start, end, ...(request.signal === undefined ? {} : { signal: request.signal }) }, request));
  }
  return results;
}

/**
 * Continues each view from its watermark to `end` and moves the watermark to `end` when the
 * view's rows have all landed.
 * @example await materializeIncremental(ctx, { end: new Date() });
 */
export async function materializeIncremental(ctx: MaterializeContext, request: MaterializeIncrementalRequest = {}): Promise<MaterializeResult[]> {
  const end = checkDate(request.end ?? new Date(), 'end');
  checkPull(request.pull);
  const views = await selectViews(ctx, request.views);
  const results: MaterializeResult[] = [];
  for (const { view, version } of views) {
    const key = watermarkKey(view.name);
    const mark = await ctx.registry.getRecord<Watermark>(key);
    const from = mark !== undefined && mark.version === version ? new Date(mark.end) : undefined;
    if (from !== undefined && from.getTime() >= end.getTime()) {
      results.push({ view: view.name, rows: 0, written: 0, skippedOlder: 0, pull: 'latest', seconds: 0, rowsPerSecond: 0, start: from, end });
      continue;
    }
    // An aggregation view's first run covers every entity: its values depend on whole windows, not on one row in the ttl.
    const start = from ?? (view.ttl === undefined || view.aggregations !== undefined ? null : new Date(end.getTime() - parseDuration(view.ttl)));
    results.push(await materializeView(ctx, view, {
      start, end,
      ...(from === undefined ? {} : { createdAfter: from }),
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    }, request));
    await ctx.registry.updateRecord<Watermark>(key, (old) => (
      old !== undefined && old.version === version && Date.parse(old.end) > end.getTime() ? old : { end: end.toISOString(), version }
    ));
  }
  return results;
}
