/**
 * @module pipelines/jobs/schedules
 * Repeatable flows on BullMQ job schedulers. A schedule does not hold stage jobs: at each firing
 * its scheduler enqueues a small launch job, and the worker that takes it submits the flow with
 * flowId `<schedule id>@<firing time in ms>` — so a launch that is retried, or run by two
 * workers, still starts the flow once.
 */
import { getNextMillis, type Queue } from 'bullmq';
import { larderError, reasonOf } from '../../errors.ts';
import { LAUNCH_JOB, type LaunchJobData } from './bullmq-flow.ts';
import { flowRequestProblems, type ResolvedRetry } from './flow.ts';
import type { ScheduleInfo, ScheduleSpec } from './types.ts';

const SCHEDULE_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** Every problem with a schedule, checked before anything is written. */
export function scheduleProblems(spec: ScheduleSpec): string[] {
  const problems: string[] = [];
  if (typeof spec.id !== 'string' || !SCHEDULE_ID.test(spec.id)) problems.push(`id ${JSON.stringify(spec.id)} must match ${SCHEDULE_ID}`);
  const hasPattern = spec.pattern !== undefined;
  const hasEvery = spec.every !== undefined;
  if (hasPattern === hasEvery) problems.push('give exactly one of pattern (cron) and every (ms)');
  if (hasEvery && (!Number.isInteger(spec.every) || (spec.every as number) < 1)) problems.push(`every must be a whole number of ms ≥ 1, got ${spec.every}`);
  let tzOk = true;
  if (spec.tz !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: spec.tz });
    } catch {
      tzOk = false;
      problems.push(`tz ${JSON.stringify(spec.tz)} is not an IANA time zone`);
    }
  }
  if (hasPattern && tzOk) {
    try {
      if (typeof spec.pattern !== 'string' || spec.pattern.trim() === '') throw new Error('empty');
      const next = getNextMillis(Date.now(), { pattern: spec.pattern, ...(spec.tz === undefined ? {} : { tz: spec.tz }) });
      if (next === undefined) throw new Error('it never fires');
    } catch (error) {
      problems.push(`pattern ${JSON.stringify(spec.pattern)} is not a valid cron expression (${reasonOf(error)}); e.g. "0 3 * * 1" is Mondays at 03:00`);
    }
  }
  if (spec.flow === null || typeof spec.flow !== 'object') problems.push('flow must be a flow request');
  else {
    if ('flowId' in spec.flow) problems.push('flow must not name a flowId: each firing gets <schedule id>@<firing time>');
    problems.push(...flowRequestProblems(spec.flow).map((p) => `flow: ${p}`));
  }
  return problems;
}

/** Creates or replaces the scheduler `spec.id`; throws `LARDER_E_INVALID_REQUEST` listing every problem. */
export async function upsertSchedule(queue: Queue, spec: ScheduleSpec, retry: ResolvedRetry): Promise<void> {
  const problems = scheduleProblems(spec);
  if (problems.length > 0) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `schedule ${spec.id}: ${problems.join('; ')}` }, { details: { problems } });
  }
  const data: LaunchJobData = {
    scheduleId: spec.id,
    flow: { kind: spec.flow.kind, stages: [...spec.flow.stages], params: spec.flow.params },
    retry,
  };
  const repeat = spec.pattern !== undefined
    ? { pattern: spec.pattern, ...(spec.tz === undefined ? {} : { tz: spec.tz }) }
    : { every: spec.every as number };
  await queue.upsertJobScheduler(spec.id, repeat, {
    name: LAUNCH_JOB,
    data,
    opts: {
      attempts: retry.attempts,
      backoff: { type: 'exponential', delay: retry.backoffMs },
      // Launch jobs only point at flows, which keep their own records.
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 1000 },
    },
  });
}

/** The queue's flow schedules, by id. */
export async function readSchedules(queue: Queue): Promise<ScheduleInfo[]> {
  const schedulers = await queue.getJobSchedulers(0, -1, true);
  const schedules: ScheduleInfo[] = [];
  for (const scheduler of schedulers) {
    const data = scheduler.template?.data as LaunchJobData | undefined;
    if (scheduler.name !== LAUNCH_JOB || data === undefined) continue;
    schedules.push({
      id: scheduler.key,
      ...(scheduler.pattern ? { pattern: scheduler.pattern } : {}),
      ...(scheduler.every ? { every: Number(scheduler.every) } : {}),
      ...(scheduler.tz ? { tz: scheduler.tz } : {}),
      flow: data.flow,
      ...(scheduler.next === undefined ? {} : { next: Number(scheduler.next) }),
      ...(scheduler.iterationCount === undefined ? {} : { firings: Number(scheduler.iterationCount) }),
    });
  }
  return schedules.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Removes the scheduler and its pending firing; false when there was none. */
export async function deleteSchedule(queue: Queue, id: string): Promise<boolean> {
  return queue.removeJobScheduler(id);
}
