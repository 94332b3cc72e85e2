/**
 * @module commands/jobs-target
 * Where a project's jobs queue lives: the Redis at `REDIS_URL` (or the project's Redis online
 * store), under a prefix named after the project (`LARDER_QUEUE_PREFIX` overrides it), so that
 * `larder train --queue`, `larder schedule` and `larder worker` of one project meet in one queue.
 */
import type { ResolvedConfig } from '../../featurestore/config.ts';
import { usageError } from '../output.ts';

export interface QueueTarget {
  readonly connection: string;
  readonly prefix: string;
}

/** The project's queue, or undefined on the embedded default (no Redis configured). */
export function queueTargetOf(config: ResolvedConfig): QueueTarget | undefined {
  const url = process.env['REDIS_URL'] || (config.online.type === 'redis' ? config.online.url : undefined);
  if (url === undefined) return undefined;
  return { connection: url, prefix: process.env['LARDER_QUEUE_PREFIX'] || `larder-${config.project}` };
}

/** The queue, or a usage error saying how to configure one. */
export function requireQueueTarget(config: ResolvedConfig, what: string): QueueTarget {
  const target = queueTargetOf(config);
  if (target === undefined) throw usageError(`${what} needs a job queue in Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379) or use a redis online store`);
  return target;
}
