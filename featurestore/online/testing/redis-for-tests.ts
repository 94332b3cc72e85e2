/**
 * @module redis-for-tests
 * Whether the Redis at `REDIS_URL` answers, for test files that need it. In CI an unreachable
 * Redis fails the file; elsewhere its Redis tests are skipped with a loud warning.
 */
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export async function redisReachable(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** True when the tests named by `what` can run against Redis; throws in CI when they cannot. */
export async function requireRedisForTests(what: string, url = TEST_REDIS_URL): Promise<boolean> {
  if (await redisReachable(url)) return true;
  if (process.env['CI']) throw new Error(`Redis at ${url} is not reachable; in CI ${what} must run`);
  console.warn(`\n⚠️  Redis at ${url} is not reachable: SKIPPING ${what}. Start Redis or set REDIS_URL (in CI they run and fail instead).\n`);
  return false;
}
