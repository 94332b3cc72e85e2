/**
 * @module serving/config
 * What `larder serve` runs with: the `serve` key of `larder.config.ts` checked with zod, then
 * environment overrides (`LARDER_HOST`, `LARDER_PORT`, `LARDER_GRPC_PORT`, `LARDER_API_KEYS`),
 * then the caller's (CLI flags). API keys are kept only as sha256 hashes: keys given in clear
 * through `LARDER_API_KEYS` (`name:key:scope1+scope2,…`) are hashed as they are read.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { larderError } from '../errors.ts';
import { parseDuration } from '../featurestore/define/duration.ts';
import type { BatcherOptions } from './predictor/batcher.ts';
import type { ModelOptions, PredictorOptions } from './predictor/options.ts';

export const API_SCOPES = ['features', 'predict', 'push', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

const scopeSchema = z.enum(API_SCOPES);
const port = z.number().int().min(0).max(65_535);

const apiKeySchema = z.strictObject({
  name: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'sha256 must be 64 hex digits (the hash of the key, not the key)'),
  scopes: z.array(scopeSchema).min(1),
});

/** Per-model serving options, handed to the predictor. */
const batchingSchema = z.strictObject({
  enabled: z.boolean().optional(),
  maxBatchSize: z.number().int().positive().optional(),
  /** Like Triton's `max_queue_delay_microseconds`. */
  maxQueueDelayUs: z.number().int().min(0).optional(),
  concurrency: z.number().int().positive().optional(),
});

const modelOptionsSchema = z.strictObject({
  batching: batchingSchema.optional(),
  inference: z.enum(['inline', 'pool']).optional(),
  /** Answer 503 instead of defaulted, `degraded` predictions when the online store is down. */
  requireFreshFeatures: z.boolean().optional(),
});

const serveSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8080),
  /** The gRPC server's port; off when absent. */
  grpcPort: port.optional(),
  apiKeys: z.array(apiKeySchema).default([]),
  /** Per API key (per client address without keys); off when absent. `timeWindow`: ms or a duration like `1m`. */
  rateLimit: z.strictObject({
    max: z.number().int().positive(),
    timeWindow: z.union([z.number().int().positive(), z.string().min(1)]).default(60_000),
  }).optional(),
  /** Largest request body in bytes. */
  bodyLimit: z.number().int().positive().default(1_048_576),
  /** Most entity rows (or pushed rows) in one request. */
  maxEntities: z.number().int().positive().default(1000),
  /** The batcher of every model; `models.<name>.batching` overrides it field by field. */
  batching: batchingSchema.optional(),
  /** Per model name: batching, `inference: 'inline' | 'pool'`, `requireFreshFeatures`. */
  models: z.record(z.string(), modelOptionsSchema).default({}),
  /** Worker threads for models with `inference: 'pool'`. */
  poolSize: z.number().int().positive().optional(),
  /** Bound of each online read in ms (default: the online store's). */
  onlineTimeoutMs: z.number().positive().optional(),
  /** The prediction log; `false` turns it off. */
  predictionLog: z.union([z.literal(false), z.strictObject({
    sampleRate: z.number().min(0).max(1).default(1),
    flushRows: z.number().int().positive().default(10_000),
    flushMs: z.number().int().positive().default(5_000),
  })]).default({ sampleRate: 1, flushRows: 10_000, flushMs: 5_000 }),
  /** Dollars per CPU-second, for the cost-per-prediction counter. */
  pricePerCpuSecond: z.number().min(0).default(0),
});

/** The `serve` key of `larder.config.ts`, as written. */
export type ServeConfigInput = z.input<typeof serveSchema>;
export type ModelServeOptions = ModelOptions;

export interface ApiKey {
  readonly name: string;
  /** sha256 of the key, 32 bytes. */
  readonly hash: Buffer;
  readonly scopes: readonly ApiScope[];
}

/** The resolved server config. */
export interface ServeConfig {
  readonly host: string;
  readonly port: number;
  readonly grpcPort?: number;
  readonly apiKeys: readonly ApiKey[];
  readonly rateLimit?: { readonly max: number; readonly timeWindowMs: number };
  readonly bodyLimit: number;
  readonly maxEntities: number;
  readonly batching?: BatcherOptions;
  readonly models: Readonly<Record<string, ModelServeOptions>>;
  readonly poolSize?: number;
  readonly onlineTimeoutMs?: number;
  readonly predictionLog: false | { readonly sampleRate: number; readonly flushRows: number; readonly flushMs: number };
  readonly pricePerCpuSecond: number;
}

/** The sha256 of an API key as hex: what `apiKeys[].sha256` holds. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Parses `LARDER_API_KEYS`: `name:key:scope1+scope2`, comma-separated. The key is hashed here
 * and never kept.
 * @example parseApiKeysEnv('ops:s3cret:admin,app:k2:predict+features')
 */
