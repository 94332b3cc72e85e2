import { createRedisOnlineStore } from './redis-store.ts';
import { onlineStoreSuite } from './online-store.suite.ts';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
onlineStoreSuite('redis', async () => createRedisOnlineStore({ url, timeoutMs: 2000 }));
