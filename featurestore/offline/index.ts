/**
 * @module offline
 * The offline store: the `OfflineStore` contract and its DuckDB implementation.
 */
export type {
  EntityInput, HistoricalRequest, OfflineStore, PulledBatch, PullRequest, RetrievalJob, SourceColumn, SourceFingerprint,
} from './store.ts';
export { createDuckDBOfflineStore } from './duckdb-store.ts';
export type { DuckDBOfflineStoreOptions } from './duckdb-store.ts';
