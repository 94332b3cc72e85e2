/**
 * @module config
 * `larder.config.ts`: what a project declares, checked with zod, and resolved to absolute paths.
 */
import path from 'node:path';
import { z } from 'zod';
import { larderError } from '../errors.ts';
import { NAME_PATTERN } from './define/project.ts';

const configSchema = z.object({
  project: z.string().regex(NAME_PATTERN, 'project must match [a-z][a-z0-9_]*'),
  definitions: z.array(z.string().min(1)).min(1).optional(),
  offline: z.object({
    path: z.string().min(1).optional(),
    memoryLimit: z.string().optional(),
    threads: z.number().int().positive().optional(),
  }).strict().optional(),
  online: z.union([
    z.object({ type: z.literal('memory'), path: z.string().optional() }).strict(),
    z.object({ type: z.literal('redis'), url: z.string().min(1), timeoutMs: z.number().positive().optional() }).strict(),
  ]).optional(),
  registry: z.object({ path: z.string().min(1).optional() }).strict().optional(),
  entityTimestampColumn: z.string().min(1).optional(),
  /** `larder serve` settings; checked by `serving/config.ts`, which owns their schema. */
  serve: z.record(z.string(), z.unknown()).optional(),
}).strict();

/** What `larder.config.ts` exports by default. */
export type LarderConfig = z.input<typeof configSchema>;

export interface ResolvedConfig {
  readonly dir: string;
  readonly configPath: string;
  readonly project: string;
  readonly definitions: readonly string[];
  readonly offline: { readonly path: string; readonly memoryLimit?: string; readonly threads?: number };
  readonly online: { readonly type: 'memory'; readonly path: string } | { readonly type: 'redis'; readonly url: string; readonly timeoutMs?: number };
  readonly registry: { readonly path: string };
  readonly entityTimestampColumn: string;
  /** The `serve` key as written (checked when the server starts, by `serving/config.ts`). */
  readonly serve?: Readonly<Record<string, unknown>>;
}

/**
 * Declares a project's configuration, with types.
 * @example export default defineConfig({ project: 'flights', definitions: ['features/*.ts'] });
 */
export function defineConfig(config: LarderConfig): LarderConfig {
  return config;
}

/** Checks a loaded config and resolves its paths against the project folder. */
export function resolveConfig(raw: unknown, dir: string, configPath: string): ResolvedConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw larderError('LARDER_E_CONFIG_INVALID', { path: configPath, reason }, { details: parsed.error.issues });
  }
  const c = parsed.data;
  const abs = (p: string): string => (p === ':memory:' ? p : path.resolve(dir, p));
  const online = c.online?.type === 'redis'
    ? { type: 'redis' as const, url: c.online.url, ...(c.online.timeoutMs === undefined ? {} : { timeoutMs: c.online.timeoutMs }) }
    : { type: 'memory' as const, path: abs(c.online?.path ?? '.larder/online') };
  return {
    dir,
    configPath,
    project: c.project,
    definitions: c.definitions ?? ['features/**/*.ts'],
    offline: {
      path: abs(c.offline?.path ?? '.larder/offline.duckdb'),
      ...(c.offline?.memoryLimit === undefined ? {} : { memoryLimit: c.offline.memoryLimit }),
      ...(c.offline?.threads === undefined ? {} : { threads: c.offline.threads }),
    },
    online,
    registry: { path: abs(c.registry?.path ?? '.larder/registry') },
    entityTimestampColumn: c.entityTimestampColumn ?? 'event_timestamp',
    ...(c.serve === undefined ? {} : { serve: c.serve }),
  };
}
