/**
 * @module serving/http/routes/ops
 * Operating the server: `/healthz` (with a probe of the online store), `/metrics` (Prometheus
 * text), `/v1/stats` (p50/p95/p99 per model computed in-process) and `/docs/openapi.json`.
 */
import { reasonOf } from '../../../errors.ts';
import type { FeatureStore } from '../../../featurestore/store.ts';
import { onlineLayout } from '../../../featurestore/online-layout.ts';
import type { AppDeps } from '../context.ts';
import type { RouteSpec } from '../route-spec.ts';
import { healthResponse, metricsResponse, openapiResponse, statsResponse } from '../schemas.ts';

const PROBE_TIMEOUT_MS = 250;

/**
 * Reads one entity key that never exists from the online store, through the store's own
 * connection: the same path predictions take, so "reachable" means reads work.
 */
export async function probeOnline(store: FeatureStore): Promise<{ type: string; reachable: boolean; ms: number; error?: string }> {
  const started = performance.now();
  const type = store.config.online.type;
  try {
    const online = await store.onlineStore();
    const view = store.project.views.values().next().value;
    if (view !== undefined) {
      await online.read([{ layout: onlineLayout(store.config.project, view), entityKeys: ['\u0000larder-healthz'] }], { timeoutMs: PROBE_TIMEOUT_MS });
    }
    return { type, reachable: true, ms: performance.now() - started };
  } catch (error) {
    return { type, reachable: false, ms: performance.now() - started, error: reasonOf(error) };
  }
}

export function opsRoutes({ store, metrics }: AppDeps, openapi: () => Record<string, unknown>): RouteSpec[] {
  return [
    {
      method: 'GET', url: '/healthz', tag: 'ops', scope: null,
      summary: 'The server answers; `ok` and `online.reachable` say whether the online store does (200 either way: predictions go on, degraded)',
      response: healthResponse, errors: [],
      handler: async () => {
        const online = await probeOnline(store);
        return { ok: online.reachable, online };
      },
    },
    {
      method: 'GET', url: '/metrics', tag: 'ops', scope: 'admin', text: true,
      summary: 'Prometheus metrics: request latency (sub-ms buckets), errors by code, predictions, batches, queue delay, online reads, feature statuses, cost',
      response: metricsResponse, errors: [],
      handler: async (_request, reply) => {
        const text = await metrics.registry.metrics();
        return reply.type(metrics.registry.contentType).send(text);
      },
    },
    {
      method: 'GET', url: '/v1/stats', tag: 'ops', scope: 'admin',
      summary: 'Per model and version: requests, rows, latency p50/p95/p99 (ms), degraded rate, cost per prediction',
      response: statsResponse, errors: [],
      handler: async () => metrics.stats(),
    },
    {
      method: 'GET', url: '/docs/openapi.json', tag: 'ops', scope: null,
      summary: 'This API as an OpenAPI 3.1 document, built from the same schemas the server validates with',
      response: openapiResponse, errors: [],
      handler: async () => openapi(),
    },
  ];
}
