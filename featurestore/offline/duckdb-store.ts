/**
 * @module offline/duckdb-store
 * The DuckDB implementation of {@link OfflineStore}: sources are read in place, point-in-time
 * joins are ASOF joins (`pit-sql.ts`), datasets are written as Parquet. See `duckdb.ts` for
 * why the engine holds no database file lock.
 */
import { larderError } from '../../errors.ts';
import type { BatchSourceDef, PushSourceDef } from '../define/definitions.ts';
import type { DefinitionIssue, ProjectDefinitions } from '../define/project.ts';
import { DuckDBEngine, type EngineOptions } from './duckdb.ts';
import { contentHash, fingerprintSource } from './fingerprint.ts';
import { DuckDBRetrievalJob } from './retrieval-job.ts';
import { countLatest, pullLatest } from './pull.ts';
import { appendPushedRows } from './push-append.ts';
import { checkSchemas } from './schema-check.ts';
import { assertSourceFiles, describeSource } from './sources.ts';
import type {
  HistoricalRequest, OfflineStore, PulledBatch, PullRequest, RetrievalJob, SourceColumn, SourceFingerprint,
} from './store.ts';

export type DuckDBOfflineStoreOptions = EngineOptions;

class DuckDBOfflineStore implements OfflineStore {
  constructor(private readonly engine: DuckDBEngine) {}

  getHistoricalFeatures(request: HistoricalRequest): RetrievalJob {
    return new DuckDBRetrievalJob(this.engine, request);
  }

  describeSource(source: BatchSourceDef): Promise<SourceColumn[]> {
    return this.engine.withSession((s) => describeSource(s, source, this.engine.projectDir));
  }

  checkSchemas(project: ProjectDefinitions): Promise<DefinitionIssue[]> {
    return this.engine.withSession((s) => checkSchemas(s, project, this.engine.projectDir));
  }

  fingerprintSource(source: BatchSourceDef): Promise<SourceFingerprint> {
    return this.engine.withSession((s) => fingerprintSource(s, source, this.engine.projectDir));
  }

  appendPushed(source: PushSourceDef, rows: readonly Record<string, unknown>[], signal?: AbortSignal): Promise<string> {
    return this.engine.withSession((s) => appendPushedRows(s, this.engine.projectDir, source, rows), signal);
  }

  contentHashOf(parquetPath: string): Promise<{ rows: number; contentHash: string }> {
    return this.engine.withSession((s) => contentHash(s, parquetPath));
  }

  async *pullLatest(request: PullRequest): AsyncGenerator<PulledBatch> {
    const session = await this.engine.session(request.signal);
    try {
      await assertSourceFiles(session, request.view.source, this.engine.projectDir);
      yield* pullLatest(session, request, this.engine.projectDir);
    } finally {
      session.close();
    }
  }

  countLatest(request: PullRequest): Promise<number> {
    return this.engine.withSession(async (s) => {
      await assertSourceFiles(s, request.view.source, this.engine.projectDir);
      return countLatest(s, request, this.engine.projectDir);
    }, request.signal);
  }

  async close(): Promise<void> {
    this.engine.close();
  }
}

/**
 * Opens the DuckDB offline store of a project.
 * @example const offline = await createDuckDBOfflineStore({ path: '.larder/offline.duckdb', projectDir: dir });
 */
export async function createDuckDBOfflineStore(options: DuckDBOfflineStoreOptions): Promise<OfflineStore> {
  if (typeof options?.path !== 'string' || typeof options.projectDir !== 'string') {
    throw larderError('LARDER_E_CONFIG_INVALID', { path: 'offline', reason: 'the offline store needs a path and a projectDir' });
  }
  return new DuckDBOfflineStore(await DuckDBEngine.open(options));
}
