/**
 * @module serving/http/context
 * What the HTTP app is built from (the predictor, the store, the metrics and the config), and
 * the request-level facts its hooks share: the caller's API key and the model a request was for.
 */
import type { FeatureStore } from '../../featurestore/store.ts';
import { larderError } from '../../errors.ts';
import type { ApiScope, ServeConfig } from '../config.ts';
import type { ServingMetrics } from '../metrics.ts';
import type { Predictor } from '../types.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The model and version a request was answered for, for the latency metric's labels. */
    larderModel?: { model: string; version?: string };
  }
  interface FastifyContextConfig {
    /** The scope an API key needs for this route; null: open. */
    scope?: ApiScope | null;
  }
}

export interface AppDeps {
  readonly predictor: Predictor;
  readonly store: FeatureStore;
  readonly metrics: ServingMetrics;
  readonly config: ServeConfig;
}

/** 413 when a request carries more rows than the server takes. */
export function checkRowCount(what: string, rows: number, max: number): void {
  if (rows > max) {
    throw larderError('LARDER_E_PAYLOAD_TOO_LARGE', { reason: `${rows} ${what} in one request; the limit is ${max} (maxEntities)` }, { details: { rows, maxEntities: max } });
  }
}
