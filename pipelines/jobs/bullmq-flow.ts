/**
 * @module pipelines/jobs/bullmq-flow
 * How a flow is laid out in BullMQ, shared by the runner (which submits and reads flows) and the
 * worker (which runs their stages and launches scheduled ones).
 *
 * A flow is a chain of parent/child jobs in one queue: the LAST stage is the root parent and the
 * first stage the deepest child, so BullMQ starts a stage only when the one before it completed,
 * and `failParentOnFailure` fails everything downstream of a failed stage without running it.
 * The root job's id is the flowId itself; the other stages are `<flowId>.<stage>`. Ids are
 * deterministic, so submitting a flowId again adds nothing.
 */
import { randomUUID } from 'node:crypto';
import { FlowProducer, Job, type FlowJob, type JobsOptions, type JobState, type Queue } from 'bullmq';
import { isValidFlowId, type ResolvedFlow, type ResolvedRetry } from './flow.ts';
import type { FlowState, FlowStatus, JsonObject, StageError, StageState, StageStatus } from './types.ts';

/** The queue everything goes to unless told otherwise. */
export const DEFAULT_QUEUE = 'larder-jobs';
/** Name of the job a schedule enqueues at each firing; stage names cannot take this form. */
export const LAUNCH_JOB = 'launch-flow';

/** What every stage job of a flow carries. */
export interface StageJobData {
  readonly flowId: string;
  readonly kind: string;
  readonly stages: readonly string[];
  readonly stage: string;
  readonly params: JsonObject;
  /** Random per submission: tells the submitter whether its add created the flow. */
  readonly submission: string;
  /** Set by the worker when an attempt fails, so the code and details survive. */
  readonly error?: StageError;
}

/** What a schedule's launch job carries. */
export interface LaunchJobData {
  readonly scheduleId: string;
  readonly flow: { readonly kind: string; readonly stages: readonly string[]; readonly params: JsonObject };
  readonly retry: ResolvedRetry;
}

/** BullMQ connection options for a Redis URL; blocking connections (workers, events) never give up on a command. */
export function redisOptions(url: string, blocking: boolean): { url: string; maxRetriesPerRequest?: null } {
  return blocking ? { url, maxRetriesPerRequest: null } : { url };
}

/** The job id of a stage: the flowId for the last stage (the root), `<flowId>.<stage>` otherwise. */
export function stageJobId(flowId: string, stages: readonly string[], stage: string): string {
  return stage === stages[stages.length - 1] ? flowId : `${flowId}.${stage}`;
}

/** The stage a job of the flow runs, from its id; undefined for jobs of other flows. */
export function stageOfJobId(flowId: string, stages: readonly string[], jobId: string): string | undefined {
  if (jobId === flowId) return stages[stages.length - 1];
  if (!jobId.startsWith(`${flowId}.`)) return undefined;
  const stage = jobId.slice(flowId.length + 1);
  return stages.includes(stage) ? stage : undefined;
}

function flowTree(queueName: string, flow: ResolvedFlow, retry: ResolvedRetry, submission: string): FlowJob {
  const opts = (stage: string): JobsOptions => ({
    jobId: stageJobId(flow.flowId, flow.stages, stage),
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    failParentOnFailure: true,
  });
  let node: FlowJob | undefined;
  for (const stage of flow.stages) {
    const data: StageJobData = { flowId: flow.flowId, kind: flow.kind, stages: flow.stages, stage, params: flow.params, submission };
    node = node === undefined
      ? { name: stage, queueName, data, opts: opts(stage) }
      : { name: stage, queueName, data, opts: opts(stage), children: [node] };
  }
  return node as FlowJob;
}

/** Adds the flow unless its flowId exists; `created` tells whether this call added it. */
export async function addFlow(
  producer: FlowProducer, queue: Queue, flow: ResolvedFlow, retry: ResolvedRetry,
): Promise<{ flowId: string; created: boolean }> {
  if ((await Job.fromId(queue, flow.flowId)) !== undefined) return { flowId: flow.flowId, created: false };
  const submission = randomUUID();
  // The whole tree is added in one MULTI: a concurrent submit of the same flowId either wrote all
  // of it first (and our jobs are duplicates) or finds all of ours.
  await producer.add(flowTree(queue.name, flow, retry, submission));
  const root = await Job.fromId<StageJobData>(queue, flow.flowId);
  return { flowId: flow.flowId, created: root?.data.submission === submission };
}

function stageStateOf(state: JobState | 'unknown'): StageState {
  switch (state) {
    case 'completed': return 'completed';
    case 'failed': return 'failed';
    case 'active': return 'active';
    case 'delayed': return 'delayed';
    case 'waiting': case 'prioritized': return 'waiting';
    default: return 'pending';
  }
}

/** The flow's status from its jobs; undefined when there is no flow with this id. */
export async function readFlowStatus(queue: Queue, flowId: string): Promise<FlowStatus | undefined> {
  if (!isValidFlowId(flowId)) return undefined;
  const root = await Job.fromId<StageJobData>(queue, flowId);
  // Other jobs of the queue (schedule launches) are not flows.
  if (root === undefined || root.data.flowId !== flowId || !Array.isArray(root.data.stages)) return undefined;
  const { kind, stages, params } = root.data;
  const jobs = await Promise.all(stages.map((stage) => Job.fromId<StageJobData>(queue, stageJobId(flowId, stages, stage))));
  const states = await Promise.all(jobs.map((job) => (job === undefined ? 'unknown' as const : job.getState())));
  let failedSeen = false;
  const statuses = stages.map((stage, index): StageStatus => {
    const job = jobs[index];
    let state = stageStateOf(states[index] ?? 'unknown');
    if (state === 'failed' && failedSeen) state = 'skipped';
    if (state === 'failed') failedSeen = true;
    const base = {
      stage, state,
      attempts: job === undefined || state === 'skipped' ? 0 : job.attemptsStarted,
      progress: (job?.progress ?? 0) as StageStatus['progress'],
    };
    if (state === 'completed') return { ...base, result: job?.returnvalue ?? null };
    if (state === 'failed') return { ...base, error: job?.data.error ?? { code: null, message: job?.failedReason ?? `stage ${stage} failed` } };
    return base;
  });
  const flowState: FlowState = failedSeen ? 'failed' : statuses.every((s) => s.state === 'completed') ? 'completed' : 'running';
  return { flowId, kind, params, state: flowState, stages: statuses };
}
