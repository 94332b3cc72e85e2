/**
 * @module online/redis-store
 * The Redis implementation of {@link OnlineStore} (the only module that imports ioredis).
 *
 * Layout: one string key per (entity, view) holding the value-codec bytes (see redis-keys.ts);
 * a read of any views and entities is one `MGET`. bench/online.ts measures the choice against a
 * hash per entity with a field per view: 100 pipelined HMGETs have a far longer tail than one
 * MGET, and string keys give each view its own expiry.
 *
 * Writes: rows (or columns, `writeColumns`) are validated and encoded up front, then sent in
 * batches of `batchSize` rows, each one `EVALSHA` of lua/write-lww.lua (last-write-wins, atomic
 * per batch), with up to 8 batches in flight on the connection. Fast path: when the view has no
 * ttl and no key repeats in the call, a batch goes out first as a plain `MSETNX` — all keys new
 * (a first materialization) means every row wins, at about half the script's Redis CPU per row;
 * if any key exists it writes nothing and the batch goes through the script. Views with a ttl set
 * a key expiry of `max(eventTs + ttl, now) + grace` ({@link expiresAt}); views without never expire.
 *
 * Failure: no command waits for a connection that is known to be down. While the client is
 * reconnecting (automatic, backing off from 50 ms to 1 s) every call fails at once with
 * LARDER_E_ONLINE_UNAVAILABLE; while a connection attempt is in progress, reads wait at most their
 * timeout (default 50 ms) and writes at most `connectTimeoutMs`; a read that gets no answer in
 * time fails the same way, and commands in flight when the connection drops are rejected at once.
 */
import { readFileSync } from 'node:fs';
import { Command, Redis } from 'ioredis';
import { isLarderError, larderError, reasonOf } from '../../errors.ts';
import { ByteWriter } from './bytes.ts';
import { checkEntityKey } from './entity-key.ts';
import { distinctKeys, repeatsKey, writeBatchCommand, type BatchCommand } from './redis-batch.ts';
import { DEFAULT_KEY_PREFIX, checkKeyPrefix, projectKeyPrefix, viewKeyPrefix } from './redis-keys.ts';
import {
  DEFAULT_EXPIRY_GRACE_MS, expiresAt, type OnlineColumns, type OnlineRow, type OnlineStore, type OnlineViewLayout, type ReadRequest,
  type StoredRow, type WriteResult,
} from './store.ts';
import { CorruptValueError, decodeValue, encodeColumns, encodeRows, viewCodec, type EncodedRows } from './value-codec.ts';

let writeLww: string | undefined;
/** The write script's source (lua/write-lww.lua), read on first use. */
function writeLwwScript(): string {
  return writeLww ??= readFileSync(new URL('./lua/write-lww.lua', import.meta.url), 'utf8');
}
const MAX_IN_FLIGHT = 8;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
const MAX_KEPT_ENCODER_BYTES = 32 * 1024 * 1024;

export interface RedisOnlineStoreOptions {
  /** e.g. `redis://127.0.0.1:6379` */
  readonly url: string;
  /** Default bound of a read, in ms (default 50); `read` can override it per call. */
  readonly timeoutMs?: number;
  /** How long writes and clearProject wait for a connection in progress (default 2000 ms). */
  readonly connectTimeoutMs?: number;
  /** First segment of every key (default `larder`). */
  readonly keyPrefix?: string;
  /** How long values of views with a ttl are kept past it, see {@link expiresAt} (default 1 day). */
  readonly expiryGraceMs?: number;
  /** Rows per write script call (default 1000, at most 2000). */
  readonly batchSize?: number;
}

/** A command whose wire bytes are already built (redis-batch.ts); ioredis only queues and sends it. */
class PreEncodedCommand extends Command {
  readonly #wire: Buffer;

  constructor(name: string, wire: Buffer) {
    super(name, []);
    this.#wire = wire;
  }

  override toWritable(): Buffer {
    return this.#wire;
  }
}

function unavailable(reason: string, cause: unknown, details: Record<string, unknown>): Error {
  return larderError('LARDER_E_ONLINE_UNAVAILABLE', { store: 'redis', reason }, { cause, details });
}

function aborted(what: string, details?: Record<string, unknown>): Error {
  return larderError('LARDER_E_ABORTED', { what }, details === undefined ? {} : { details });
}

