/**
 * @module serving/predictor/batcher
 * A dynamic batcher like Triton's, for one model version: rows of concurrent requests are
 * concatenated into one model run of up to `maxBatchSize` rows, and the outputs are split back
 * per request. A batch leaves when it is full, when its oldest request has waited
 * `maxQueueDelayUs`, or — with a delay of 0 — as soon as a run slot is free (a run on the event
 * loop is synchronous, so what arrived during it is merged into the next one). Requests are
 * never split: one larger than `maxBatchSize` runs alone. Disabled, every request runs alone,
 * one at a time per slot, which is what the serving bench compares against.
 *
 * Callers can announce a request before its rows are ready (`expect()`, e.g. while its features
 * are read): a batch then also leaves as soon as every announced request has arrived, so waiting
 * costs nothing when nobody else is on the way (one client alone never waits the delay).
 */
import { performance } from 'node:perf_hooks';
import { larderError } from '../../errors.ts';

/** Feature values of N rows, by feature name (as the model's serving spec names them). */
export type Columns = Readonly<Record<string, readonly unknown[]>>;

/** What one model run over a merged batch reports. */
export interface BatchEvent {
  readonly rows: number;
  readonly requests: number;
  /** How long the batch's oldest request waited before its run started. */
  readonly queueDelayMs: number;
  readonly inferenceMs: number;
  readonly cpuSeconds: number;
}

/** What a run returns: one output per row, and the CPU time it took when the runner measured it. */
export interface RunResult {
  readonly outputs: Float64Array;
  /** CPU seconds of the run; when absent the batcher takes the `process.cpuUsage()` delta. */
  readonly cpuSeconds?: number;
}

/** Runs the model over `n` rows. */
export type BatchRunner = (columns: Columns, n: number) => Promise<RunResult>;

/** How a version's batcher merges requests (Triton's `max_batch_size`, `max_queue_delay_microseconds`). */
export interface BatcherOptions {
  /** Merge concurrent requests (default true); false runs each request alone. */
  readonly enabled?: boolean;
  /** Most rows merged into one run (default 256). A single larger request still runs, alone. */
  readonly maxBatchSize?: number;
  /** How long a batch may wait for more rows, in µs (default 500; 0: leave as soon as a slot is free). */
  readonly maxQueueDelayUs?: number;
  /** Runs in flight at once for this version (default 1). */
  readonly concurrency?: number;
}

/** A request announced to the batcher; submit its rows once, or cancel it. */
/** How a queued request learns that its caller has gone: a signal (listened to) or a check (polled when its batch is cut). */
export interface SubmitOptions {
  readonly signal?: AbortSignal | undefined;
  readonly cancelled?: (() => boolean) | undefined;
}

export interface BatchTicket {
  submit(columns: Columns, n: number, options?: SubmitOptions): Promise<Float64Array>;
  /** The request will not come (it failed before its rows were ready). Safe to call more than once. */
  cancel(): void;
}

interface Queued {
  /** Submitted through a ticket (so the batcher knew it was coming). */
  readonly announced: boolean;
  readonly columns: Columns;
  readonly n: number;
  readonly enqueuedAt: number;
  readonly resolve: (outputs: Float64Array) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
  readonly cancelled: (() => boolean) | undefined;
}

const abortedError = (cause?: unknown): Error => larderError('LARDER_E_ABORTED', { what: 'prediction' }, cause === undefined ? {} : { cause });

/** Merges concurrent requests of one model version into batched runs. */
export class DynamicBatcher {
  readonly #run: BatchRunner;
  readonly #report: (event: BatchEvent) => void;
  readonly #enabled: boolean;
  readonly #maxRows: number;
  readonly #delayMs: number;
  readonly #concurrency: number;
  #queue: Queued[] = [];
  #queuedRows = 0;
  #inFlight = 0;
  #scheduled = false;
  #closed = false;
  #idle: (() => void)[] = [];
  /** Requests announced and not yet submitted or cancelled. */
  #expected = 0;
  /** Queued requests that came without an announcement (more like them may still come). */
  #unannounced = 0;

  constructor(run: BatchRunner, options: BatcherOptions = {}, report: (event: BatchEvent) => void = () => undefined) {
    this.#run = run;
    this.#report = report;
    this.#enabled = options.enabled ?? true;
    this.#maxRows = Math.max(1, options.maxBatchSize ?? 256);
    this.#delayMs = Math.max(0, options.maxQueueDelayUs ?? 500) / 1000;
    this.#concurrency = Math.max(1, options.concurrency ?? 1);
  }

  /** Requests waiting for a run. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * The model's outputs for these rows, run together with whatever else is queued.
   * @throws LARDER_E_UNAVAILABLE after `close()`, LARDER_E_ABORTED when `signal` aborts while
   *   queued or `cancelled()` is true when its batch is cut
   */
  submit(columns: Columns, n: number, options: SubmitOptions = {}): Promise<Float64Array> {
    return this.#enqueue(columns, n, options, false);
  }

  /**
   * Announces a request whose rows are not ready yet: the batcher will not wait for more rows
   * once every announced request has been submitted or cancelled.
   * @example const ticket = batcher.expect(); try { rows = await read(); } catch (e) { ticket.cancel(); throw e; } await ticket.submit(rows, n);
   */
  expect(): BatchTicket {
    this.#expected++;
    let open = true;
    const settle = (): boolean => {
      if (!open) return false;
      open = false;
      this.#expected--;
      return true;
    };
    return {
      submit: (columns, n, options = {}) => {
        settle();
        return this.#enqueue(columns, n, options, true);
      },
      cancel: () => {
        if (settle() && this.#queue.length > 0 && this.#nobodyComing()) this.#pump();
      },
    };
  }

  #nobodyComing(): boolean {
    return this.#expected === 0 && this.#unannounced === 0;
  }

