/**
 * @module pipelines/jobs/types
 * The job-runner contract: a flow is an ordered list of named stages run once each, every stage
 * seeing the params and the results of the stages before it. How the stages are executed — in
 * this process ({@link createInlineRunner}) or by BullMQ workers — is the implementation's
 * business; what a caller observes is the same, and `runner.suite.ts` checks that it is.
 */
import type { ErrorCode } from '../../errors.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What a stage reports as progress: a percentage or any JSON object. */
export type StageProgress = number | Record<string, unknown>;

/** What a stage handler is given besides its input. */
export interface StageContext {
  readonly flowId: string;
  readonly stage: string;
  /** 1 on the first run of this stage, 2 on its first retry, and so on. */
  readonly attempt: number;
  /** Aborted when the runner shuts down and wants the stage back; a stage that honours it is re-run later. */
  readonly signal: AbortSignal;
  progress(value: StageProgress): Promise<void>;
  log(message: string): void;
}

export interface StageInput {
  readonly params: JsonObject;
  /** Earlier stages' return values, by stage name. */
  readonly results: Readonly<Record<string, unknown>>;
}

/**
 * One stage of a flow. It returns a JSON-serializable value (`undefined` is stored as `null`).
 * Throwing a {@link LarderError} with a 4xx code (e.g. `LARDER_E_VALIDATION_FAILED`) fails the
 * flow at once; any other error is treated as transient and retried with exponential backoff.
 */
export type StageHandler = (input: StageInput, ctx: StageContext) => Promise<unknown>;
export type StageHandlers = Readonly<Record<string, StageHandler>>;

export interface FlowRequest {
  /** What the flow does, e.g. `retrain`: `[a-z][a-z0-9_-]*`. */
  readonly kind: string;
  /** Stage names in the order they run: `[a-z][a-z0-9_]*`, unique, at least one. */
  readonly stages: readonly string[];
  readonly params: JsonObject;
  /**
   * Idempotency key, `[A-Za-z0-9_@=+-]{1,200}` (not all digits). Submitting a flowId that exists
   * adds nothing and reports the existing flow. Default: `<kind>-<hash of kind, stages, params>`.
   */
  readonly flowId?: string;
}

/** A stage's failure as callers see it; `code` is null for errors that carry no Larder code. */
export interface StageError {
  readonly code: ErrorCode | null;
  readonly message: string;
  readonly details?: unknown;
}

export interface FlowResult {
  readonly flowId: string;
  readonly state: 'completed' | 'failed';
  /** Return values of the stages that completed, by stage name. */
  readonly results: Readonly<Record<string, unknown>>;
  readonly failedStage?: string;
  readonly error?: StageError;
}

/**
 * `pending`: waits for earlier stages; `waiting`: ready to run; `active`: running; `delayed`:
 * waiting out a retry backoff; `skipped`: never ran because an earlier stage failed.
 */
export type StageState = 'pending' | 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'skipped';
export type FlowState = 'running' | 'completed' | 'failed';

export interface StageStatus {
  readonly stage: string;
  readonly state: StageState;
  /** How many times the handler was started (a worker dying mid-stage counts as a start). */
  readonly attempts: number;
  /** The last progress the stage reported; 0 before it reports any. */
  readonly progress: StageProgress;
  readonly result?: unknown;
  readonly error?: StageError;
}

export interface FlowStatus {
  readonly flowId: string;
  readonly kind: string;
  readonly params: JsonObject;
  readonly state: FlowState;
  readonly stages: readonly StageStatus[];
}

export interface FlowProgressEvent {
  readonly flowId: string;
  readonly stage: string;
  readonly progress: StageProgress;
}

export interface RunFlowOptions {
  /** Stops waiting (rejects with `LARDER_E_ABORTED`); the flow itself carries on. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: FlowProgressEvent) => void;
}

/** Runs flows of stages. Every implementation passes `jobRunnerSuite` (runner.suite.ts). */
export interface JobRunner {
  /** Submits the flow (or finds it, by flowId) and resolves when it has completed or failed. */
  runFlow(request: FlowRequest, options?: RunFlowOptions): Promise<FlowResult>;
  /** Submits without waiting; `created` is false when the flowId existed already. */
  submitFlow(request: FlowRequest): Promise<{ flowId: string; created: boolean }>;
  /** Where the flow stands, stage by stage; `undefined` for a flowId never submitted. */
  flowStatus(flowId: string): Promise<FlowStatus | undefined>;
  close(): Promise<void>;
}

/** Retry policy shared by the runners: `attempts` runs in all, waits of `backoffMs · 2^(n-1)`. */
export interface RetryOptions {
  /** Total runs of a stage that keeps failing transiently. Default 3. */
  readonly attempts?: number;
  /** Wait before the first retry; doubles each time. Default 1000. */
  readonly backoffMs?: number;
}

/** A repeatable flow: `pattern` (cron, with seconds optional) or `every` (ms), not both. */
export interface ScheduleSpec {
  /** `[A-Za-z0-9_-]{1,100}`; each firing runs the flow with flowId `<id>@<firing time in ms>`. */
  readonly id: string;
  readonly pattern?: string;
  readonly every?: number;
  /** IANA time zone for `pattern`, e.g. `Europe/Berlin`. Default UTC. */
  readonly tz?: string;
  readonly flow: Omit<FlowRequest, 'flowId'>;
}

export interface ScheduleInfo extends ScheduleSpec {
  /** When it fires next (ms since the epoch), if known. */
  readonly next?: number;
  readonly firings?: number;
}

/** Runners that can fire flows on a schedule (the BullMQ one). */
export interface FlowScheduler {
  /** Creates or replaces the schedule with this id. */
  setSchedule(spec: ScheduleSpec): Promise<void>;
  listSchedules(): Promise<ScheduleInfo[]>;
  /** True when a schedule with this id existed. */
  removeSchedule(id: string): Promise<boolean>;
}
