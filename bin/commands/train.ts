/**
 * @module commands/train
 * `larder train`: the retraining flow (dataset → validate → train → evaluate → register), run in
 * this process by the inline runner, or with `--queue` submitted to BullMQ for `larder worker`s.
 */
import { larderError, LarderError } from '../../errors.ts';
import { openStore } from '../../featurestore/store.ts';
import type { FlowResult, JobRunner } from '../../pipelines/jobs/types.ts';
import { retrainFlow } from '../../pipelines/retrain/flow.ts';
import type { RetrainInput } from '../../pipelines/retrain/params.ts';
import type { EvaluateResult, RegisterResult, TrainResult } from '../../pipelines/retrain/stages.ts';
import { resolveLineage } from '../../registry/models/lineage.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError, type Io } from '../output.ts';
import { requireQueueTarget } from './jobs-target.ts';
import { formatModel, modelJson } from './model-output.ts';

const USAGE = `Usage: larder train --service NAME (--entities FILE | --dataset ID) --label COL
                    [--model NAME] [--trainer gbdt|logreg] [--task classification|regression]
                    [--holdout-from TIME | --holdout-dataset ID] [--param k=v …] [--seed N]
                    [--gate METRIC:MAXDROP] [--critical] [--promote] [--reference X]
                    [--queue] [--flow-id ID] [--project DIR] [--json]

Runs the retraining flow: builds the point-in-time dataset for the entity rows (or takes a
recorded one), validates it (an error stops here, exit 3), trains on the rows before the holdout
(default: the latest 20% by event time) with early stopping on the latest training slice,
evaluates the exported ONNX model in onnxruntime on the holdout and compares it with the current
champion, registers it with its lineage, and approves it when it passes the gate (default
auc:0.005, i.e. AUC not worse than the champion's − 0.005) unless --critical. --promote also
points champion at it. --queue submits the flow to the project's BullMQ queue (REDIS_URL) and
waits for a larder worker to run it; the same parameters give the same flow id, so a repeated
submission runs once (--flow-id to name a new run).`;

function str(values: CommandContext['values'], key: string): string | undefined {
  const v = values[key];
  return typeof v === 'string' ? v : undefined;
}

function paramValue(text: string): number | string | boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

/** The flow's parameters from the command line. */
export function trainInput(values: CommandContext['values'], projectDir: string): RetrainInput {
  const service = str(values, 'service');
  const label = str(values, 'label');
  if (service === undefined || label === undefined) throw usageError(`give --service and --label\n${USAGE}`);
  const trainerParams: Record<string, number | string | boolean> = {};
  for (const item of (values.param as string[] | undefined) ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw usageError(`--param ${item}: write key=value`);
    trainerParams[item.slice(0, eq)] = paramValue(item.slice(eq + 1));
  }
  const gateText = str(values, 'gate');
  let gate: RetrainInput['gate'];
  if (gateText !== undefined) {
    const [metric, drop] = gateText.split(':');
    gate = { metric: metric as NonNullable<RetrainInput['gate']>['metric'], maxDrop: drop === undefined ? 0.005 : Number(drop) };
  }
  const seed = str(values, 'seed');
  const holdoutFrom = str(values, 'holdout-from');
  if (holdoutFrom !== undefined && Number.isNaN(Date.parse(holdoutFrom))) throw usageError(`--holdout-from ${holdoutFrom}: not a time`);
  const optional: Record<string, unknown> = {
    entities: str(values, 'entities'), dataset: str(values, 'dataset'), holdoutDataset: str(values, 'holdout-dataset'),
    holdoutFrom: holdoutFrom === undefined ? undefined : new Date(holdoutFrom).toISOString(),
    trainer: str(values, 'trainer'), task: str(values, 'task'), reference: str(values, 'reference'),
    seed: seed === undefined ? undefined : Number(seed), gate,
  };
  return {
    project: projectDir, service, label, model: str(values, 'model') ?? service,
    ...(Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) as Partial<RetrainInput>),
    trainerParams, critical: values.critical === true, promote: values.promote === true,
  };
}

/** A failed flow as the error it failed with (its code, so validation exits 3), naming the stage. */
function failure(result: FlowResult): LarderError {
  const error = result.error;
  const stage = result.failedStage ?? '?';
  const details = error?.details === undefined ? {} : { details: error.details };
  if (error?.code == null) return larderError('LARDER_E_JOB_FAILED', { flow: result.flowId, stage, reason: error?.message ?? 'unknown error' }, details);
  return new LarderError(error.code, `the ${stage} stage failed: ${error.message}`, details);
}