  #enqueue(columns: Columns, n: number, { signal, cancelled }: SubmitOptions, announced: boolean): Promise<Float64Array> {
    if (this.#closed) return Promise.reject(larderError('LARDER_E_UNAVAILABLE', { reason: 'the predictor is shutting down' }));
    if (signal?.aborted) return Promise.reject(abortedError(signal.reason));
    if (cancelled?.() === true) return Promise.reject(abortedError());
    return new Promise<Float64Array>((resolve, reject) => {
      const onAbort = signal === undefined ? undefined : (): void => {
        const at = this.#queue.indexOf(item);
        if (at < 0) return; // already running: its result is simply not awaited by anyone useful
        this.#queue.splice(at, 1);
        this.#queuedRows -= n;
        if (!announced) this.#unannounced--;
        reject(abortedError(signal.reason));
      };
      const item: Queued = { announced, columns, n, enqueuedAt: performance.now(), resolve, reject, signal, onAbort, cancelled };
      signal?.addEventListener('abort', onAbort!, { once: true });
      this.#queue.push(item);
      this.#queuedRows += n;
      if (!announced) this.#unannounced++;
      if (this.#queuedRows >= this.#maxRows || this.#nobodyComing()) this.#pump();
      else this.#schedule();
    });
  }

  /** Stops taking requests and resolves when every queued and running request is answered. */
  close(): Promise<void> {
    this.#closed = true;
    this.#pump();
    if (this.#queue.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#concurrency) return;
    this.#scheduled = true;
    // setImmediate runs after the poll phase, so requests parsed in the same turn merge.
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /** Starts runs while slots are free and a batch is ready; re-arms itself while a batch waits. */
  #pump(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#concurrency) {
      const oldest = this.#queue[0]!;
      const waited = performance.now() - oldest.enqueuedAt;
      const ready = !this.#enabled || this.#closed || this.#queuedRows >= this.#maxRows || waited >= this.#delayMs || this.#nobodyComing();
      if (!ready) {
        this.#wait(this.#delayMs - waited);
        return;
      }
      const batch = this.#take();
      if (batch.length > 0) this.#start(batch);
    }
    if (this.#queue.length === 0 && this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Waits for the delay: a timer for whole milliseconds, event-loop turns below that. */
  #wait(ms: number): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const again = (): void => {
      this.#scheduled = false;
      this.#pump();
    };
    if (ms >= 1) setTimeout(again, ms);
    else setImmediate(again);
  }

  /**
   * The next batch off the queue (one request when disabled). Requests whose caller has gone are
   * answered LARDER_E_ABORTED and left out, so the batch may come back empty.
   */
  #take(): Queued[] {
    const batch: Queued[] = [];
    let rows = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (batch.length > 0 && (!this.#enabled || rows + next.n > this.#maxRows)) break;
      this.#queue.shift();
      this.#queuedRows -= next.n;
      if (!next.announced) this.#unannounced--;
      if (next.cancelled?.() === true) {
        if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
        next.reject(abortedError());
        continue;
      }
      batch.push(next);
      rows += next.n;
    }
    return batch;
  }

  #start(batch: Queued[]): void {
    this.#inFlight++;
    for (const item of batch) if (item.onAbort) item.signal?.removeEventListener('abort', item.onAbort);
    void this.#execute(batch).finally(() => {
      this.#inFlight--;
      this.#pump();
    });
  }

  async #execute(batch: Queued[]): Promise<void> {
    const started = performance.now();
    const rows = batch.reduce((sum, item) => sum + item.n, 0);
    const columns = batch.length === 1 ? batch[0]!.columns : mergeColumns(batch.map((item) => item.columns), rows);
    const cpu = process.cpuUsage();
    let result: RunResult;
    try {
      result = await this.#run(columns, rows);
      if (result.outputs.length !== rows) {
        throw larderError('LARDER_E_MODEL_INVALID', { what: 'output', reason: `the run returned ${result.outputs.length} values for ${rows} rows` });
      }
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    const used = process.cpuUsage(cpu);
    const inferenceMs = performance.now() - started;
    let offset = 0;
    for (const item of batch) {
      item.resolve(result.outputs.subarray(offset, offset + item.n));
      offset += item.n;
    }
    this.#report({
      rows, requests: batch.length, queueDelayMs: started - batch[0]!.enqueuedAt, inferenceMs,
      cpuSeconds: result.cpuSeconds ?? (used.user + used.system) / 1e6,
    });
  }
}

/** Concatenates the columns of several requests, feature by feature. */
export function mergeColumns(parts: readonly Columns[], rows: number): Columns {
  const names = Object.keys(parts[0] ?? {});
  const out: Record<string, unknown[]> = {};
  for (const name of names) {
    const column = new Array<unknown>(rows);
    let offset = 0;
    for (const part of parts) {
      const source = part[name];
      if (source === undefined) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `feature '${name}' is missing from a merged request` });
      for (let i = 0; i < source.length; i++) column[offset + i] = source[i];
      offset += source.length;
    }
    out[name] = column;
  }
  return out;
}