/** Resolves with `promise`, or rejects with `onTimeout()` after `ms`, or on abort. */
function bounded<T>(promise: Promise<T>, ms: number, signal: AbortSignal | undefined, onTimeout: () => Error, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { finish(); reject(onTimeout()); }, ms);
    const onAbort = (): void => { finish(); reject(aborted(what)); };
    const finish = (): void => {
      clearTimeout(timer);
      if (signal !== undefined) signal.removeEventListener('abort', onAbort);
    };
    if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    promise.then((value) => { finish(); resolve(value); }, (error: unknown) => { finish(); reject(error); });
  });
}

class RedisOnlineStore implements OnlineStore {
  readonly #client: Redis;
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #prefix: string;
  readonly #graceMs: number;
  readonly #batchSize: number;
  readonly #readyWaiters = new Set<() => void>();
  /**
   * Buffers that finished write calls encoded their rows into, kept for the next calls: a fresh
   * multi-megabyte buffer per call made V8 collect garbage for the external memory alone.
   */
  readonly #encoders: ByteWriter[] = [];
  #sha: Promise<string> | null = null;
  #lastError: Error | null = null;
  #closed = false;

  constructor(options: RedisOnlineStoreOptions) {
    this.#timeoutMs = options.timeoutMs ?? 50;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.#prefix = checkKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.#graceMs = options.expiryGraceMs ?? DEFAULT_EXPIRY_GRACE_MS;
    this.#batchSize = Math.max(1, Math.min(options.batchSize ?? 1000, 2000));
    this.#client = new Redis(options.url, {
      protocol: 2,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.#connectTimeoutMs,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times - 1, 5), 1000),
      disableClientInfo: true,
      // Commands issued in the same tick share one socket write: concurrent reads of a server
      // under load cost one syscall per tick instead of one each.
      enableAutoPipelining: true,
    });
    this.#client.on('error', (error: Error) => { this.#lastError = error; });
    this.#client.on('ready', () => {
      this.#lastError = null;
      for (const wake of this.#readyWaiters) wake();
      this.#readyWaiters.clear();
    });
  }

  /** Waits for a usable connection: at once when ready, fails at once while reconnecting. */
  #ready(waitMs: number, signal: AbortSignal | undefined, command: string): Promise<void> {
    const status = this.#client.status;
    if (status === 'ready') return Promise.resolve();
    const down = (reason: string): Error => unavailable(reason, this.#lastError ?? undefined, { command, status: this.#client.status });
    if (this.#closed || status === 'end' || status === 'close') return Promise.reject(down('the store is closed'));
    if (status === 'reconnecting') {
      return Promise.reject(down(`not connected (${this.#lastError?.message ?? 'connection lost'}); reconnecting`));
    }
    let wake!: () => void;
    const connected = new Promise<void>((resolve) => { wake = resolve; });
    this.#readyWaiters.add(wake);
    return bounded(connected, waitMs, signal,
      () => down(`no connection within ${waitMs} ms${this.#lastError ? ` (${this.#lastError.message})` : ''}`), command)
      .finally(() => this.#readyWaiters.delete(wake));
  }

  /** The write script's sha, loaded once per connection lifetime (again after NOSCRIPT). */
  #script(): Promise<string> {
    this.#sha ??= (this.#client.script('LOAD', writeLwwScript()) as Promise<string>).catch((error: unknown) => {
      this.#sha = null;
      throw error;
    });
    return this.#sha;
  }

  /**
   * Sends one pre-encoded EVALSHA at once (so batches go out in order); if the server lost the
   * script (restart, SCRIPT FLUSH), loads it and sends the batch again.
   */
  #sendScript(sha: string, build: (sha: string) => Buffer): Promise<number> {
    const send = (wire: Buffer): Promise<number> => this.#client.sendCommand(new PreEncodedCommand('evalsha', wire)) as Promise<number>;
    return send(build(sha)).catch(async (error: unknown) => {
      if (!reasonOf(error).startsWith('NOSCRIPT')) throw error;
      this.#sha = null;
      return send(build(await this.#script()));
    });
  }

  /**
   * Writes rows `slice`, resolving with how many landed. Fast path (no expiry, no key repeated
   * anywhere in the call): a plain `MSETNX`, which writes every row when all keys are absent —
   * what last-write-wins does with absent keys — at a third of the script's Redis CPU per row;
   * when a key exists it writes nothing, and the batch goes through the script. That script runs
   * after later batches of the call, which is safe only because no key repeats in the call.
   */
  #sendBatch(sha: string, build: (command: BatchCommand) => Buffer, plan: { fast: boolean; flags: string }, n: number): Promise<number> {
    if (!plan.fast) return this.#sendScript(sha, (script) => build({ kind: 'evalsha', sha: script, flags: plan.flags }));
    const msetnx = this.#client.sendCommand(new PreEncodedCommand('msetnx', build({ kind: 'msetnx' }))) as Promise<number>;
    return msetnx.then((set) => set === 1 ? n : this.#sendScript(sha, (script) => build({ kind: 'evalsha', sha: script, flags: 'n' })));
  }

  async write(layout: OnlineViewLayout, rows: readonly OnlineRow[], options: { signal?: AbortSignal } = {}): Promise<WriteResult> {
    if (options.signal?.aborted) throw aborted(`write to ${layout.view}`, { written: 0, skippedOlder: 0 });
    if (rows.length === 0) return { written: 0, skippedOlder: 0 };
    const entityKeys = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) entityKeys[i] = checkEntityKey((rows[i] as OnlineRow).entityKey);
    const encoder = this.#encoders.pop() ?? new ByteWriter(1 << 16);
    try {
      const encoded = encodeRows(viewCodec(layout), rows, encoder);
      return await this.#writeEncoded(layout, entityKeys, encoded, this.#expiries(layout, rows.length, (i) => (rows[i] as OnlineRow).eventTs), options.signal);
    } finally {
      this.#keepEncoder(encoder);
    }
  }

  async writeColumns(layout: OnlineViewLayout, columns: OnlineColumns, options: { signal?: AbortSignal } = {}): Promise<WriteResult> {
    if (options.signal?.aborted) throw aborted(`write to ${layout.view}`, { written: 0, skippedOlder: 0 });
    if (columns.length === 0) return { written: 0, skippedOlder: 0 };
    const { entityKeys, eventTs } = columns;
    for (let i = 0; i < columns.length; i++) checkEntityKey(entityKeys[i]);
    const encoder = this.#encoders.pop() ?? new ByteWriter(1 << 16);
    try {
      const encoded = encodeColumns(viewCodec(layout), columns, encoder);
      return await this.#writeEncoded(layout, entityKeys, encoded, this.#expiries(layout, columns.length, (i) => eventTs[i] as number), options.signal);
    } finally {
      this.#keepEncoder(encoder);
    }
  }

  #keepEncoder(encoder: ByteWriter): void {
    if (encoder.buf.length <= MAX_KEPT_ENCODER_BYTES && this.#encoders.length < MAX_IN_FLIGHT) this.#encoders.push(encoder);
  }

  async #writeEncoded(layout: OnlineViewLayout, entityKeys: readonly string[], encoded: EncodedRows, expiresIn: Float64Array | null, signal: AbortSignal | undefined): Promise<WriteResult> {
    const count = encoded.ends.length;
    await this.#ready(this.#connectTimeoutMs, signal, 'EVALSHA write-lww');
    const sha = await this.#script().catch((error: unknown) => {
      throw unavailable(`loading the write script failed: ${reasonOf(error)}`, error, { command: 'SCRIPT LOAD', written: 0, skippedOlder: 0, unconfirmed: count });
    });

    const keyPrefix = Buffer.from(viewKeyPrefix(this.#prefix, layout.project, layout.view), 'utf8');
    const sizeOf = (i: number): number => (encoded.ends[i] as number) - (i === 0 ? 0 : (encoded.ends[i - 1] as number));
    const distinct = distinctKeys(entityKeys, count);
    // One buffer per batch in flight, reused once its reply is in (so its bytes were sent).
    const wires: ByteWriter[] = [];
    let written = 0;
    let confirmed = 0;
    let failure: unknown = null;
    const inFlight: Promise<void>[] = [];
    let start = 0;
    while (start < count && failure === null && !signal?.aborted) {
      // A batch holds batchSize rows, fewer when their values are large.
      let end = start;
      let bytes = 0;
      while (end < count && end - start < this.#batchSize && (end === start || bytes < MAX_BATCH_BYTES)) bytes += sizeOf(end++);
      const slice = { start, end };
      const plan = {
        fast: distinct && expiresIn === null,
        flags: `${expiresIn === null ? '' : 'x'}${!distinct && repeatsKey(entityKeys, start, end) ? 'd' : ''}`,
      };
      const wire = wires.pop() ?? new ByteWriter(1 << 16);
      const build = (command: BatchCommand): Buffer => writeBatchCommand(wire, command, keyPrefix, entityKeys, encoded, expiresIn, slice);
      inFlight.push(this.#sendBatch(sha, build, plan, end - start).then(
        (n) => { written += n; confirmed += slice.end - slice.start; wires.push(wire); },
        (error: unknown) => { failure ??= error; },
      ));
      start = end;
      if (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
    const details = { written, skippedOlder: confirmed - written, unconfirmed: count - confirmed };
    if (failure !== null) {
      throw unavailable(`writing ${layout.view} failed after ${confirmed} of ${count} rows: ${reasonOf(failure)}`, failure, {
        command: 'MSETNX / EVALSHA write-lww', view: layout.view, ...details,
      });
    }
    if (confirmed < count) throw aborted(`write to ${layout.view} after ${confirmed} of ${count} rows`, details);
    return { written, skippedOlder: count - written };
  }

  #expiries(layout: OnlineViewLayout, count: number, eventTsOf: (i: number) => number): Float64Array | null {
    if (layout.ttlMs === null) return null;
    const now = Date.now();
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = Math.max(1, Math.ceil((expiresAt(eventTsOf(i), layout.ttlMs, now, this.#graceMs) as number) - now));
    }
    return out;
  }

  async read(requests: readonly ReadRequest[], options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<(StoredRow | null)[][]> {
    const { signal } = options;
    if (signal?.aborted) throw aborted('online read');
    const keys: string[] = [];
    for (const { layout, entityKeys } of requests) {
      const prefix = viewKeyPrefix(this.#prefix, layout.project, layout.view);
      for (const entityKey of entityKeys) keys.push(`${prefix}${checkEntityKey(entityKey)}}`);
    }
    if (keys.length === 0) return requests.map(() => []);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    let left = timeoutMs;
    if (this.#client.status !== 'ready') {
      const started = performance.now();
      await this.#ready(timeoutMs, signal, 'MGET');
      left = Math.max(1, timeoutMs - (performance.now() - started));
    }
    const reply = this.#client.mgetBuffer(keys);
    reply.catch(() => undefined); // a reply that arrives after the deadline is dropped
    let values: (Buffer | null)[];
    try {
      values = await bounded(reply, left, signal, () => unavailable(`no answer within ${timeoutMs} ms`, undefined, {
        command: 'MGET', keys: keys.length, firstKey: keys[0], timeoutMs,
      }), 'online read');
    } catch (error) {
      if (isLarderError(error)) throw error;
      throw unavailable(reasonOf(error), error, { command: 'MGET', keys: keys.length, firstKey: keys[0] });
    }
    let at = 0;
    return requests.map(({ layout, entityKeys }) => {
      const codec = viewCodec(layout);
      return entityKeys.map(() => {
        const bytes = values[at];
        const key = keys[at++] as string;
        if (bytes === null || bytes === undefined) return null;
        try {
          return decodeValue(codec, bytes);
        } catch (error) {
          if (!(error instanceof CorruptValueError)) throw error;
          throw larderError('LARDER_E_IO', { path: `redis key ${key}`, reason: error.message }, { cause: error, details: { key } });
        }
      });
    });
  }

  async clearProject(project: string): Promise<void> {
    await this.#ready(this.#connectTimeoutMs, undefined, 'SCAN');
    const match = `${projectKeyPrefix(this.#prefix, project)}*`;
    try {
      let cursor = '0';
      do {
        const [next, keys] = await this.#client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await this.#client.unlink(...keys);
      } while (cursor !== '0');
    } catch (error) {
      throw unavailable(`clearing project ${project} failed: ${reasonOf(error)}`, error, { command: 'SCAN/UNLINK', match });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of this.#readyWaiters) wake();
    if (this.#client.status === 'ready') {
      await this.#client.quit().catch(() => this.#client.disconnect());
    } else {
      this.#client.disconnect();
    }
  }
}

/**
 * An online store in Redis. Connects at once and reconnects by itself.
 * @example const online = createRedisOnlineStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
 */
export function createRedisOnlineStore(options: RedisOnlineStoreOptions): OnlineStore {
  return new RedisOnlineStore(options);
}
