/**
 * @module serving/http/context
 * What the HTTP app is built from (the predictor, the store, the metrics and the config), and
 * the request-level facts its hooks share: the caller's API key and the model a request was for.
 */
import type { FastifyReply } from 'fastify';
import type { FeatureStore } from '../../featurestore/store.ts';
import { larderError } from '../../errors.ts';
import type { ApiScope, ServeConfig } from '../config.ts';
import type { ServingMetrics } from '../metrics.ts';
import type { Predictor } from '../types.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The model and version a request was answered for, for the latency metric's labels. Set only
     * once they are known to exist: names from failed requests would let callers mint series.
     */
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

/**
 * Aborted when the client goes away before its answer is sent, so the predictor can drop the
 * request's queued work (a finished response closes the socket too, but then nothing is pending).
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(larderError('LARDER_E_ABORTED', { what: 'the client closed the connection' }));
  });
  return controller.signal;
}

/**
 * True once the client has gone (its socket closed before the answer was sent): polled by the
 * predictor, with no listener or AbortController per request.
 */
export function clientLeft(reply: FastifyReply): () => boolean {
  return () => reply.raw.destroyed && !reply.raw.writableFinished;
}

/** 413 when a request carries more rows than the server takes. */
export function checkRowCount(what: string, rows: number, max: number): void {
  if (rows > max) {
    throw larderError('LARDER_E_PAYLOAD_TOO_LARGE', { reason: `${rows} ${what} in one request; the limit is ${max} (maxEntities)` }, { details: { rows, maxEntities: max } });
  }
}
