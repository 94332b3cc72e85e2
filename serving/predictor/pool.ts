/**
 * @module serving/predictor/pool
 * A `worker_threads` pool for heavy models: every thread holds a session of each model opened in
 * the pool, and a run goes to the thread with the fewest runs in flight, so a long
 * `session.run` never blocks the main event loop. Feeds and outputs cross as transferred typed
 * arrays (no copy). A thread that exits is replaced and its models reloaded; runs it had in flight
 * fail with 503. Threads run TypeScript through tsx, as `larder` itself does, so the pool works
 * the same under `node bin/larder.js` and vitest.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LarderError, larderError, type ErrorCode } from '../../errors.ts';
import { transferList, type PoolReply, type PoolRequest } from './pool-protocol.ts';
import type { RawRunResult, RawSession } from './session.ts';

/** Size of an `InferencePool` and of its sessions. */
export interface InferencePoolOptions {
  /** Worker threads (default 1). */
  readonly size?: number;
  /** onnxruntime intra-op threads per session inside each worker (default 1). */
  readonly threads?: number;
}

interface Pending {
  readonly resolve: (reply: PoolReply) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  /** Whether the thread ever answered: one that dies before cannot start, and is not respawned. */
  answered: boolean;
}

const ENTRY = new URL('./pool-worker.ts', import.meta.url);

/** Code that registers tsx in the new thread, then loads the worker entry. */
function bootstrap(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  const api = pathToFileURL(join(dirname(manifest), pkg.exports['./esm/api']!.import.default)).href;
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(ENTRY.href)}); })`;
}

function errorOf(error: NonNullable<PoolReply['error']>): Error {
  return error.code === undefined ? new Error(error.message) : new LarderError(error.code as ErrorCode, error.message, { details: error.details });
}

/** Worker threads holding onnxruntime sessions. Close it to stop them. */
export class InferencePool {
  readonly #size: number;
  readonly #threads: number;
  readonly #slots: Slot[] = [];
  /** Models opened in the pool, replayed into a replacement thread. */
  readonly #models = new Map<number, { bytes: Uint8Array; what: string }>();
  #code: string | undefined;
  #nextId = 0;
  #nextKey = 0;
  #closed = false;
  /** Messages sent and not answered yet, which `close()` waits for. */
  readonly #inFlight = new Set<Promise<void>>();
  /** Why the pool cannot run anything (a thread could not start). */
  #broken: string | undefined;

  constructor(options: InferencePoolOptions = {}) {
    this.#size = Math.max(1, options.size ?? 1);
    this.#threads = Math.max(1, options.threads ?? 1);
  }

  /** Threads running. */
  get size(): number {
    return this.#slots.length;
  }

  /** The worker threads, for health checks and tests. */
  get workers(): readonly Worker[] {
    return this.#slots.map((slot) => slot.worker);
  }

  #spawn(index: number): Slot {
    this.#code ??= bootstrap();
    const slot: Slot = { worker: new Worker(this.#code, { eval: true, workerData: { threads: this.#threads } }), pending: new Map(), answered: false };
    slot.worker.on('message', (reply: PoolReply) => {
      slot.answered = true;
      const pending = slot.pending.get(reply.id);
      slot.pending.delete(reply.id);
      pending?.resolve(reply);
    });
    const fail = (reason: string): void => {
      for (const pending of slot.pending.values()) pending.reject(larderError('LARDER_E_UNAVAILABLE', { reason: `an inference thread ${reason}` }));
      slot.pending.clear();
    };
    slot.worker.on('error', (error) => fail(`failed (${error.message})`));
    slot.worker.on('exit', (code) => {
      fail(`exited with code ${code}`);
      if (this.#closed || this.#slots[index] !== slot) return;
      if (!slot.answered) {
        // It never started (e.g. tsx or onnxruntime missing): respawning would only loop.
        this.#broken ??= `inference threads cannot start (the first exited with code ${code})`;
        return;
      }
      const replacement = this.#spawn(index);
      this.#slots[index] = replacement;
      for (const [key, model] of this.#models) void this.#send(replacement, { op: 'load', id: this.#nextId++, key, what: model.what, bytes: model.bytes }).catch(() => undefined);
    });
    return slot;
  }

  #send(slot: Slot, message: PoolRequest, transfer: ArrayBuffer[] = []): Promise<PoolReply> {
    const sent = new Promise<PoolReply>((resolve, reject) => {
      slot.pending.set(message.id, {
        resolve: (reply) => (reply.ok ? resolve(reply) : reject(errorOf(reply.error ?? { message: 'unknown failure' }))),
        reject,
      });
      slot.worker.postMessage(message, transfer);
    });
    const settled = sent.then(() => undefined, () => undefined);
    this.#inFlight.add(settled);
    void settled.then(() => this.#inFlight.delete(settled));
    return sent;
  }

  #start(): void {
    if (this.#closed) throw larderError('LARDER_E_UNAVAILABLE', { reason: 'the inference pool is closed' });
    if (this.#broken !== undefined) throw larderError('LARDER_E_UNAVAILABLE', { reason: this.#broken });
    while (this.#slots.length < this.#size) this.#slots.push(this.#spawn(this.#slots.length));
  }

  /**
   * Loads verified ONNX bytes into every thread; the session runs in whichever thread is least busy.
   * @throws LARDER_E_MODEL_INVALID when onnxruntime cannot load them
   */
  async open(bytes: Uint8Array, what: string): Promise<RawSession> {
    this.#start();
    const key = this.#nextKey++;
    this.#models.set(key, { bytes, what });
    try {
      await Promise.all(this.#slots.map((slot) => this.#send(slot, { op: 'load', id: this.#nextId++, key, what, bytes })));
    } catch (error) {
      this.#models.delete(key);
      // Threads that did load it let it go again.
      await Promise.all(this.#slots.map((slot) => this.#send(slot, { op: 'release', id: this.#nextId++, key }).catch(() => undefined)));
      throw error;
    }
    return {
      run: async (feeds, outputs): Promise<RawRunResult> => {
        this.#start();
        const slot = this.#slots.reduce((best, s) => (s.pending.size < best.pending.size ? s : best));
        const reply = await this.#send(slot, { op: 'run', id: this.#nextId++, key, feeds, outputs }, transferList(Object.values(feeds)));
        return { outputs: reply.outputs ?? {}, ...(reply.cpuSeconds === undefined ? {} : { cpuSeconds: reply.cpuSeconds }) };
      },
      release: async () => {
        if (!this.#models.delete(key) || this.#closed) return;
        await Promise.all(this.#slots.map((slot) => this.#send(slot, { op: 'release', id: this.#nextId++, key }).catch(() => undefined)));
      },
    };
  }

  /**
   * Refuses new runs, lets the runs in flight finish, then stops the threads. (A thread must not
   * be terminated inside `session.run`: onnxruntime-node then aborts the whole process.)
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }
}
