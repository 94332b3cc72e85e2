/**
 * @module open-online
 * Connects the online store a project's config names: Redis when `online.type` is `redis`, else
 * the embedded memory store persisted under the project (`.larder/online`). Each implementation is
 * imported only here and only when used, so a project that never serves never loads ioredis.
 */
import type { ResolvedConfig } from './config.ts';
import type { OnlineStore } from './online/store.ts';

/** The online store of `config`; the caller closes it. */
export async function openOnlineStore(config: ResolvedConfig): Promise<OnlineStore> {
  if (config.online.type === 'redis') {
    const { createRedisOnlineStore } = await import('./online/redis-store.ts');
    return createRedisOnlineStore({
      url: config.online.url,
      ...(config.online.timeoutMs === undefined ? {} : { timeoutMs: config.online.timeoutMs }),
    });
  }
  const { createMemoryOnlineStore } = await import('./online/memory-store.ts');
  return createMemoryOnlineStore({ dir: config.online.path });
}
