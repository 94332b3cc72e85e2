/**
 * @module offline/duckdb
 * The DuckDB engine behind the offline store, and the one place DuckDB failures are turned
 * into Larder errors.
 *
 * Why the engine is in memory, not the file at `offline.path`: a DuckDB file opened for
 * writing is locked to one process, so `larder serve` (materializing on a schedule) and
 * `larder dataset` in another terminal would lock each other out. The offline store keeps no
 * state of its own in DuckDB — sources are read in place, entity frames are per-job tables,
 * datasets are Parquet files — so it needs no database file and takes no lock: any number of
 * processes can work on the same project at once. `path` still decides where DuckDB spills
 * (a private temporary folder beside it, removed on `close()`), so sources larger than memory
 * and million-row entity frames run with bounded memory (`memoryLimit`).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBResult } from '@duckdb/node-api';
import { isLarderError, larderError, reasonOf, type LarderError } from '../../errors.ts';
import { sqlLiteral } from './sql.ts';

export interface EngineOptions {
  /** Locates the spill folder; `':memory:'` spills under the OS temp folder. */
  readonly path: string;
  /** Relative paths in SQL sources and entity queries resolve against it. */
  readonly projectDir: string;
  /** DuckDB `memory_limit`, e.g. `'4GB'`; DuckDB's default is 80% of RAM. */
  readonly memoryLimit?: string;
  readonly threads?: number;
  /** Where DuckDB spills; default: a private folder beside `path`. */
  readonly tempDirectory?: string;
}

export class DuckDBEngine {
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly projectDir: string,
    private readonly ownedTempDir: string | undefined,
  ) {}

  static async open(options: EngineOptions): Promise<DuckDBEngine> {
    const projectDir = resolve(options.projectDir);
    let tempDir = options.tempDirectory;
    let owned: string | undefined;
    try {
      if (tempDir === undefined) {
        const base = options.path === ':memory:' ? tmpdir() : dirname(resolve(projectDir, options.path));
        mkdirSync(base, { recursive: true });
        owned = mkdtempSync(resolve(base, '.larder-spill-'));
        tempDir = owned;
      } else {
        mkdirSync(tempDir, { recursive: true });
      }
    } catch (error) {
      throw larderError('LARDER_E_IO', { path: tempDir ?? options.path, reason: reasonOf(error) }, { cause: error });
    }
    const config: Record<string, string> = { temp_directory: tempDir, preserve_insertion_order: 'true' };
    if (options.memoryLimit !== undefined) config['memory_limit'] = options.memoryLimit;
    if (options.threads !== undefined) config['threads'] = String(options.threads);
    try {
      const instance = await DuckDBInstance.create(':memory:', config);
      return new DuckDBEngine(instance, projectDir, owned);
    } catch (error) {
      if (owned) rmSync(owned, { recursive: true, force: true });
      throw larderError('LARDER_E_QUERY_FAILED', { reason: `could not start DuckDB: ${reasonOf(error)}` }, { cause: error, details: { config } });
    }
  }

  /** A new session: its own connection, UTC time zone, project-relative file paths. */
  async session(signal?: AbortSignal): Promise<Session> {
    if (this.closed) throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'the offline store is closed' });
    const connection = await this.instance.connect();
    const session = new Session(connection, signal);
    try {
      // ICU is built in but not autoloaded. Without it DuckDB already treats TIMESTAMPTZ as UTC.
      const icu = await connection.run('LOAD icu').then(() => true, () => false);
      if (icu) await session.run(`SET TimeZone = 'UTC'`);
      await session.run(`SET file_search_path = ${sqlLiteral(this.projectDir)}`);
    } catch (error) {
      session.close();
      throw error;
    }
    return session;
  }

  /** Runs `work` in a fresh session and closes it afterwards. */
  async withSession<T>(work: (session: Session) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const session = await this.session(signal);
    try {
      return await work(session);
    } finally {
      session.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.instance.closeSync();
    if (this.ownedTempDir) rmSync(this.ownedTempDir, { recursive: true, force: true });
  }
}

/** One DuckDB connection. Aborting `signal` interrupts whatever it is running. */
export class Session {
  private readonly onAbort: () => void;

  constructor(readonly connection: DuckDBConnection, readonly signal: AbortSignal | undefined) {
    this.onAbort = () => connection.interrupt();
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Throws `LARDER_E_ABORTED` if the request was aborted. */
  checkAborted(what = 'point-in-time query'): void {
    if (this.signal?.aborted) throw larderError('LARDER_E_ABORTED', { what }, { cause: this.signal.reason });
  }

  async run(sql: string): Promise<void> {
    this.checkAborted();
    try {
      await this.connection.run(sql);
    } catch (error) {
      throw this.queryError(error, sql);
    }
  }

  /** Runs a query and returns all its rows as JSON-friendly objects. For small results only. */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    this.checkAborted();
    try {
      const reader = await this.connection.runAndReadAll(sql);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    } catch (error) {
      throw this.queryError(error, sql);
    }
  }

  /** Runs a query to completion; its result is held by DuckDB and read chunk by chunk. */
  async query(sql: string): Promise<DuckDBResult> {
    this.checkAborted();
    try {
      return await this.connection.run(sql);
    } catch (error) {
      throw this.queryError(error, sql);
    }
  }

  /** Starts a query whose result is read chunk by chunk as it is produced. */
  async stream(sql: string): Promise<DuckDBResult> {
    this.checkAborted();
    try {
      return await this.connection.stream(sql);
    } catch (error) {
      throw this.queryError(error, sql);
    }
  }

  /** Wraps a DuckDB failure: `LARDER_E_ABORTED` after an abort, else `LARDER_E_QUERY_FAILED` with the SQL. */
  queryError(error: unknown, sql: string): LarderError {
    if (isLarderError(error)) return error;
    if (this.signal?.aborted) return larderError('LARDER_E_ABORTED', { what: 'point-in-time query' }, { cause: error });
    const reason = reasonOf(error).split('\n')[0] ?? 'unknown error';
    return larderError('LARDER_E_QUERY_FAILED', { reason }, { details: { sql }, cause: error });
  }

  close(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.connection.closeSync();
  }
}
