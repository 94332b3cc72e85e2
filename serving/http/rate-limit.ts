/**
 * @module serving/http/rate-limit
 * Requests per API key (per client address when the API is open) with `@fastify/rate-limit`.
 * When the project's online store is Redis the counters live there too (one ioredis client,
 * keys `larder:<project>:ratelimit:*`), so replicas share a budget; on the embedded default they
 * are in memory. A Redis that cannot answer never fails a request: the limiter lets it through
 * (`skipOnError`) rather than turn an outage into 5xx answers. Over the limit: 429
 * `LARDER_E_RATE_LIMITED` with `retry-after`.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { formatDuration } from '../../featurestore/define/duration.ts';
import type { ResolvedConfig } from '../../featurestore/config.ts';
import { larderError } from '../../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key's name, once authenticated. */
    larderKey?: string;
  }
}

/** The rate limiter's key: the API key's name, else the client address. */
export function rateLimitKey(request: FastifyRequest): string {
  return request.larderKey === undefined ? `ip:${request.ip}` : `key:${request.larderKey}`;
}

/**
 * Registers the limiter on `app` (before its routes). Routes opt out with
 * `config: { rateLimit: false }` (health and documentation routes do).
 */
export async function registerRateLimit(
  app: FastifyInstance,
  limit: { readonly max: number; readonly timeWindowMs: number },
  project: Pick<ResolvedConfig, 'project' | 'online'>,
): Promise<void> {
  let redis: Redis | undefined;
  if (project.online.type === 'redis') {
    // Fail fast while Redis is away (no offline queue, no retries): the request goes through.
    redis = new Redis(project.online.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 100, lazyConnect: true });
    redis.on('error', () => undefined);
    redis.connect().catch(() => undefined);
    const client = redis;
    app.addHook('onClose', async () => { client.disconnect(); });
  }
  await app.register(rateLimit, {
    global: true,
    max: limit.max,
    timeWindow: limit.timeWindowMs,
    keyGenerator: rateLimitKey,
    skipOnError: true,
    ...(redis === undefined ? {} : { redis, nameSpace: `larder:${project.project}:ratelimit:` }),
    errorResponseBuilder: (_request, context) => larderError('LARDER_E_RATE_LIMITED', {
      limit: context.max, window: formatDuration(limit.timeWindowMs), retryAfter: context.after,
    }, { details: { limit: context.max, windowMs: limit.timeWindowMs, retryAfterMs: context.ttl } }),
  });
}
