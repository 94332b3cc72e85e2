/**
 * @module serving/http/schemas
 * The zod schemas of every request and response of the HTTP API. Fastify validates with their
 * JSON Schema (draft-07, what its ajv speaks) and `/docs/openapi.json` is assembled from the
 * same schemas (JSON Schema 2020-12, what OpenAPI 3.1 speaks), so the two cannot drift.
 */
import { z } from 'zod';
import { FEATURE_STATUSES } from '../../featurestore/online-read.ts';

const featureStatus = z.enum(FEATURE_STATUSES as readonly [string, ...string[]]);
const entityRow = z.record(z.string(), z.unknown()).describe('Join keys of the feature service (and request fields), by name');
const entities = z.array(entityRow).min(1).describe('One object per row; at most `maxEntities` rows (413 beyond)');

export const errorBody = z.strictObject({
  error: z.strictObject({
    code: z.string().describe('A LARDER_E_* code (docs/errors.md)'),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

export const featuresBody = z.strictObject({
  service: z.string().min(1).optional().describe('A feature service; give this or `features`'),
  features: z.array(z.string().min(1)).min(1).optional().describe("'view:feature' refs or whole views"),
  entities,
  fullFeatureNames: z.boolean().optional().describe('Name columns view__feature'),
});

export const featuresResponse = z.strictObject({
  features: z.array(z.string()),
  rows: z.array(z.strictObject({
    values: z.record(z.string(), z.unknown()),
    statuses: z.record(z.string(), featureStatus),
    eventTimestamps: z.record(z.string(), z.union([z.string(), z.null()])).describe('ISO 8601; null when nothing was stored and for on-demand features'),
  })),
});

export const modelParams = z.strictObject({ model: z.string().min(1) });

export const predictBody = z.strictObject({
  entities,
  version: z.string().min(1).optional().describe('A version or an alias; default `champion`'),
});

export const prediction = z.strictObject({
  id: z.string().describe('`<request id>-<row>`: the prediction log key for joining labels'),
  output: z.union([z.number(), z.null()]).describe("The positive class's probability, or the regression value"),
  features: z.record(z.string(), z.unknown()),
  statuses: z.record(z.string(), featureStatus),
  degraded: z.boolean().describe('A feature was defaulted, missing or stale, or the online store was down'),
});

export const predictResponse = z.strictObject({
  model: z.string(),
  version: z.string(),
  predictions: z.array(prediction),
});

export const sourceParams = z.strictObject({ source: z.string().min(1) });

export const pushBody = z.strictObject({
  rows: z.array(z.record(z.string(), z.unknown())).min(1).describe('Rows of the push source; timestamps as ISO 8601 strings'),
  to: z.enum(['online', 'offline', 'both']).optional().describe('Default `online`'),
});

export const pushResponse = z.strictObject({
  source: z.string(),
  rows: z.number().int(),
  online: z.array(z.record(z.string(), z.unknown())).optional().describe('Per view: rows written and rows older than stored'),
  offline: z.strictObject({ path: z.string() }).optional(),
});

const v2Datatype = z.enum(['BOOL', 'INT32', 'INT64', 'FP32', 'FP64', 'BYTES']);
const tensorData = z.array(z.unknown()).describe('Row-major; nested arrays are flattened');

export const v2InferBody = z.strictObject({
  id: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z.array(z.strictObject({
    name: z.string().min(1),
    shape: z.array(z.number().int().min(0)),
    datatype: v2Datatype,
    parameters: z.record(z.string(), z.unknown()).optional(),
    data: tensorData,
  })).min(1),
  outputs: z.array(z.strictObject({ name: z.string().min(1), parameters: z.record(z.string(), z.unknown()).optional() })).optional(),
});

export const v2InferResponse = z.strictObject({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string().optional(),
  outputs: z.array(z.strictObject({
    name: z.string(),
    shape: z.array(z.number().int()),
    datatype: v2Datatype,
    data: z.array(z.unknown()),
  })),
});

export const v2NameParams = z.strictObject({ name: z.string().min(1) });
export const v2VersionParams = z.strictObject({ name: z.string().min(1), version: z.string().min(1) });

const tensorMeta = z.strictObject({ name: z.string(), datatype: z.string(), shape: z.array(z.number().int()) });
export const v2MetadataResponse = z.strictObject({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(tensorMeta),
  outputs: z.array(tensorMeta),
});

export const readyResponse = z.strictObject({ ready: z.boolean() });
export const modelReadyResponse = z.strictObject({ name: z.string(), version: z.string().optional(), ready: z.boolean() });
export const liveResponse = z.strictObject({ live: z.boolean() });

export const healthResponse = z.strictObject({
  ok: z.boolean(),
  online: z.strictObject({
    type: z.string(),
    reachable: z.boolean(),
    ms: z.number().describe('Probe round trip'),
    error: z.string().optional(),
  }),
});

const ms = z.union([z.number(), z.null()]).describe('Milliseconds; null before the first request');
export const statsResponse = z.strictObject({
  models: z.record(z.string(), z.record(z.string(), z.strictObject({
    requests: z.number().int(),
    rows: z.number().int(),
    p50: ms,
    p95: ms,
    p99: ms,
    degradedRate: z.number().describe('Degraded rows / rows'),
    costPerPrediction: z.number().describe('Dollars per predicted row: CPU seconds of inference × pricePerCpuSecond'),
  })).describe('By version')).describe('By model'),
}).describe('Computed in-process by the metrics module, since the server started');

export const metricsResponse = z.string().describe('Prometheus text exposition format');
export const openapiResponse = z.record(z.string(), z.unknown()).describe('This document');
