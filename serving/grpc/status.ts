/**
 * @module serving/grpc/status
 * Larder errors as gRPC statuses: the status code from the error's HTTP status, and trailing
 * metadata `larder-code` (the `LARDER_E_*` code) plus `larder-error-bin` (the UTF-8 JSON body
 * the HTTP API would have answered, `{ error: { code, message, details } }`). Anything that is
 * not a LarderError is INTERNAL with code `LARDER_E_INTERNAL` and, like the HTTP API's 500, a
 * message without internals.
 */
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { isLarderError } from '../../errors.ts';

/** The gRPC status code for an HTTP status. */
export function grpcCodeFor(httpStatus: number): GrpcStatus {
  switch (httpStatus) {
    case 400: case 422: return GrpcStatus.INVALID_ARGUMENT;
    case 401: return GrpcStatus.UNAUTHENTICATED;
    case 403: return GrpcStatus.PERMISSION_DENIED;
    case 404: return GrpcStatus.NOT_FOUND;
    case 409: return GrpcStatus.FAILED_PRECONDITION;
    case 413: case 429: return GrpcStatus.RESOURCE_EXHAUSTED;
    case 499: return GrpcStatus.CANCELLED;
    case 503: return GrpcStatus.UNAVAILABLE;
    case 504: return GrpcStatus.DEADLINE_EXCEEDED;
    default: return httpStatus >= 400 && httpStatus < 500 ? GrpcStatus.INVALID_ARGUMENT : GrpcStatus.INTERNAL;
  }
}

/** What a failed call reports: the status to send and what metrics count. */
export interface GrpcFailure {
  readonly error: Partial<ServiceError>;
  readonly larderCode: string;
  readonly httpStatus: number;
}

/** A thrown value as the gRPC error to answer with. */
export function grpcFailure(error: unknown): GrpcFailure {
  const metadata = new Metadata();
  if (isLarderError(error)) {
    metadata.set('larder-code', error.code);
    metadata.set('larder-error-bin', Buffer.from(JSON.stringify(error.toJSON()), 'utf8'));
    return { error: { code: grpcCodeFor(error.status), details: error.message, metadata }, larderCode: error.code, httpStatus: error.status };
  }
  // As over HTTP: no internals in the answer; the server's onError hook logs the error itself.
  const message = 'Internal server error; the server log has the details';
  metadata.set('larder-code', 'LARDER_E_INTERNAL');
  metadata.set('larder-error-bin', Buffer.from(JSON.stringify({ error: { code: 'LARDER_E_INTERNAL', message } }), 'utf8'));
  return { error: { code: GrpcStatus.INTERNAL, details: message, metadata }, larderCode: 'LARDER_E_INTERNAL', httpStatus: 500 };
}
