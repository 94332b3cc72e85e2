/**
 * @module serving/predictor/prediction-log
 * The prediction log: every prediction served (sampled at `sampleRate`) with the feature values
 * and statuses it was made from, appended to Parquet under
 * `<project>/.larder/predictions/day=YYYY-MM-DD/model=NAME/part-<epoch ms>-<pid>-<seq>.parquet`.
 * Records wait in memory and are written when `flushRows` are buffered, every `flushMs`, and on
 * `close()` (which waits for the write, so a graceful shutdown loses nothing). Each flush writes
 * one file per (day, model) through DuckDB (NDJSON staged beside it, read by `read_json`), under a
 * dot-name first and then renamed, so readers globbing `*.parquet` never see half a file. Labels that arrive later join on `id` (see
 * `predictionLogGlob` and the `joins the log with labels` test):
 *
 * ```sql
 * SELECT p.id, p.time, p.version, p.output, l.label
 * FROM read_parquet(<predictionLogGlob(dir, 'churn')>, hive_partitioning = true) p
 * JOIN read_parquet('labels.parquet') l ON l.prediction_id = p.id;
 * ```
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isLarderError, larderError, reasonOf } from '../../errors.ts';
import { DuckDBEngine } from '../../featurestore/offline/duckdb.ts';
import { sqlLiteral } from '../../featurestore/offline/sql.ts';
import { jsonValue, quote, recordText } from '../json-text.ts';

/** Sampling, flushing and placement of the prediction log. */
export interface PredictionLogOptions {
  /** Share of predictions logged, 0..1 (default 1: all). Sampling is per prediction. */
  readonly sampleRate?: number;
  /** Buffered predictions that trigger a write (default 10,000). */
  readonly flushRows?: number;
  /** Longest a prediction waits in memory, in ms (default 5,000). */
  readonly flushMs?: number;
  /** Where the files go (default `<project>/.larder/predictions`). */
  readonly dir?: string;
  /** Called when a write fails; the records stay buffered for the next flush. Default: console.error. */
  readonly onError?: (error: unknown) => void;
  /** The sampling coin, for tests (default Math.random). */
  readonly random?: () => number;
}

/** One logged prediction. */
export interface PredictionRecord {
  readonly id: string;
  readonly time: Date;
  readonly model: string;
  readonly version: string;
  /** The entity row as the request gave it (join keys and request fields). */
  readonly entity: Readonly<Record<string, unknown>>;
  readonly features: Readonly<Record<string, unknown>>;
  readonly statuses: Readonly<Record<string, string>>;
  readonly output: number | null;
  readonly latencyMs: number;
  readonly degraded: boolean;
}

/** Counters of the log since it was opened. */
export interface PredictionLogStats {
  readonly offered: number;
  readonly sampled: number;
  readonly written: number;
  readonly files: number;
  readonly buffered: number;
  /** Records dropped because writes kept failing and the buffer reached 10 × flushRows. */
  readonly dropped: number;
}

/** The columns of a prediction log file, in order (entity, features, statuses are JSON text). */
export const PREDICTION_LOG_COLUMNS = ['id', 'time', 'model', 'version', 'entity', 'features', 'statuses', 'output', 'latency_ms', 'degraded'] as const;

/**
 * The glob of a model's log files (every model's when `model` is omitted), for `read_parquet`.
 * @example `SELECT count(*) FROM read_parquet('${predictionLogGlob(dir, 'churn')}', hive_partitioning = true)`
 */
export function predictionLogGlob(dir: string, model?: string): string {
  return join(dir, 'day=*', `model=${model ?? '*'}`, '*.parquet');
}

/**
 * Record → one NDJSON line; nested objects stay JSON and become JSON text columns in the file.
 * The features' and statuses' text is remembered for the HTTP answer (`recordText`), which
 * writes the same objects right after.
 */
