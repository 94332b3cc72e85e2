/**
 * @module serving/grpc/proto
 * Loads Larder's two `.proto` files (shipped next to this module) with `@grpc/proto-loader` at
 * run time — no generated code — into the service definitions that the server and clients share.
 * Options: field names as written in the protos (`snake_case`; the well-known `Struct` keeps
 * protobufjs's `camelCase`), enums as their names, 64-bit integers as JS numbers, defaults
 * filled in, and the set member of each `oneof` named.
 */
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

/** Absolute paths of the shipped protos, for other tools (grpcurl `-proto`, other languages). */
export const PROTO_FILES = {
  larder: fileURLToPath(new URL('./larder.proto', import.meta.url)),
  inference: fileURLToPath(new URL('./inference.proto', import.meta.url)),
} as const;

const LOADER_OPTIONS: Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

/** The two services: their definitions (for `Server.addService`) and client constructors. */
export interface LarderGrpcServices {
  readonly larder: ServiceClientConstructor;
  readonly inference: ServiceClientConstructor;
  readonly larderService: ServiceDefinition;
  readonly inferenceService: ServiceDefinition;
}

/** Parses the protos (a few ms); call once per server or client, not per request. */
export function loadLarderServices(): LarderGrpcServices {
  const definition = loadSync([PROTO_FILES.larder, PROTO_FILES.inference], LOADER_OPTIONS);
  const root = loadPackageDefinition(definition);
  const larder = (root['larder'] as GrpcObject)['v1'] as GrpcObject;
  const inference = root['inference'] as GrpcObject;
  const larderClient = larder['Larder'] as ServiceClientConstructor;
  const inferenceClient = inference['GRPCInferenceService'] as ServiceClientConstructor;
  return { larder: larderClient, inference: inferenceClient, larderService: larderClient.service, inferenceService: inferenceClient.service };
}
