/**
 * @module pipelines/jobs/flow
 * What every runner agrees on, with no driver in sight: how a {@link FlowRequest} is checked and
 * gets its flowId, and which stage failures are retried.
 */
import { createHash } from 'node:crypto';
import { isLarderError, larderError, reasonOf } from '../../errors.ts';
import type { FlowRequest, FlowResult, FlowStatus, JsonObject, RetryOptions, StageError } from './types.ts';

const KIND = /^[a-z][a-z0-9_-]*$/;
const STAGE = /^[a-z][a-z0-9_]*$/;
/** No `:` (BullMQ ids) and no `.` (it separates flowId and stage in job ids). */
const FLOW_ID = /^[A-Za-z0-9_@=+-]{1,200}$/;

/** A request whose flowId is settled. */
export interface ResolvedFlow {
  readonly flowId: string;
  readonly kind: string;
  readonly stages: readonly string[];
  readonly params: JsonObject;
}

/** JSON with object keys sorted, so equal values hash equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The flowId a request gets when it names none: the same request always maps to the same id. */
export function defaultFlowId(request: Pick<FlowRequest, 'kind' | 'stages' | 'params'>): string {
  const digest = createHash('sha256')
    .update(canonicalJson({ kind: request.kind, stages: request.stages, params: request.params }))
    .digest('hex');
  return `${request.kind}-${digest.slice(0, 24)}`;
}

/** Whether a flowId can name a flow: BullMQ job ids allow no `:` and no all-digit custom ids. */
export function isValidFlowId(flowId: string): boolean {
  return FLOW_ID.test(flowId) && !/^\d+$/.test(flowId);
}

/** Problems with a request's shape, all of them (empty when it is fine). */
export function flowRequestProblems(request: FlowRequest): string[] {
  const problems: string[] = [];
  if (typeof request.kind !== 'string' || !KIND.test(request.kind)) problems.push(`kind ${JSON.stringify(request.kind)} must match ${KIND}`);
  if (!Array.isArray(request.stages) || request.stages.length === 0) problems.push('stages must be a non-empty list');
  else {
    const seen = new Set<string>();
    for (const stage of request.stages) {
      if (typeof stage !== 'string' || !STAGE.test(stage)) problems.push(`stage ${JSON.stringify(stage)} must match ${STAGE}`);
      else if (seen.has(stage)) problems.push(`stage ${stage} appears twice`);
      seen.add(stage);
    }
  }
  if (request.params === null || typeof request.params !== 'object' || Array.isArray(request.params)) problems.push('params must be a JSON object');
  else {
    try {
      JSON.stringify(request.params);
    } catch (error) {
      problems.push(`params are not JSON-serializable: ${reasonOf(error)}`);
    }
  }
  if (request.flowId !== undefined && (typeof request.flowId !== 'string' || !isValidFlowId(request.flowId))) {
    problems.push(`flowId ${JSON.stringify(request.flowId)} must match ${FLOW_ID} and not be all digits`);
  }
  return problems;
}

/** Checks the request and settles its flowId; throws `LARDER_E_INVALID_REQUEST` listing every problem. */
export function resolveFlow(request: FlowRequest): ResolvedFlow {
  const problems = flowRequestProblems(request);
  if (problems.length > 0) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `flow request: ${problems.join('; ')}` }, { details: { problems } });
  }
  return {
    flowId: request.flowId ?? defaultFlowId(request),
    kind: request.kind,
    stages: [...request.stages],
    params: request.params,
  };
}

/** Stages whose names have no handler, for runners that know their handlers up front. */
export function missingHandlers(stages: readonly string[], handlers: Readonly<Record<string, unknown>>): string[] {
  return stages.filter((stage) => !Object.hasOwn(handlers, stage));
}

/**
 * Whether a stage failure is worth another try. Caller mistakes — Larder errors with a 4xx status,
 * validation failures among them — fail the same way every time; anything else may be transient.
 */
export function isRetryable(error: unknown): boolean {
  return !(isLarderError(error) && error.status < 500);
}

/** The error a failed stage is reported with: the Larder code, message and details when it has them. */
export function toStageError(error: unknown): StageError {
  if (isLarderError(error)) {
    return error.details === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, details: error.details };
  }
  return { code: null, message: reasonOf(error) };
}

/** Retry options with their defaults filled in. */
export interface ResolvedRetry {
  readonly attempts: number;
  readonly backoffMs: number;
}

/** Fills in the retry defaults (3 attempts, 1 s) and checks the values (`LARDER_E_CONFIG_INVALID`). */
export function resolveRetry(options: RetryOptions = {}): ResolvedRetry {
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 1000;
  if (!Number.isInteger(attempts) || attempts < 1) throw larderError('LARDER_E_CONFIG_INVALID', { path: 'attempts', reason: `must be an integer ≥ 1, got ${attempts}` });
  if (!Number.isFinite(backoffMs) || backoffMs < 0) throw larderError('LARDER_E_CONFIG_INVALID', { path: 'backoffMs', reason: `must be a number ≥ 0, got ${backoffMs}` });
  return { attempts, backoffMs };
}

/** The wait before retry number `retry` (1 for the first retry). */
export function backoffDelay(retry: ResolvedRetry, retryNumber: number): number {
  return retry.backoffMs * 2 ** (retryNumber - 1);
}

/** The result of a finished flow, from its status. */
export function resultOfStatus(status: FlowStatus): FlowResult {
  const results: Record<string, unknown> = {};
  let failed: { stage: string; error: StageError } | undefined;
  for (const stage of status.stages) {
    if (stage.state === 'completed') results[stage.stage] = stage.result ?? null;
    if (stage.state === 'failed' && failed === undefined) {
      failed = { stage: stage.stage, error: stage.error ?? { code: null, message: `stage ${stage.stage} failed` } };
    }
  }
  if (status.state === 'failed') {
    return failed === undefined
      ? { flowId: status.flowId, state: 'failed', results, error: { code: null, message: 'the flow failed' } }
      : { flowId: status.flowId, state: 'failed', results, failedStage: failed.stage, error: failed.error };
  }
  return { flowId: status.flowId, state: 'completed', results };
}

/** Rejects when the signal aborts; resolves after `ms` otherwise. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `LARDER_E_ABORTED` for `what`. */
export function abortedError(what: string, cause?: unknown): Error {
  return larderError('LARDER_E_ABORTED', { what }, cause === undefined ? {} : { cause });
}