function line(r: PredictionRecord): string {
  try {
    return `{"id":${quote(r.id)},"time_ms":${jsonValue(r.time.getTime())},"model":${quote(r.model)},"version":${quote(r.version)}` +
      `,"entity":${JSON.stringify(r.entity)},"features":${recordText(r.features, true)},"statuses":${recordText(r.statuses, true)}` +
      `,"output":${jsonValue(r.output)},"latency_ms":${jsonValue(r.latencyMs)},"degraded":${r.degraded ? 'true' : 'false'}}`;
  } catch {
    const row = {
      id: r.id, time_ms: r.time.getTime(), model: r.model, version: r.version, entity: r.entity, features: r.features,
      statuses: r.statuses, output: r.output, latency_ms: r.latencyMs, degraded: r.degraded,
    };
    // Only bigints (which JSON cannot hold) get here; a replacer on every record would cost more.
    return JSON.stringify(row, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

/** Removes a staging file, if there is one; failing to is not worth a second error. */
async function discard(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => undefined);
}

/** Lines written to the staging file per event-loop turn. */
const WRITE_SLICE = 1000;

/** The NDJSON staging file → the Parquet columns, in order. */
const COPY_SELECT = `SELECT id, make_timestamp(CAST(round(time_ms * 1000) AS BIGINT)) AS time, model, version,
  CAST(entity AS VARCHAR) AS entity, CAST(features AS VARCHAR) AS features, CAST(statuses AS VARCHAR) AS statuses,
  output, latency_ms, degraded`;
const JSON_COLUMNS = `{id: 'VARCHAR', time_ms: 'DOUBLE', model: 'VARCHAR', version: 'VARCHAR', entity: 'JSON', features: 'JSON',
  statuses: 'JSON', output: 'DOUBLE', latency_ms: 'DOUBLE', degraded: 'BOOLEAN'}`;

/**
 * The prediction log of one serving process. Close it to write the tail.
 *
 * Records are serialized when offered (a few µs each, spread over the requests), so a flush
 * costs the event loop only a string join; DuckDB reads the lines and writes Parquet on its own
 * threads.
 */
export class PredictionLog {
  readonly dir: string;
  readonly #projectDir: string;
  readonly #rate: number;
  readonly #flushRows: number;
  readonly #onError: (error: unknown) => void;
  readonly #random: () => number;
  readonly #timer: NodeJS.Timeout;
  /** NDJSON lines by partition (`day=…/model=…`). */
  #buffer = new Map<string, string[]>();
  #buffered = 0;
  #writing: Promise<void> = Promise.resolve();
  #engine: Promise<DuckDBEngine> | undefined;
  #seq = 0;
  #lastPartition: { readonly day: number; readonly model: string; readonly text: string } | undefined;
  #closed = false;
  #stats = { offered: 0, sampled: 0, written: 0, files: 0, dropped: 0 };

  constructor(projectDir: string, options: PredictionLogOptions = {}) {
    this.#projectDir = projectDir;
    this.dir = options.dir ?? join(projectDir, '.larder', 'predictions');
    this.#rate = Math.min(1, Math.max(0, options.sampleRate ?? 1));
    this.#flushRows = Math.max(1, options.flushRows ?? 10_000);
    this.#onError = options.onError ?? ((error) => console.error(`larder: prediction log write failed: ${reasonOf(error)}`));
    this.#random = options.random ?? Math.random;
    this.#timer = setInterval(() => void this.flush().catch(() => undefined), Math.max(10, options.flushMs ?? 5_000));
    this.#timer.unref();
  }

  get stats(): PredictionLogStats {
    return { ...this.#stats, buffered: this.#buffered };
  }

  /** Offers predictions to the log; each is kept with probability `sampleRate`. */
  append(records: readonly PredictionRecord[]): void {
    if (this.#closed) return;
    this.#stats.offered += records.length;
    for (const record of records) {
      if (this.#rate < 1 && this.#random() >= this.#rate) continue;
      const partition = this.#partition(record);
      let lines = this.#buffer.get(partition);
      if (lines === undefined) this.#buffer.set(partition, lines = []);
      lines.push(line(record));
      this.#buffered++;
      this.#stats.sampled++;
    }
    if (this.#buffered >= this.#flushRows) void this.flush().catch(() => undefined);
  }

  /** `day=YYYY-MM-DD/model=NAME`; the last one is kept, since a request's records share it. */
  #partition(record: PredictionRecord): string {
    const day = Math.floor(record.time.getTime() / 86_400_000);
    const last = this.#lastPartition;
    if (last !== undefined && last.day === day && last.model === record.model) return last.text;
    const text = `day=${record.time.toISOString().slice(0, 10)}/model=${record.model}`;
    this.#lastPartition = { day, model: record.model, text };
    return text;
  }

  /** Writes what is buffered; resolves when it (and any write before it) is on disk. */
  flush(): Promise<void> {
    const groups = this.#buffer;
    this.#buffer = new Map();
    this.#buffered = 0;
    const write = this.#writing.then(() => this.#write(groups));
    this.#writing = write.catch(() => undefined);
    return write;
  }

  /** Stops sampling, writes the tail and releases DuckDB. */
  async close(): Promise<void> {
    if (this.#closed) return this.#writing;
    this.#closed = true;
    clearInterval(this.#timer);
    try {
      await this.flush();
    } finally {
      const engine = this.#engine;
      this.#engine = undefined;
      if (engine) (await engine.catch(() => undefined))?.close();
    }
  }

  async #write(groups: Map<string, string[]>): Promise<void> {
    let failure: unknown;
    for (const [partition, lines] of groups) {
      try {
        await this.#writeFile(partition, lines);
        this.#stats.written += lines.length;
        this.#stats.files++;
      } catch (error) {
        this.#requeue(partition, lines);
        this.#onError(error);
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** Puts lines that could not be written back in front, keeping at most 10 × flushRows. */
  #requeue(partition: string, lines: string[]): void {
    const cap = this.#flushRows * 10;
    const kept = lines.slice(Math.max(0, lines.length + this.#buffered - cap));
    this.#stats.dropped += lines.length - kept.length;
    this.#buffer.set(partition, [...kept, ...(this.#buffer.get(partition) ?? [])]);
    this.#buffered += kept.length;
  }

  async #writeFile(partition: string, lines: readonly string[]): Promise<void> {
    const folder = join(this.dir, ...partition.split('/'));
    const name = `part-${Date.now()}-${process.pid}-${String(++this.#seq).padStart(6, '0')}.parquet`;
    const staged = join(folder, `.${name}.tmp`);
    const input = join(folder, `.${name}.ndjson.tmp`);
    try {
      await mkdir(folder, { recursive: true });
      const file = await open(input, 'w');
      try {
        // In slices: joining 10,000 lines at once would hold the event loop for ~10 ms.
        for (let i = 0; i < lines.length; i += WRITE_SLICE) await file.write(`${lines.slice(i, i + WRITE_SLICE).join('\n')}\n`);
      } finally {
        await file.close();
      }
    } catch (error) {
      await discard(input);
      throw larderError('LARDER_E_IO', { path: folder, reason: reasonOf(error) }, { cause: error });
    }
    try {
      this.#engine ??= DuckDBEngine.open({ path: ':memory:', projectDir: this.#projectDir, threads: 1 });
      const engine = await this.#engine;
      await engine.withSession((session) => session.run(`COPY (${COPY_SELECT}
        FROM read_json(${sqlLiteral(input)}, format = 'newline_delimited', columns = ${JSON_COLUMNS})
      ) TO ${sqlLiteral(staged)} (FORMAT parquet)`));
      await rename(staged, join(folder, name));
    } catch (error) {
      await discard(staged);
      throw isLarderError(error) ? error : larderError('LARDER_E_IO', { path: staged, reason: reasonOf(error) }, { cause: error });
    } finally {
      await discard(input);
    }
  }
}