function fmt(value: number | undefined): string {
  return value === undefined ? '—' : value.toFixed(4);
}

async function runnerFor(ctx: CommandContext, queue: boolean, store: Awaited<ReturnType<typeof openStore>>): Promise<JobRunner> {
  if (!queue) {
    const { createInlineRunner } = await import('../../pipelines/jobs/inline.ts');
    const { retrainStages } = await import('../../pipelines/retrain/stages.ts');
    return createInlineRunner(retrainStages());
  }
  const { createBullmqRunner } = await import('../../pipelines/jobs/bullmq.ts');
  return createBullmqRunner(requireQueueTarget(store.config, 'train --queue'));
}

function report(io: Io, result: FlowResult): void {
  const trained = result.results['train'] as TrainResult;
  const evaluation = result.results['evaluate'] as EvaluateResult;
  const registered = result.results['register'] as RegisterResult;
  const m = evaluation.metrics;
  io.out(`trained ${trained.trainer} on ${trained.rows.train} rows (${trained.rows.valid} for early stopping), evaluated on ${trained.rows.holdout} holdout rows from ${trained.holdoutFrom ?? '?'}`);
  io.out(m['auc'] !== undefined
    ? `  holdout: AUC ${fmt(m['auc'])}, log loss ${fmt(m['logloss'])}, accuracy ${fmt(m['accuracy'])}, base rate ${fmt(m['baseRate'])}`
    : `  holdout: RMSE ${fmt(m['rmse'])}, MAE ${fmt(m['mae'])}, R² ${fmt(m['r2'])}`);
  const champion = evaluation.champion;
  io.out(champion === null ? '  no champion to compare with' : 'skipped' in champion ? `  champion ${champion.version} not compared: ${champion.skipped}` : `  champion ${champion.version} on the same rows: ${Object.entries(champion.metrics).filter(([k]) => ['auc', 'logloss', 'rmse'].includes(k)).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  io.out(`  gate: ${evaluation.gate.pass ? 'passed' : 'not passed'} (${evaluation.gate.reason})`);
  io.out(`  registered ${registered.model}@${registered.version}${registered.created ? '' : ' (same artifact as before)'}: ${registered.status}${registered.promoted ? ', champion' : ''}`);
}

export const trainCommand: Command = {
  summary: 'train, evaluate and register a model (the retraining flow), inline or on the queue',
  usage: USAGE,
  options: {
    service: { type: 'string' }, entities: { type: 'string' }, dataset: { type: 'string' }, label: { type: 'string' },
    model: { type: 'string' }, trainer: { type: 'string' }, task: { type: 'string' },
    'holdout-from': { type: 'string' }, 'holdout-dataset': { type: 'string' }, param: { type: 'string', multiple: true },
    seed: { type: 'string' }, gate: { type: 'string' }, critical: { type: 'boolean' }, promote: { type: 'boolean' },
    reference: { type: 'string' }, queue: { type: 'boolean' }, 'flow-id': { type: 'string' },
  },
  async run(ctx: CommandContext): Promise<number> {
    const { io, values, projectDir } = ctx;
    const store = await openStore({ dir: projectDir });
    try {
      const flowId = str(values, 'flow-id');
      const flow = retrainFlow(trainInput(values, store.config.dir), flowId === undefined ? {} : { flowId });
      const runner = await runnerFor(ctx, values.queue === true, store);
      let result: FlowResult;
      try {
        if (values.queue === true && !io.json) io.err('submitted to the queue; waiting for a larder worker to run it');
        result = await runner.runFlow(flow, {
          onProgress: (event) => { if (io.tty) io.err(`  ${event.stage}: ${typeof event.progress === 'number' ? `${event.progress}%` : JSON.stringify(event.progress)}`); },
        });
      } finally {
        await runner.close();
      }
      if (result.state === 'failed') throw failure(result);
      const registered = result.results['register'] as RegisterResult;
      const models = store.models();
      const v = await models.show(registered.model, registered.version);
      const shape = modelJson(v, await resolveLineage(v, store.registry), models.artifactPath(v.sha256));
      if (io.json) {
        io.out(JSON.stringify({ ...shape, flow: { id: result.flowId, evaluate: result.results['evaluate'], train: result.results['train'] } }, null, 2));
      } else {
        io.out(`flow ${result.flowId}`);
        report(io, result);
        io.out(formatModel(shape));
      }
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
