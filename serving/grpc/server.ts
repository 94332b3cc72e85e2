/**
 * @module serving/grpc/server
 * Larder's gRPC server (`@grpc/grpc-js`): `larder.v1.Larder` (GetFeatures, Predict) and the
 * KServe V2 `inference.GRPCInferenceService` subset (ServerLive, ServerReady, ModelReady,
 * ModelMetadata, ModelInfer) on one port, every call answered by the same `Predictor` as the
 * HTTP API. The protos are loaded at start (`proto.ts`); wire messages are mapped to the
 * predictor's plain data (`struct.ts`, `tensors.ts`) and errors to gRPC statuses (`status.ts`).
 * A cancelled call's predictions are dropped before they run (the predictor polls
 * `call.cancelled`); raw-tensor inference gets an AbortSignal. `close()` stops taking
 * calls, lets running ones finish (`tryShutdown`), and forces the rest after a timeout; it does
 * not close the predictor, which belongs to whoever made it.
 */
import { performance } from 'node:perf_hooks';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { OnlineFeaturesRequest } from '../../featurestore/online-read.ts';
import type { ApiKey, ApiScope } from '../config.ts';
import type { ServingMetrics } from '../metrics.ts';
import type { Predictor } from '../types.ts';
import { authorizeCall } from './auth.ts';
import { loadLarderServices } from './proto.ts';
import { grpcFailure } from './status.ts';
import { fromProtoStruct, toProtoStruct, type ProtoStruct } from './struct.ts';
import { inferRequestFromWire, inferResponseToWire, type WireInferRequest } from './tensors.ts';

/** Options of {@link startGrpcServer}. */
export interface GrpcServerOptions {
  readonly predictor: Predictor;
  /** 0 picks a free port; the chosen one is `GrpcServer.port`. */
  readonly port: number;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Counts every call like an HTTP request (route = the gRPC method path, method `GRPC`). */
  readonly metrics?: ServingMetrics;
  /** Hashed API keys (`ServeConfig.apiKeys`); none → no authentication. */
  readonly apiKeys?: readonly ApiKey[];
  /** Largest request message in bytes (default 4 MiB, gRPC's own default). */
  readonly maxMessageBytes?: number;
  /** How long `close()` waits for running calls before cancelling them (default 5000 ms). */
  readonly shutdownTimeoutMs?: number;
  /** Told of every failure that is ours (5xx), with the method path; default `console.error`. */
  readonly onError?: (error: unknown, method: string) => void;
}

/** A listening gRPC server. */
export interface GrpcServer {
  readonly port: number;
  /** Graceful shutdown, forced after `shutdownTimeoutMs`. */
  close(): Promise<void>;
}

interface Answer<T> {
  readonly response: T;
  readonly model?: string;
  readonly version?: string;
}

interface WireGetFeatures { service: string; features: string[]; entities: ProtoStruct[]; full_feature_names: boolean }
interface WirePredict { model: string; version: string; entities: ProtoStruct[]; request_id: string }

