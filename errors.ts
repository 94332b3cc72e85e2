/**
 * @module errors
 * The one table of Larder's error codes. Every failure a user can see carries a `LARDER_E_*`
 * code, a message built from the template below, an HTTP status (4xx: the caller's mistake,
 * 5xx: ours) and optional structured details. `docs/errors.md` documents the same table and a
 * test keeps the two in step.
 */

export interface ErrorSpec {
  readonly status: number;
  /** Message template; `{name}` is replaced by the parameter of that name. */
  readonly message: string;
}

export const ERROR_CODES = {
  LARDER_E_USAGE: { status: 400, message: 'Usage: {reason}' },
  LARDER_E_CONFIG_NOT_FOUND: { status: 404, message: 'No larder.config.ts found in {dir}' },
  LARDER_E_CONFIG_INVALID: { status: 400, message: 'Invalid config {path}: {reason}' },
  LARDER_E_MODULE_LOAD: { status: 400, message: 'Could not load definitions module {path}: {reason}' },
  LARDER_E_INVALID_DEFINITION: { status: 400, message: '{count} problem(s) in the definitions: {summary}' },
  LARDER_E_INVALID_DURATION: { status: 400, message: 'Invalid duration {value}: use a number and one of ms s m h d w, e.g. 30m or 7d' },
  LARDER_E_SCHEMA_MISMATCH: { status: 422, message: '{count} schema problem(s) between definitions and sources: {summary}' },
  LARDER_E_SOURCE_UNREADABLE: { status: 422, message: 'Source {source} could not be read: {reason}' },
  LARDER_E_REGISTRY_LOCKED: { status: 409, message: 'Another apply holds the registry lock {lock} (pid {pid}, since {since}); try again when it finishes' },
  LARDER_E_REGISTRY_CORRUPT: { status: 500, message: 'Registry file {path} is corrupt: {reason}' },
  LARDER_E_REGISTRY_STALE_PLAN: { status: 409, message: 'The registry moved from serial {expected} to {actual} since the plan was made; plan again' },
  LARDER_E_REGISTRY_PROJECT_MISMATCH: { status: 409, message: 'Registry {path} belongs to project {found}, not {project}' },
  LARDER_E_NOT_APPLIED: { status: 409, message: '{what} is not applied to the registry: run `larder apply` first' },
  LARDER_E_UNKNOWN_FEATURE: { status: 404, message: 'Unknown feature {ref}' },
  LARDER_E_UNKNOWN_VIEW: { status: 404, message: 'Unknown feature view {name}' },
  LARDER_E_UNKNOWN_SERVICE: { status: 404, message: 'Unknown feature service {name}' },
  LARDER_E_UNKNOWN_SOURCE: { status: 404, message: 'Unknown push source {name}' },
  LARDER_E_FEATURE_NAME_CLASH: { status: 400, message: 'Output column {column} would come from both {first} and {second}; pass fullFeatureNames: true' },
  LARDER_E_INVALID_ENTITIES: { status: 400, message: 'Invalid entity rows: {reason}' },
  LARDER_E_INVALID_REQUEST: { status: 400, message: 'Invalid request: {reason}' },
  LARDER_E_ON_DEMAND_FAILED: { status: 422, message: 'On-demand view {view} failed on row {row}: {reason}' },
  LARDER_E_DATASET_NOT_FOUND: { status: 404, message: 'No dataset manifest {id}' },
  LARDER_E_REBUILD_MISMATCH: { status: 409, message: 'Dataset {id} cannot be rebuilt exactly: {reason}' },
  LARDER_E_QUERY_FAILED: { status: 500, message: 'DuckDB query failed: {reason}' },
  LARDER_E_IO: { status: 500, message: 'I/O failure on {path}: {reason}' },
  LARDER_E_ABORTED: { status: 499, message: 'Aborted: {what}' },
  LARDER_E_ONLINE_UNAVAILABLE: { status: 503, message: 'Online store {store} is unavailable: {reason}' },
  LARDER_E_VALIDATION_FAILED: { status: 422, message: 'Validation failed with {count} error(s): {summary}' },
  LARDER_E_MODEL_INVALID: { status: 400, message: 'Invalid ONNX model {what}: {reason}' },
  LARDER_E_MODEL_CORRUPT: { status: 500, message: 'Model artifact {path} is corrupt: {reason}' },
  LARDER_E_MODEL_NOT_FOUND: { status: 404, message: 'No model {ref}' },
  LARDER_E_MODEL_TRANSITION: { status: 409, message: 'Model {ref} cannot go from {from} to {to}: {reason}' },
  LARDER_E_JOB_FAILED: { status: 500, message: 'Flow {flow} failed at stage {stage}: {reason}' },
  LARDER_E_UNAUTHORIZED: { status: 401, message: 'Unauthorized: {reason}' },
  LARDER_E_FORBIDDEN: { status: 403, message: 'Forbidden: this API key lacks the {scope} scope' },
  LARDER_E_RATE_LIMITED: { status: 429, message: 'Rate limit exceeded: {limit} requests per {window}; retry in {retryAfter}' },
  LARDER_E_PAYLOAD_TOO_LARGE: { status: 413, message: 'Request too large: {reason}' },
  LARDER_E_ROUTE_NOT_FOUND: { status: 404, message: 'No route {method} {url}' },
  LARDER_E_UNAVAILABLE: { status: 503, message: 'Service unavailable: {reason}' },
  LARDER_E_INTERNAL: { status: 500, message: 'Internal error: {reason}' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface LarderErrorOptions {
  readonly details?: unknown;
  readonly cause?: unknown;
}

/** The error type every Larder failure is reported with. */
export class LarderError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: LarderErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LarderError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = options.details;
  }

  /** The JSON error body of the HTTP API: `{ error: { code, message, details } }`. */
  toJSON(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/**
 * Builds a {@link LarderError} from the code table's template.
 * @example throw larderError('LARDER_E_UNKNOWN_VIEW', { name: 'origin_daily' });
 */
export function larderError(
  code: ErrorCode,
  params: Record<string, string | number> = {},
  options: LarderErrorOptions = {},
): LarderError {
  const message = ERROR_CODES[code].message.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in params ? String(params[key]) : whole,
  );
  return new LarderError(code, message, options);
}

export function isLarderError(value: unknown): value is LarderError {
  if (!(value instanceof Error)) return false;
  const code: unknown = (value as unknown as { code?: unknown }).code;
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** A message for any thrown value, for wrapping foreign failures. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
