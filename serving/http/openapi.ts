/**
 * @module serving/http/openapi
 * The OpenAPI 3.1 document of the HTTP API, assembled from the route specs the app registers:
 * every route with its parameters, body, responses (the error shape for each 4xx/5xx it can
 * answer) and the security it needs.
 */
import { STATUS_CODES } from 'node:http';
import { jsonSchemaOf, statusesOf, type RouteSpec } from './route-spec.ts';
import { errorBody } from './schemas.ts';

const ERROR_REF = { $ref: '#/components/schemas/Error' };

const STATUS_MEANING: Readonly<Record<number, string>> = {
  400: 'Invalid request: bad JSON, invalid UTF-8, wrong types or values (LARDER_E_INVALID_REQUEST and friends); `details` lists every issue',
  401: 'No or unknown API key (LARDER_E_UNAUTHORIZED)',
  403: 'The API key lacks the route\'s scope (LARDER_E_FORBIDDEN)',
  404: 'Unknown model, version, feature, service or source',
  413: 'Body over bodyLimit, or more rows than maxEntities (LARDER_E_PAYLOAD_TOO_LARGE)',
  429: 'Rate limit exceeded (LARDER_E_RATE_LIMITED); see the retry-after header',
  503: 'The online store or the model cannot answer, or the server is shutting down',
};

function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parametersOf(spec: RouteSpec): unknown[] {
  if (spec.params === undefined) return [];
  const schema = jsonSchemaOf(spec.params, 'draft-2020-12', 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({ name, in: 'path', required: true, schema: s }));
}

function operationOf(spec: RouteSpec): Record<string, unknown> {
  const responses: Record<string, unknown> = {
    200: {
      description: 'OK',
      content: spec.text
        ? { 'text/plain': { schema: jsonSchemaOf(spec.response, 'draft-2020-12', 'output') } }
        : { 'application/json': { schema: jsonSchemaOf(spec.response, 'draft-2020-12', 'output') } },
    },
  };
  for (const status of [...statusesOf(spec), 500]) {
    responses[status] = { description: STATUS_MEANING[status] ?? STATUS_CODES[status] ?? 'Error', content: { 'application/json': { schema: ERROR_REF } } };
  }
  return {
    operationId: `${spec.method.toLowerCase()}${openApiPath(spec.url).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: spec.summary,
    tags: [spec.tag],
    ...(spec.params === undefined ? {} : { parameters: parametersOf(spec) }),
    ...(spec.body === undefined ? {} : {
      requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(spec.body, 'draft-2020-12', 'input') } } },
    }),
    responses,
    security: spec.scope === null ? [] : [{ bearer: [] }, { apiKey: [] }],
    'x-larder-scope': spec.scope,
  };
}

/** The OpenAPI 3.1 document of `routes`. */
export function openApiDocument(routes: readonly RouteSpec[], info: { title?: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const path = openApiPath(spec.url);
    (paths[path] ??= {})[spec.method.toLowerCase()] = operationOf(spec);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'Larder serving API',
      version: info.version,
      description: 'Online features and predictions (features + prediction in one call), push, and the Open Inference Protocol (KServe V2). When API keys are configured, routes with a scope need one (`admin` holds every scope).',
    },
    paths,
    components: {
      schemas: { Error: jsonSchemaOf(errorBody, 'draft-2020-12', 'output') },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
    },
  };
}
