/**
 * @module serving/http/routes/v1
 * Larder's own routes (DESIGN §3.5): online features, features + prediction in one call, and
 * push. Timestamps leave as ISO 8601 strings. The features and predict bodies are written by
 * `json.ts` (the same bytes as JSON.stringify of the documented shape, without the generic
 * serializer's per-value work).
 */
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { larderError } from '../../../errors.ts';
import { checkRowCount, clientLeft, type AppDeps } from '../context.ts';
import { featuresJson, predictJson } from '../json.ts';
import type { RouteSpec } from '../route-spec.ts';
import {
  featuresBody, featuresResponse, modelParams, predictBody, predictResponse, pushBody, pushResponse, sourceParams,
} from '../schemas.ts';

const JSON_TYPE = 'application/json; charset=utf-8';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `x-request-id`, when usable as the prefix of prediction ids. */
function requestIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : undefined;
}

export function v1Routes({ predictor, store, config }: AppDeps): RouteSpec[] {
  return [
    {
      method: 'POST', url: '/v1/features', tag: 'features', scope: 'features',
      summary: 'Online feature values (with statuses and event times) of entity rows, by service or feature refs',
      body: featuresBody, response: featuresResponse, errors: [404, 503],
      handler: async (request, reply) => {
        const body = request.body as z.infer<typeof featuresBody>;
        checkRowCount('entity rows', body.entities.length, config.maxEntities);
        if ((body.service === undefined) === (body.features === undefined)) {
          throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'give exactly one of service and features' });
        }
        const result = await predictor.features({
          ...(body.service === undefined ? {} : { service: body.service }),
          ...(body.features === undefined ? {} : { features: body.features }),
          entities: body.entities,
          ...(body.fullFeatureNames === undefined ? {} : { fullFeatureNames: body.fullFeatureNames }),
          // No abort signal: the read is one round trip bounded by the store's timeout, and a
          // listener per request cost more than the rare read it would cut short.
        });
        reply.type(JSON_TYPE);
        return featuresJson(result);
      },
    },
    {
      method: 'POST', url: '/v1/predict/:model', tag: 'predict', scope: 'predict',
      summary: 'Features and prediction in one call: each row\'s output, the feature values it was made from, their statuses and whether any was degraded',
      params: modelParams, body: predictBody, response: predictResponse, errors: [404, 503],
      handler: async (request, reply) => {
        const { model } = request.params as z.infer<typeof modelParams>;
        const body = request.body as z.infer<typeof predictBody>;
        checkRowCount('entity rows', body.entities.length, config.maxEntities);
        const requestId = requestIdOf(request);
        const response = await predictor.predict({
          model, entities: body.entities,
          ...(body.version === undefined ? {} : { version: body.version }),
          ...(requestId === undefined ? {} : { requestId }),
          cancelled: clientLeft(reply),
        });
        request.larderModel = { model: response.model, version: response.version };
        reply.type(JSON_TYPE);
        return predictJson(response);
      },
    },
    {
      method: 'POST', url: '/v1/push/:source', tag: 'push', scope: 'push',
      summary: 'Push rows to a push source: online (every view on it), offline (a new Parquet file) or both',
      params: sourceParams, body: pushBody, response: pushResponse, errors: [404, 503],
      handler: async (request) => {
        const { source } = request.params as z.infer<typeof sourceParams>;
        const body = request.body as z.infer<typeof pushBody>;
        checkRowCount('rows', body.rows.length, config.maxEntities);
        return store.push(source, body.rows, body.to === undefined ? {} : { to: body.to });
      },
    },
  ];
}
