/**
 * @module pipelines/jobs
 * Job runners for Larder's pipelines. A flow — e.g. `dataset → validate → train → evaluate →
 * register` — is an ordered list of named stages; each stage handler gets the flow's params and
 * the earlier stages' results. A Larder error with a 4xx code (a failed validation among them)
 * stops the flow at once with its code, message and details; other errors are retried with
 * exponential backoff. flowIds make submission idempotent. {@link createInlineRunner} runs flows
 * in this process (no Redis); {@link createBullmqRunner} submits them to BullMQ, where
 * {@link startWorker} processes run them and schedules fire them.
 */
export type {
  FlowProgressEvent, FlowRequest, FlowResult, FlowScheduler, FlowState, FlowStatus, JobRunner, JsonObject, JsonValue,
  RetryOptions, RunFlowOptions, ScheduleInfo, ScheduleSpec, StageContext, StageError, StageHandler, StageHandlers,
  StageInput, StageProgress, StageState, StageStatus,
} from './types.ts';
export { defaultFlowId, isRetryable } from './flow.ts';
export { createInlineRunner, type InlineRunnerOptions } from './inline.ts';
export { createBullmqRunner, type BullmqRunner, type BullmqRunnerOptions } from './bullmq.ts';
export { DEFAULT_QUEUE } from './bullmq-flow.ts';
export {
  installGracefulShutdown, startWorker, type CloseWorkerOptions, type GracefulShutdownOptions, type RunningWorker,
  type StartWorkerOptions,
} from './worker.ts';