/**
 * Starts the gRPC server and resolves once it listens.
 * @example
 * const grpc = await startGrpcServer({ predictor, port: 9090, metrics });
 * // … later
 * await grpc.close();
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const { predictor, metrics } = options;
  const keys = options.apiKeys ?? [];
  const onError = options.onError ?? ((error: unknown, method: string) => console.error(`larder gRPC ${method} failed:`, error));
  const services = loadLarderServices();
  const maxBytes = options.maxMessageBytes ?? 4 * 1024 * 1024;
  const server = new Server({ 'grpc.max_receive_message_length': maxBytes });
  let closing = false;

  /** One unary method: auth, cancellation (polled, or an AbortSignal made on demand), errors → statuses, metrics. */
  const unary = <Req, Res>(route: string, scope: ApiScope | null, handle: (request: Req, cancel: CallCancellation) => Promise<Answer<Res>>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      const start = performance.now();
      const observe = (status: number, model?: string, version?: string): void => {
        metrics?.httpRequest({ route, method: 'GRPC', status, ...(model === undefined ? {} : { model }), ...(version === undefined ? {} : { version }), seconds: (performance.now() - start) / 1000 });
      };
      void (async () => {
        try {
          if (scope !== null) authorizeCall(keys, metadataText(call.metadata.get('authorization')), scope);
          const answer = await handle(call.request, cancellationOf(call));
          callback(null, answer.response);
          observe(200, answer.model, answer.version);
        } catch (error) {
          const failure = grpcFailure(error);
          if (failure.httpStatus >= 500) onError(error, route);
          callback(failure.error, null);
          metrics?.error(failure.larderCode);
          // No model label on failures: a client could mint a series per made-up model name.
          observe(failure.httpStatus);
        }
      })();
    };

  const larder: UntypedServiceImplementation = {
    // No signal: the read is one round trip bounded by the store's timeout (and can then be merged with concurrent ones).
    GetFeatures: unary<WireGetFeatures, unknown>('/larder.v1.Larder/GetFeatures', 'features', async (req) => {
      const request: OnlineFeaturesRequest = {
        ...(req.service === '' ? {} : { service: req.service }),
        ...(req.features.length === 0 ? {} : { features: req.features }),
        entities: req.entities.map(fromProtoStruct),
        fullFeatureNames: req.full_feature_names,
      };
      const result = await predictor.features(request);
      return {
        response: {
          features: result.features,
          rows: result.rows.map((row) => ({ values: toProtoStruct(row.values), statuses: row.statuses, event_timestamps: toProtoStruct(row.eventTimestamps) })),
        },
      };
    }),
    Predict: unary<WirePredict, unknown>('/larder.v1.Larder/Predict', 'predict', async (req, cancel) => {
      const result = await predictor.predict({
        model: req.model,
        ...(req.version === '' ? {} : { version: req.version }),
        entities: req.entities.map(fromProtoStruct),
        ...(req.request_id === '' ? {} : { requestId: req.request_id }),
        cancelled: cancel.cancelled,
      });
      return {
        model: result.model,
        version: result.version,
        response: {
          model: result.model,
          version: result.version,
          predictions: result.predictions.map((p) => ({
            id: p.id, ...(p.output === null ? {} : { output: p.output }), features: toProtoStruct(p.features), statuses: p.statuses, degraded: p.degraded,
          })),
        },
      };
    }),
  };

  const inference: UntypedServiceImplementation = {
    ServerLive: unary('/inference.GRPCInferenceService/ServerLive', null, async () => ({ response: { live: true } })),
    ServerReady: unary('/inference.GRPCInferenceService/ServerReady', null, async () => ({ response: { ready: !closing } })),
    ModelReady: unary<{ name: string; version: string }, unknown>('/inference.GRPCInferenceService/ModelReady', 'predict', async (req) => ({
      model: req.name,
      response: { ready: await predictor.modelReady(req.name, req.version === '' ? undefined : req.version) },
    })),
    ModelMetadata: unary<{ name: string; version: string }, unknown>('/inference.GRPCInferenceService/ModelMetadata', 'predict', async (req) => {
      const m = await predictor.metadata(req.name, req.version === '' ? undefined : req.version);
      return { model: m.name, response: { name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs, outputs: m.outputs } };
    }),
    ModelInfer: unary<WireInferRequest, unknown>('/inference.GRPCInferenceService/ModelInfer', 'predict', async (req, cancel) => {
      const result = await predictor.infer(inferRequestFromWire(req, cancel.signal()));
      return { model: result.model_name, version: result.model_version, response: inferResponseToWire(result, req.raw_input_contents.length > 0) };
    }),
  };

  server.addService(services.larderService, larder);
  server.addService(services.inferenceService, inference);
  const host = options.host ?? '127.0.0.1';
  const address = host.includes(':') ? `[${host}]:${options.port}` : `${host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });

  let closed: Promise<void> | undefined;
  return {
    port,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        const force = setTimeout(() => server.forceShutdown(), options.shutdownTimeoutMs ?? 5000);
        server.tryShutdown(() => { clearTimeout(force); resolve(); });
      });
      return closed;
    },
  };
}

/** How a handler learns that its caller cancelled: a check to poll, or a signal, made only when asked for. */
interface CallCancellation {
  readonly cancelled: () => boolean;
  signal(): AbortSignal;
}

function cancellationOf(call: ServerUnaryCall<unknown, unknown>): CallCancellation {
  let abort: AbortController | undefined;
  return {
    cancelled: () => call.cancelled,
    signal() {
      if (abort === undefined) {
        const controller = new AbortController();
        abort = controller;
        const cancel = (): void => controller.abort(new Error('the client cancelled the call'));
        if (call.cancelled) cancel();
        else call.on('cancelled', cancel);
      }
      return abort.signal;
    },
  };
}

function metadataText(values: readonly (string | Buffer)[]): string | undefined {
  const first = values[0];
  return first === undefined ? undefined : typeof first === 'string' ? first : first.toString('utf8');
}
