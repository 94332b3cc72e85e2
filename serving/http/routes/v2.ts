/**
 * @module serving/http/routes/v2
 * The Open Inference Protocol's REST routes (KServe V2): server liveness and readiness, model
 * metadata and readiness, and raw-tensor inference, with or without an explicit version. Tensor
 * `data` may be flat or nested row-major lists; nested lists are flattened before the predictor
 * checks them against the model's signature.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { larderError } from '../../../errors.ts';
import type { V2Tensor } from '../../types.ts';
import { clientGone, type AppDeps } from '../context.ts';
import type { RouteSpec } from '../route-spec.ts';
import {
  liveResponse, modelReadyResponse, readyResponse, v2InferBody, v2InferResponse, v2MetadataResponse, v2NameParams, v2VersionParams,
} from '../schemas.ts';

/** Row-major nested lists → one flat list. */
function flatten(data: readonly unknown[]): unknown[] {
  return data.some(Array.isArray) ? (data as unknown[]).flat(Infinity) : [...data];
}

type Params = { name: string; version?: string };

export function v2Routes({ predictor }: AppDeps): RouteSpec[] {
  const metadata = async (request: FastifyRequest): Promise<unknown> => {
    const { name, version } = request.params as Params;
    const meta = await predictor.metadata(name, version);
    request.larderModel = { model: name, ...(version === undefined ? {} : { version }) };
    return meta;
  };
  const ready = async (request: FastifyRequest): Promise<unknown> => {
    const { name, version } = request.params as Params;
    if (!(await predictor.modelReady(name, version))) {
      // Not ready because it does not exist is the caller's 404, not our 503.
      await predictor.metadata(name, version);
      throw larderError('LARDER_E_UNAVAILABLE', { reason: `model ${name}${version === undefined ? '' : `@${version}`} is not ready` }, { details: { name, version, ready: false } });
    }
    request.larderModel = { model: name, ...(version === undefined ? {} : { version }) };
    return { name, ...(version === undefined ? {} : { version }), ready: true };
  };
  const infer = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const { name, version } = request.params as Params;
    const body = request.body as z.infer<typeof v2InferBody>;
    const response = await predictor.infer({
      model: name,
      ...(version === undefined ? {} : { version }),
      ...(body.id === undefined ? {} : { id: body.id }),
      inputs: body.inputs.map((t): V2Tensor => ({ name: t.name, shape: t.shape, datatype: t.datatype, data: flatten(t.data) as V2Tensor['data'] })),
      ...(body.outputs === undefined ? {} : { outputs: body.outputs.map((o) => o.name) }),
      signal: clientGone(reply),
    });
    request.larderModel = { model: response.model_name, version: response.model_version };
    return response;
  };
  const noReply = (fn: (request: FastifyRequest) => Promise<unknown>) => (request: FastifyRequest, _reply: FastifyReply) => fn(request);

  return [
    {
      method: 'GET', url: '/v2/health/live', tag: 'oip', scope: null, summary: 'Liveness: the server answers',
      response: liveResponse, errors: [], handler: async () => ({ live: true }),
    },
    {
      method: 'GET', url: '/v2/health/ready', tag: 'oip', scope: null, summary: 'Readiness: the server takes requests (503 while shutting down)',
      response: readyResponse, errors: [503], handler: async () => ({ ready: true }),
    },
    {
      method: 'GET', url: '/v2/models/:name', tag: 'oip', scope: 'predict', summary: "Model metadata of the champion version: versions, platform, the graph's inputs and outputs",
      params: v2NameParams, response: v2MetadataResponse, errors: [404], handler: noReply(metadata),
    },
    {
      method: 'GET', url: '/v2/models/:name/versions/:version', tag: 'oip', scope: 'predict', summary: 'Model metadata of one version (or alias)',
      params: v2VersionParams, response: v2MetadataResponse, errors: [404], handler: noReply(metadata),
    },
    {
      method: 'GET', url: '/v2/models/:name/ready', tag: 'oip', scope: 'predict', summary: 'Whether the champion version is loaded and answers (503 when not)',
      params: v2NameParams, response: modelReadyResponse, errors: [404, 503], handler: noReply(ready),
    },
    {
      method: 'GET', url: '/v2/models/:name/versions/:version/ready', tag: 'oip', scope: 'predict', summary: 'Whether one version is loaded and answers (503 when not)',
      params: v2VersionParams, response: modelReadyResponse, errors: [404, 503], handler: noReply(ready),
    },
    {
      method: 'POST', url: '/v2/models/:name/infer', tag: 'oip', scope: 'predict', summary: 'Raw-tensor inference on the champion version',
      params: v2NameParams, body: v2InferBody, response: v2InferResponse, errors: [404], handler: infer,
    },
    {
      method: 'POST', url: '/v2/models/:name/versions/:version/infer', tag: 'oip', scope: 'predict', summary: 'Raw-tensor inference on one version (or alias)',
      params: v2VersionParams, body: v2InferBody, response: v2InferResponse, errors: [404], handler: infer,
    },
  ];
}
