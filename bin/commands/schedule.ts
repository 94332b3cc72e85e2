/**
 * @module commands/schedule
 * `larder schedule list|set|remove`: repeatable flows on the project's BullMQ queue (job
 * schedulers), fired by whichever `larder worker` is running: a weekly retrain, an hourly
 * incremental materialization.
 */
import { loadProject } from '../../featurestore/load.ts';
import { parseDuration } from '../../featurestore/define/duration.ts';
import { materializeFlow } from '../../pipelines/materialize-flow.ts';
import type { ScheduleSpec } from '../../pipelines/jobs/types.ts';
import { retrainFlow } from '../../pipelines/retrain/flow.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError } from '../output.ts';
import { requireQueueTarget } from './jobs-target.ts';
import { trainCommand, trainInput } from './train.ts';

const USAGE = `Usage: larder schedule list
       larder schedule set ID (--cron PATTERN [--tz ZONE] | --every DURATION) --materialize [--views A,B]
       larder schedule set ID (--cron PATTERN [--tz ZONE] | --every DURATION) --retrain <larder train options>
       larder schedule remove ID
  [--project DIR] [--json]

Repeatable flows on the project's queue (REDIS_URL); a running larder worker fires them. A cron
PATTERN has 5 fields (or 6 with seconds), e.g. '0 3 * * 1' (Mondays 03:00) or '5 * * * *'
(hourly at :05), in UTC unless --tz. Each firing is its own flow (id ID@<firing time>).
--materialize runs an incremental materialization up to the firing time; --retrain runs the
retraining flow with the same options as larder train (--service, --entities, --label, …).
set replaces a schedule of the same ID.`;

export const scheduleCommand: Command = {
  summary: 'repeatable flows: weekly retrain, hourly materialization (list, set, remove)',
  usage: USAGE,
  options: {
    cron: { type: 'string' }, every: { type: 'string' }, tz: { type: 'string' },
    materialize: { type: 'boolean' }, views: { type: 'string' }, retrain: { type: 'boolean' },
    ...trainCommand.options,
  },
  async run({ io, values, positionals, projectDir }: CommandContext): Promise<number> {
    const [sub, id] = positionals;
    const { config } = await loadProject(projectDir);
    const { createBullmqRunner } = await import('../../pipelines/jobs/bullmq.ts');
    const runner = createBullmqRunner(requireQueueTarget(config, 'larder schedule'));
    try {
      switch (sub) {
        case 'list': {
          const schedules = await runner.listSchedules();
          if (io.json) { io.out(JSON.stringify(schedules, null, 2)); return EXIT.ok; }
          if (schedules.length === 0) io.out('no schedules');
          for (const s of schedules) {
            const when = s.pattern !== undefined ? `cron '${s.pattern}'${s.tz ? ` ${s.tz}` : ''}` : `every ${s.every} ms`;
            io.out(`${s.id.padEnd(20)} ${when.padEnd(28)} ${s.flow.kind}${s.next ? `  next ${new Date(s.next).toISOString()}` : ''}`);
          }
          return EXIT.ok;
        }
        case 'set': {
          if (id === undefined) throw usageError(`give the schedule an ID\n${USAGE}`);
          const cron = typeof values.cron === 'string' ? values.cron : undefined;
          const every = typeof values.every === 'string' ? parseDuration(values.every) : undefined;
          if ((cron === undefined) === (every === undefined)) throw usageError(`give exactly one of --cron and --every\n${USAGE}`);
          if (values.materialize === values.retrain) throw usageError(`give exactly one of --materialize and --retrain\n${USAGE}`);
          const views = typeof values.views === 'string' ? values.views.split(',').filter((v) => v !== '') : undefined;
          const flow = values.materialize === true ? materializeFlow(config.dir, views) : retrainFlow(trainInput(values, config.dir));
          const spec: ScheduleSpec = {
            id, flow: { kind: flow.kind, stages: flow.stages, params: flow.params },
            ...(cron === undefined ? {} : { pattern: cron }), ...(every === undefined ? {} : { every }),
            ...(typeof values.tz === 'string' ? { tz: values.tz } : {}),
          };
          await runner.setSchedule(spec);
          io.out(io.json ? JSON.stringify(spec) : `schedule ${id}: ${flow.kind} ${cron === undefined ? `every ${values.every}` : `cron '${cron}'`}`);
          return EXIT.ok;
        }
        case 'remove': {
          if (id === undefined) throw usageError(`give the schedule's ID\n${USAGE}`);
          const removed = await runner.removeSchedule(id);
          io.out(io.json ? JSON.stringify({ id, removed }) : removed ? `removed schedule ${id}` : `no schedule ${id}`);
          return removed ? EXIT.ok : EXIT.failure;
        }
        default:
          throw usageError(`unknown schedule subcommand ${JSON.stringify(sub ?? '')}\n${USAGE}`);
      }
    } finally {
      await runner.close();
    }
  },
};