export function parseApiKeysEnv(text: string): { name: string; sha256: string; scopes: ApiScope[] }[] {
  return text.split(',').map((part) => part.trim()).filter((part) => part.length > 0).map((part) => {
    const first = part.indexOf(':');
    const last = part.lastIndexOf(':');
    if (first <= 0 || last <= first + 1 || last === part.length - 1) {
      throw larderError('LARDER_E_CONFIG_INVALID', { path: 'LARDER_API_KEYS', reason: `entry ${JSON.stringify(part.slice(0, first > 0 ? first : 20))}: write name:key:scope1+scope2` });
    }
    const name = part.slice(0, first);
    const scopes = part.slice(last + 1).split('+').map((s) => s.trim());
    const bad = scopes.filter((s) => !(API_SCOPES as readonly string[]).includes(s));
    if (bad.length > 0) {
      throw larderError('LARDER_E_CONFIG_INVALID', { path: 'LARDER_API_KEYS', reason: `key ${name}: unknown scope(s) ${bad.join(', ')}; scopes are ${API_SCOPES.join(', ')}` });
    }
    return { name, sha256: hashApiKey(part.slice(first + 1, last)), scopes: scopes as ApiScope[] };
  });
}

function envPort(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    throw larderError('LARDER_E_CONFIG_INVALID', { path: name, reason: `${JSON.stringify(text)} is not a port` });
  }
  return value;
}

export interface ServeConfigSources {
  /** The `serve` key of the project's config (`store.config.serve`). */
  readonly file?: unknown;
  /** Environment variables (default none; the CLI passes `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Highest precedence: what the caller (CLI flags, tests) sets. */
  readonly overrides?: ServeConfigInput;
  /** Where `file` came from, for error messages. */
  readonly path?: string;
}

/**
 * Resolves the server config: file, then environment, then overrides; all problems in one error.
 * @example resolveServeConfig({ file: store.config.serve, env: process.env, overrides: { port: 0 } })
 */
export function resolveServeConfig(sources: ServeConfigSources = {}): ServeConfig {
  const env = sources.env ?? {};
  const file = (sources.file ?? {}) as Record<string, unknown>;
  const fromEnv: Record<string, unknown> = {};
  if (env['LARDER_HOST']) fromEnv['host'] = env['LARDER_HOST'];
  const envServePort = envPort(env, 'LARDER_PORT');
  if (envServePort !== undefined) fromEnv['port'] = envServePort;
  const envGrpcPort = envPort(env, 'LARDER_GRPC_PORT');
  if (envGrpcPort !== undefined) fromEnv['grpcPort'] = envGrpcPort;
  const envKeys = env['LARDER_API_KEYS'] ? parseApiKeysEnv(env['LARDER_API_KEYS']) : [];
  const merged: Record<string, unknown> = { ...file, ...fromEnv, ...(sources.overrides ?? {}) };
  if (envKeys.length > 0) merged['apiKeys'] = [...((merged['apiKeys'] as unknown[] | undefined) ?? []), ...envKeys];
  const parsed = serveSchema.safeParse(merged);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((i) => `serve.${i.path.join('.')}: ${i.message}`).join('; ');
    throw larderError('LARDER_E_CONFIG_INVALID', { path: sources.path ?? 'larder.config.ts', reason }, { details: parsed.error.issues });
  }
  const c = parsed.data;
  let rateLimit: ServeConfig['rateLimit'];
  if (c.rateLimit) {
    const window = c.rateLimit.timeWindow;
    rateLimit = { max: c.rateLimit.max, timeWindowMs: typeof window === 'number' ? window : parseDuration(window) };
  }
  const names = new Set<string>();
  for (const key of c.apiKeys) {
    if (names.has(key.name)) throw larderError('LARDER_E_CONFIG_INVALID', { path: sources.path ?? 'larder.config.ts', reason: `serve.apiKeys: two keys are named ${key.name}` });
    names.add(key.name);
  }
  return {
    host: c.host,
    port: c.port,
    ...(c.grpcPort === undefined ? {} : { grpcPort: c.grpcPort }),
    apiKeys: c.apiKeys.map((k) => ({ name: k.name, hash: Buffer.from(k.sha256.toLowerCase(), 'hex'), scopes: k.scopes })),
    ...(rateLimit === undefined ? {} : { rateLimit }),
    bodyLimit: c.bodyLimit,
    maxEntities: c.maxEntities,
    // zod's optional fields read `T | undefined`; absent ones are simply absent here.
    ...(c.batching === undefined ? {} : { batching: c.batching as BatcherOptions }),
    models: c.models as Record<string, ModelOptions>,
    ...(c.poolSize === undefined ? {} : { poolSize: c.poolSize }),
    ...(c.onlineTimeoutMs === undefined ? {} : { onlineTimeoutMs: c.onlineTimeoutMs }),
    predictionLog: c.predictionLog,
    pricePerCpuSecond: c.pricePerCpuSecond,
  };
}

/** What the predictor is created with, from the server config. */
export function predictorOptionsOf(config: ServeConfig): PredictorOptions {
  return {
    maxEntities: config.maxEntities,
    models: config.models,
    log: config.predictionLog,
    ...(config.batching === undefined ? {} : { batching: config.batching }),
    ...(config.poolSize === undefined ? {} : { poolSize: config.poolSize }),
    ...(config.onlineTimeoutMs === undefined ? {} : { onlineTimeoutMs: config.onlineTimeoutMs }),
  };
}
