/**
 * @module serving/serve
 * `startServer`: everything `larder serve` runs, wired together — the store, the metrics, the
 * predictor, the HTTP app (and the gRPC server when `grpcPort` is set) — listening, with one
 * `close()` that shuts down in the order that loses nothing: stop accepting and let in-flight
 * requests finish, then close the predictor (which flushes the prediction log), then the store.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { larderError, reasonOf } from '../errors.ts';
import { openStore, type FeatureStore } from '../featurestore/store.ts';
import { predictorOptionsOf, resolveServeConfig, type ServeConfig, type ServeConfigInput } from './config.ts';
import { startGrpcServer, type GrpcServer } from './grpc/server.ts';
import { buildApp } from './http/app.ts';
import { createMetrics, type ServingMetrics } from './metrics.ts';
import { createPredictor, type LarderPredictor } from './predictor/index.ts';

export interface StartServerOptions {
  /** The project folder (opened here and closed by `close()`); or give an open `store`. */
  readonly dir?: string;
  /** An open store; it stays open after `close()` (its owner closes it). */
  readonly store?: FeatureStore;
  /** Settings over the project's `serve` key and the environment (CLI flags, tests). */
  readonly config?: ServeConfigInput;
  /** Environment overrides to read (`LARDER_PORT`, `LARDER_API_KEYS`, …); default none. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: FastifyServerOptions['logger'];
  /**
   * The clock feature ttls are measured against (epoch ms; default the real one). For replays:
   * serving data materialized as of a past instant as if it were then.
   */
  readonly now?: () => number;
}

export interface RunningServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** The gRPC port, when the gRPC server runs. */
  readonly grpcPort?: number;
  readonly config: ServeConfig;
  readonly app: FastifyInstance;
  readonly predictor: LarderPredictor;
  readonly metrics: ServingMetrics;
  readonly store: FeatureStore;
  /** Graceful: stop accepting, finish in-flight requests, flush the prediction log, close the store. Idempotent. */
  close(): Promise<void>;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0';
  } catch {
    return '0';
  }
}

function urlOf(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

/**
 * Starts `larder serve` for a project and resolves once it listens.
 * @example
 * const server = await startServer({ dir: 'fixtures/flights', config: { port: 0 } });
 * await fetch(`${server.url}/v1/predict/delay`, { method: 'POST', … });
 * await server.close();
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const ownStore = options.store === undefined;
  const store = options.store ?? await openStore(options.dir === undefined ? {} : { dir: options.dir });
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) await step();
  };
  if (ownStore) cleanups.push(() => store.close());
  try {
    const config = resolveServeConfig({
      file: store.config.serve, path: store.config.configPath,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.config === undefined ? {} : { overrides: options.config }),
    });
    const metrics = createMetrics({ pricePerCpuSecond: config.pricePerCpuSecond });
    const predictor = createPredictor(store, { ...predictorOptionsOf(config), ...(options.now === undefined ? {} : { now: options.now }) }, metrics.observer);
    cleanups.push(() => predictor.close());
    const app = await buildApp({ predictor, store, metrics, config, apiVersion: packageVersion(), ...(options.logger === undefined ? {} : { logger: options.logger }) });
    cleanups.push(() => app.close());
    await app.listen({ host: config.host, port: config.port }).catch((cause: unknown) => {
      throw larderError('LARDER_E_IO', { path: `${config.host}:${config.port}`, reason: `cannot listen: ${reasonOf(cause)}` }, { cause });
    });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    let grpc: GrpcServer | undefined;
    if (config.grpcPort !== undefined) {
      grpc = await startGrpcServer({ predictor, port: config.grpcPort, host: config.host, metrics, apiKeys: config.apiKeys });
      const started = grpc;
      cleanups.push(() => started.close());
    }
    let closing: Promise<void> | undefined;
    return {
      url: urlOf(config.host, port),
      port,
      ...(grpc === undefined ? {} : { grpcPort: grpc.port }),
      config, app, predictor, metrics, store,
      close: () => (closing ??= cleanup()),
    };
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
}
