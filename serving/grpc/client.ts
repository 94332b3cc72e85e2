/**
 * @module serving/grpc/client
 * A small promise-based client for Larder's gRPC services, from the same shipped protos (for
 * tests, the bench and TypeScript callers; other languages generate theirs from the `.proto`
 * files). Messages are the wire shapes proto-loader uses (`snake_case` fields, `Struct` as
 * `{ fields }`); `struct.ts` converts feature values.
 */
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadLarderServices } from './proto.ts';

/** Options of {@link createGrpcClient}. */
export interface GrpcClientOptions {
  /** Sent as `authorization: Bearer <apiKey>` on every call. */
  readonly apiKey?: string;
  /** Per-call deadline in ms (default none). */
  readonly deadlineMs?: number;
}

/** One call's outcome when it failed: the gRPC error with its `larder-code`. */
export type GrpcCallError = ServiceError & { readonly larderCode?: string; readonly larderError?: unknown };

/** A connected client of both services; `close()` it when done. */
export interface LarderGrpcClient {
  /** Calls `method` of `larder.v1.Larder` (`'larder'`) or `inference.GRPCInferenceService` (`'inference'`). */
  call<T = Record<string, unknown>>(service: 'larder' | 'inference', method: string, request: object): Promise<T>;
  close(): void;
}

/**
 * Connects to `address` (`host:port`, plaintext).
 * @example
 * const client = createGrpcClient(`127.0.0.1:${grpc.port}`);
 * const res = await client.call('larder', 'Predict', { model: 'churn', entities: [toProtoStruct({ customer_id: 'c1' })] });
 */
export function createGrpcClient(address: string, options: GrpcClientOptions = {}): LarderGrpcClient {
  const services = loadLarderServices();
  const clients: Record<'larder' | 'inference', Client> = {
    larder: new services.larder(address, credentials.createInsecure()),
    inference: new services.inference(address, credentials.createInsecure()),
  };
  return {
    call<T>(service: 'larder' | 'inference', method: string, request: object): Promise<T> {
      const client = clients[service] as unknown as Record<string, unknown>;
      const fn = client[method];
      if (typeof fn !== 'function') return Promise.reject(new Error(`no method ${method} on ${service}`));
      const metadata = new Metadata();
      if (options.apiKey !== undefined) metadata.set('authorization', `Bearer ${options.apiKey}`);
      const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
      return new Promise<T>((resolve, reject) => {
        (fn as (req: object, md: Metadata, opts: object, cb: (e: ServiceError | null, r: T) => void) => void).call(client, request, metadata, callOptions, (error, response) => {
          if (error === null) { resolve(response); return; }
          const code = error.metadata?.get('larder-code')[0];
          const body = error.metadata?.get('larder-error-bin')[0];
          Object.assign(error, {
            larderCode: typeof code === 'string' ? code : undefined,
            larderError: Buffer.isBuffer(body) ? (JSON.parse(body.toString('utf8')) as unknown) : undefined,
          });
          reject(error);
        });
      });
    },
    close(): void {
      clients.larder.close();
      clients.inference.close();
    },
  };
}
