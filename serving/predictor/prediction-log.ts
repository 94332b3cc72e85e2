/**
 * @module serving/predictor/prediction-log
 * The prediction log: every prediction served (sampled at `sampleRate`) with the feature values
 * and statuses it was made from, appended to Parquet under
 * `<project>/.larder/predictions/day=YYYY-MM-DD/model=NAME/part-<epoch ms>-<pid>-<seq>.parquet`.
 * Records wait in memory and are written when `flushRows` are buffered, every `flushMs`, and on
 * `close()` (which waits for the write, so a graceful shutdown loses nothing). Each flush writes
 * one file per (day, model) through DuckDB, under a dot-name first and then renamed, so readers
 * globbing `*.parquet` never see half a file. Labels that arrive later join on `id` (see
 * `predictionLogGlob` and the `joins the log with labels` test):
 *
 * ```sql
 * SELECT p.id, p.time, p.version, p.output, l.label
 * FROM read_parquet(<predictionLogGlob(dir, 'churn')>, hive_partitioning = true) p
 * JOIN read_parquet('labels.parquet') l ON l.prediction_id = p.id;
 * ```
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { larderError, reasonOf } from '../../errors.ts';
import { DuckDBEngine } from '../../featurestore/offline/duckdb.ts';
import { sqlLiteral } from '../../featurestore/offline/sql.ts';

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

function json(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** The prediction log of one serving process. Close it to write the tail. */
export class PredictionLog {
  readonly dir: string;
  readonly #projectDir: string;
  readonly #rate: number;
  readonly #flushRows: number;
  readonly #onError: (error: unknown) => void;
  readonly #random: () => number;
  readonly #timer: NodeJS.Timeout;
  #buffer: PredictionRecord[] = [];
  #writing: Promise<void> = Promise.resolve();
  #engine: Promise<DuckDBEngine> | undefined;
  #seq = 0;
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
    return { ...this.#stats, buffered: this.#buffer.length };
  }

  /** Offers predictions to the log; each is kept with probability `sampleRate`. */
  append(records: readonly PredictionRecord[]): void {
    if (this.#closed) return;
    this.#stats.offered += records.length;
    for (const record of records) {
      if (this.#rate < 1 && this.#random() >= this.#rate) continue;
      this.#buffer.push(record);
      this.#stats.sampled++;
    }
    if (this.#buffer.length >= this.#flushRows) void this.flush().catch(() => undefined);
  }

  /** Writes what is buffered; resolves when it (and any write before it) is on disk. */
  flush(): Promise<void> {
    const records = this.#buffer;
    this.#buffer = [];
    const write = this.#writing.then(() => this.#write(records));
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

  async #write(records: PredictionRecord[]): Promise<void> {
    if (records.length === 0) return;
    const groups = new Map<string, PredictionRecord[]>();
    for (const record of records) {
      const key = `day=${record.time.toISOString().slice(0, 10)}/model=${record.model}`;
      let group = groups.get(key);
      if (group === undefined) groups.set(key, group = []);
      group.push(record);
    }
    for (const [partition, group] of groups) {
      try {
        await this.#writeFile(partition, group);
        this.#stats.written += group.length;
        this.#stats.files++;
      } catch (error) {
        this.#requeue(group);
        this.#onError(error);
        throw error;
      }
    }
  }

  #requeue(records: PredictionRecord[]): void {
    this.#buffer = [...records, ...this.#buffer];
    const cap = this.#flushRows * 10;
    if (this.#buffer.length > cap) {
      this.#stats.dropped += this.#buffer.length - cap;
      this.#buffer = this.#buffer.slice(this.#buffer.length - cap);
    }
  }

  async #writeFile(partition: string, records: readonly PredictionRecord[]): Promise<void> {
    const folder = join(this.dir, ...partition.split('/'));
    const name = `part-${Date.now()}-${process.pid}-${String(++this.#seq).padStart(6, '0')}.parquet`;
    const staged = join(folder, `.${name}.tmp`);
    try {
      await mkdir(folder, { recursive: true });
    } catch (error) {
      throw larderError('LARDER_E_IO', { path: folder, reason: reasonOf(error) }, { cause: error });
    }
    this.#engine ??= DuckDBEngine.open({ path: ':memory:', projectDir: this.#projectDir, threads: 1 });
    const engine = await this.#engine;
    await engine.withSession(async (session) => {
      await session.run(`CREATE TEMP TABLE larder_predictions (id VARCHAR, time_ms DOUBLE, model VARCHAR, version VARCHAR,
        entity VARCHAR, features VARCHAR, statuses VARCHAR, output DOUBLE, latency_ms DOUBLE, degraded BOOLEAN)`);
      const appender = await session.connection.createAppender('larder_predictions');
      for (const r of records) {
        appender.appendVarchar(r.id);
        appender.appendDouble(r.time.getTime());
        appender.appendVarchar(r.model);
        appender.appendVarchar(r.version);
        appender.appendVarchar(json(r.entity));
        appender.appendVarchar(json(r.features));
        appender.appendVarchar(json(r.statuses));
        if (r.output === null || Number.isNaN(r.output)) appender.appendNull(); else appender.appendDouble(r.output);
        appender.appendDouble(r.latencyMs);
        appender.appendBoolean(r.degraded);
        appender.endRow();
      }
      appender.closeSync();
      await session.run(`COPY (
        SELECT id, make_timestamp(CAST(round(time_ms * 1000) AS BIGINT)) AS time, model, version,
               entity, features, statuses, output, latency_ms, degraded
        FROM larder_predictions
      ) TO ${sqlLiteral(staged)} (FORMAT parquet)`);
    });
    try {
      await rename(staged, join(folder, name));
    } catch (error) {
      await rm(staged, { force: true });
      throw larderError('LARDER_E_IO', { path: staged, reason: reasonOf(error) }, { cause: error });
    }
  }
}
