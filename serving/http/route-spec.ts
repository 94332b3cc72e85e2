/**
 * @module serving/http/route-spec
 * One route of the HTTP API as data: method, path, scope, zod schemas and handler. The app
 * registers Fastify routes from these specs and the OpenAPI document is built from the same
 * list, so a route cannot exist without its schemas and its documentation entry.
 */
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { z } from 'zod';
import type { ApiScope } from '../config.ts';
import { errorBody } from './schemas.ts';

export interface RouteSpec {
  readonly method: 'GET' | 'POST';
  /** Fastify path syntax: `/v1/predict/:model`. */
  readonly url: string;
  readonly summary: string;
  readonly tag: string;
  /** The scope an API key needs (`admin` passes everywhere); null: open even with keys configured. */
  readonly scope: ApiScope | null;
  readonly params?: z.ZodType;
  readonly body?: z.ZodType;
  /** The 200 body; `text` for a text/plain body (Prometheus). */
  readonly response: z.ZodType;
  readonly text?: boolean;
  /** Statuses the route answers besides 200 (400, 401, … are added from the scope and body). */
  readonly errors: readonly number[];
  readonly handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

/** A zod schema as JSON Schema for Fastify's ajv (draft-07) or for OpenAPI 3.1 (2020-12). */
export function jsonSchemaOf(schema: z.ZodType, target: 'draft-7' | 'draft-2020-12', io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target, io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json['$schema'];
  return json;
}

/** Every status a route may answer with, with its meaning. */
export function statusesOf(spec: RouteSpec, authConfigured = true): number[] {
  const out = new Set<number>(spec.errors);
  if (spec.body !== undefined || spec.params !== undefined) out.add(400);
  if (spec.body !== undefined) out.add(413);
  if (spec.scope !== null && authConfigured) { out.add(401); out.add(403); out.add(429); }
  return [...out].sort((a, b) => a - b);
}

/** The Fastify `schema` option of a route: validation for params/body, serialization for 200 and errors. */
export function fastifySchemaOf(spec: RouteSpec): FastifySchema {
  const error = jsonSchemaOf(errorBody, 'draft-7', 'output');
  return {
    ...(spec.params === undefined ? {} : { params: jsonSchemaOf(spec.params, 'draft-7', 'input') }),
    ...(spec.body === undefined ? {} : { body: jsonSchemaOf(spec.body, 'draft-7', 'input') }),
    response: {
      ...(spec.text ? {} : { 200: jsonSchemaOf(spec.response, 'draft-7', 'output') }),
      '4xx': error,
      '5xx': error,
    },
  };
}
