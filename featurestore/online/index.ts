/**
 * @module online
 * The online store: the latest feature values per entity, for serving. The `OnlineStore`
 * contract, its Redis and embedded memory implementations, the canonical entity key and the
 * conformance suite both implementations run (online-store.suite.ts, imported by tests only).
 */
export type { OnlineRow, OnlineStore, OnlineViewLayout, ReadRequest, StoredRow, WriteResult } from './store.ts';
export { DEFAULT_EXPIRY_GRACE_MS, atLeastAsFresh, expiresAt } from './store.ts';
export { encodeEntityKey, decodeEntityKey } from './entity-key.ts';
export { createRedisOnlineStore } from './redis-store.ts';
export type { RedisOnlineStoreOptions } from './redis-store.ts';
export { createMemoryOnlineStore } from './memory-store.ts';
export type { MemoryOnlineStoreOptions } from './memory-store.ts';
