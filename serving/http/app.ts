/**
 * @module serving/http/app
 * `buildApp`: the Fastify instance of `larder serve` (not listening; `serving/serve.ts` does
 * that). Routes come from route specs (zod schemas → JSON Schema for validation and
 * serialization, the same specs → the OpenAPI document). Around them: a JSON body parser that
 * refuses invalid UTF-8, API keys and scopes, the per-key rate limit, one error shape for every
 * failure, a 404 for unknown routes, 503 while draining, and every request's latency and every
 * error's code into the metrics.
 */
import { isUtf8 } from 'node:buffer';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { larderError } from '../../errors.ts';
import { authorize } from './auth.ts';
import type { AppDeps } from './context.ts';
import { httpErrorOf } from './errors.ts';
import { openApiDocument } from './openapi.ts';
import { registerRateLimit } from './rate-limit.ts';
import { fastifySchemaOf, type RouteSpec } from './route-spec.ts';
import { opsRoutes } from './routes/ops.ts';
import { v1Routes } from './routes/v1.ts';
import { v2Routes } from './routes/v2.ts';

export interface BuildAppOptions extends AppDeps {
  /** Fastify's logger (default off). */
  readonly logger?: FastifyServerOptions['logger'];
  /** The API version shown in the OpenAPI document. */
  readonly apiVersion?: string;
}

/** The route specs of the app, in documentation order. */
export function routeSpecs(deps: AppDeps, openapi: () => Record<string, unknown>): RouteSpec[] {
  return [...v1Routes(deps), ...v2Routes(deps), ...opsRoutes(deps, openapi)];
}

/**
 * Builds the HTTP app. Close it with `app.close()` (the predictor and store are the caller's).
 * @example
 * const app = await buildApp({ predictor, store, metrics, config });
 * await app.listen({ host: config.host, port: config.port });
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config, metrics } = options;
  const deps: AppDeps = { predictor: options.predictor, store: options.store, metrics, config };
  const sendError = (reply: FastifyReply, error: unknown): FastifyReply => {
    const failure = httpErrorOf(error);
    if (failure.internal) reply.log.error({ err: error }, 'request failed');
    metrics.error(failure.code);
    return reply.code(failure.status).type('application/json; charset=utf-8').send(failure.body);
  };

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: config.bodyLimit,
    // Our own 503 (in the error shape) while draining, from the onRequest hook below.
    return503OnClosing: false,
    ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false, useDefaults: true } },
    frameworkErrors: (error, _request, reply) => { sendError(reply, error); },
  });

  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) {
      done(larderError('LARDER_E_INVALID_REQUEST', { reason: 'the body is not valid UTF-8' }), undefined);
      return;
    }
    parseJson(request, bytes.toString('utf8'), done);
  });

  let draining = false;
  app.addHook('preClose', async () => { draining = true; });
  // Requests in flight when close() begins answer with `connection: close`, so their keep-alive
  // sockets end with them instead of idling until keepAliveTimeout (72 s) holds close() up.
  // Callback-style hooks: on every request, an async hook costs a promise and a tick more.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });
  app.decorateRequest('larderKey', undefined);
  app.decorateRequest('larderModel', undefined);
  app.addHook('onRequest', (request, reply, done) => {
    if (draining) {
      reply.header('connection', 'close');
      done(larderError('LARDER_E_UNAVAILABLE', { reason: 'the server is shutting down' }));
      return;
    }
    let key: ReturnType<typeof authorize>;
    try {
      key = authorize(config.apiKeys, request.headers, request.routeOptions.config.scope ?? null);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (key !== undefined) request.larderKey = key.name;
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const model = request.larderModel;
    metrics.httpRequest({
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status: reply.statusCode,
      ...(model === undefined ? {} : { model: model.model }),
      ...(model?.version === undefined ? {} : { version: model.version }),
      seconds: reply.elapsedTime / 1000,
    });
    done();
  });
  app.setErrorHandler((error, _request, reply) => sendError(reply, error));
  app.setNotFoundHandler((request, reply) => sendError(reply, larderError('LARDER_E_ROUTE_NOT_FOUND', { method: request.method, url: request.url.split('?')[0] ?? request.url })));

  if (config.rateLimit !== undefined) await registerRateLimit(app, config.rateLimit, options.store.config);

  let document: Record<string, unknown> | undefined;
  const specs = routeSpecs(deps, () => (document ??= openApiDocument(specs, { version: options.apiVersion ?? '1' })));
  for (const spec of specs) {
    app.route({
      method: spec.method,
      url: spec.url,
      schema: fastifySchemaOf(spec),
      config: { scope: spec.scope, ...(spec.scope === null ? { rateLimit: false } : {}) },
      handler: spec.handler,
    });
  }
  return app;
}
