/**
 * @module serving/http/errors
 * Every failure of the HTTP API as `{ error: { code, message, details } }`. Larder errors keep
 * their code and status; what Fastify reports about the request itself (bad JSON, a body over the
 * limit, schema validation, a malformed URL) becomes the matching 4xx code; anything else is ours
 * and answers 500 without leaking internals. A bad request must never come out as a 5xx.
 */
import type { FastifyError } from 'fastify';
import { isLarderError, larderError, type LarderError } from '../../errors.ts';

/** What the error handler sends. */
export interface HttpError {
  readonly status: number;
  readonly code: string;
  readonly body: { error: { code: string; message: string; details?: unknown } };
  /** True for our failures (5xx), which are logged. */
  readonly internal: boolean;
}

interface AjvIssue { readonly instancePath?: string; readonly message?: string; readonly keyword?: string; readonly params?: Record<string, unknown> }

/** Ajv's issues as `{ path, message }`, the shape every Larder validation error uses. */
function validationIssues(error: FastifyError): { path: string; message: string; keyword?: string }[] {
  const where = (error as FastifyError & { validationContext?: string }).validationContext ?? 'body';
  return ((error.validation ?? []) as AjvIssue[]).map((issue) => {
    const segments = (issue.instancePath ?? '').split('/').filter((s) => s.length > 0);
    let message = issue.message ?? 'is invalid';
    if (issue.keyword === 'additionalProperties' && typeof issue.params?.['additionalProperty'] === 'string') {
      message = `unknown property ${JSON.stringify(issue.params['additionalProperty'])}`;
    }
    return { path: [where, ...segments].join('.'), message, ...(issue.keyword === undefined ? {} : { keyword: issue.keyword }) };
  });
}

function fromFastify(error: FastifyError): LarderError | null {
  if (error.validation) {
    const issues = validationIssues(error);
    const reason = issues.slice(0, 5).map((i) => `${i.path} ${i.message}`).join('; ') + (issues.length > 5 ? `; and ${issues.length - 5} more` : '');
    return larderError('LARDER_E_INVALID_REQUEST', { reason }, { details: issues });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return larderError('LARDER_E_PAYLOAD_TOO_LARGE', { reason: 'the body is larger than the server\'s bodyLimit' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return larderError('LARDER_E_INVALID_REQUEST', { reason: 'send the body as Content-Type: application/json' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return larderError('LARDER_E_INVALID_REQUEST', { reason: 'the body is not valid JSON (or holds a __proto__ or constructor.prototype key)' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return larderError('LARDER_E_INVALID_REQUEST', { reason: 'the JSON body is empty' });
    case 'FST_ERR_BAD_URL':
      return larderError('LARDER_E_INVALID_REQUEST', { reason: 'the URL is malformed' });
    default:
      break;
  }
  if (error instanceof SyntaxError) return larderError('LARDER_E_INVALID_REQUEST', { reason: `the body is not valid JSON (${error.message})` });
  const status = error.statusCode ?? 500;
  if (status === 413) return larderError('LARDER_E_PAYLOAD_TOO_LARGE', { reason: error.message });
  if (status >= 400 && status < 500) return larderError('LARDER_E_INVALID_REQUEST', { reason: error.message });
  return null;
}

/** The response for any thrown value. */
export function httpErrorOf(error: unknown): HttpError {
  const larder = isLarderError(error) ? error : fromFastify(error as FastifyError);
  if (larder) {
    const body = larder.toJSON();
    return { status: larder.status, code: larder.code, body, internal: larder.status >= 500 };
  }
  // No LARDER_E_* code covers "a bug of ours"; the body keeps the error shape without internals.
  return {
    status: 500,
    code: 'LARDER_E_INTERNAL',
    body: { error: { code: 'LARDER_E_INTERNAL', message: 'Internal server error; the server log has the details' } },
    internal: true,
  };
}
