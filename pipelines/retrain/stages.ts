/**
 * @module pipelines/retrain/stages
 * The five stages of a retraining flow as job-runner handlers. Each opens the project (workers
 * may run anywhere the project folder is shared), does one thing and returns plain JSON that the
 * next stages read; files go under `.larder/flows/<flowId>/`, so a retried stage overwrites its
 * own earlier attempt and two flows never collide.
 *
 * - `dataset`: builds the point-in-time dataset from entity rows, or takes recorded ones by id.
 * - `validate`: schema, declared expectations, nulls, encoding (and drift against a reference);
 *   an error stops the flow with the report (`LARDER_E_VALIDATION_FAILED`, never retried).
 * - `train`: fits the trainer on the rows before the holdout, early stopping on the latest slice.
 * - `evaluate`: scores the holdout with the exported ONNX graph in onnxruntime (the artifact that
 *   will serve, not the TypeScript model), and the current champion on the same rows; the gate.
 * - `register`: registers the artifact with its lineage; approves it when the gate passed and
 *   the model is not critical; points `champion` at it when asked to.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { isLarderError, larderError } from '../../errors.ts';
import { selectFeatures } from '../../featurestore/define/selection.ts';
import { DuckDBEngine } from '../../featurestore/offline/duckdb.ts';
import { fileRelation, formatOfPath } from '../../featurestore/offline/sources.ts';
import { quoteIdent } from '../../featurestore/offline/sql.ts';
import { openStore, type FeatureStore } from '../../featurestore/store.ts';
import { createSession, loadModel, runSession } from '../../registry/models/runtime.ts';
import type { ModelServingSpec } from '../../registry/models/serving-spec.ts';
import { expectationsOf, validateStage } from '../../validation/stage.ts';
import { InputResolver } from '../../validation/inputs.ts';
import type { StageContext, StageHandlers, StageInput } from '../jobs/types.ts';
import { columnsOf, frameFromArrow, takeRows, type TrainingFrame } from '../trainers/frame.ts';
import { evaluateBinary, evaluateRegression, gateCandidate, type GateResult } from '../trainers/evaluate.ts';
import { eventTimes, readTrainingTable, splitByTime } from './data.ts';
import { parseRetrainParams, type RetrainParams } from './params.ts';
import { trainInThread } from './train-thread.ts';

export interface DatasetResult {
  readonly train: { readonly id: string; readonly path: string; readonly rows: number };
  readonly holdout: { readonly id: string; readonly path: string; readonly rows: number } | null;
  readonly timestampColumn: string;
  readonly features: readonly { name: string; dtype: string }[];
  readonly serviceVersion: number | null;
}

export interface TrainResult {
  readonly artifact: string;
  readonly trainer: string;
  readonly params: Record<string, unknown>;
  readonly info: Record<string, unknown>;
  readonly rows: { readonly train: number; readonly valid: number; readonly holdout: number };
  readonly holdoutFrom: string | null;
}

export interface EvaluateResult {
  readonly metrics: Record<string, number>;
  readonly calibration?: unknown;
  readonly champion: { readonly version: string; readonly metrics: Record<string, number> } | { readonly version: string; readonly skipped: string } | null;
  readonly gate: GateResult;
}

export interface RegisterResult {
  readonly model: string;
  readonly version: string;
  readonly status: string;
  readonly created: boolean;
  readonly promoted: boolean;
}

const execFileP = promisify(execFile);

async function withStore<T>(params: RetrainParams, work: (store: FeatureStore) => Promise<T>): Promise<T> {
  const store = await openStore({ dir: params.project });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function flowDir(store: FeatureStore, ctx: StageContext): string {
  return join(store.config.dir, '.larder', 'flows', ctx.flowId);
}

function previous<T>(input: StageInput, stage: string): T {
  const value = input.results[stage];
  if (value === undefined || value === null) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `the ${stage} stage left no result` });
  return value as T;
}

async function gitCommit(dir: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileP('git', ['rev-parse', 'HEAD'], { cwd: dir, timeout: 5_000 });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function datasetStage(input: StageInput, ctx: StageContext): Promise<DatasetResult> {
  const params = parseRetrainParams(input.params);
  return withStore(params, async (store) => {
    const { features, version } = await store.serviceFeatures(params.service);
    const recorded = async (id: string) => {
      const m = await store.registry.getManifest(id);
      return { id: m.id, path: m.output.path, rows: m.rows };
    };
    let train: DatasetResult['train'];
    if (params.dataset !== undefined) {
      train = await recorded(params.dataset);
    } else {
      await ctx.progress({ step: 'building the dataset' });
      const out = join(flowDir(store, ctx), 'dataset.parquet');
      await mkdir(flowDir(store, ctx), { recursive: true });
      const manifest = await store.writeDataset({ entities: resolve(store.config.dir, params.entities!), service: params.service, signal: ctx.signal }, out);
      train = { id: manifest.id, path: out, rows: manifest.rows };
    }
    const holdout = params.holdoutDataset === undefined ? null : await recorded(params.holdoutDataset);
    await ctx.progress(100);
    return { train, holdout, timestampColumn: store.config.entityTimestampColumn, features, serviceVersion: version };
  });
}

async function validateDatasetStage(input: StageInput, ctx: StageContext): Promise<unknown> {
  const params = parseRetrainParams(input.params);
  const data = previous<DatasetResult>(input, 'dataset');
  return withStore(params, async (store) => {
    // Every check the service's feature definitions declare (`.expect(...)`), by output column.
    const selection = selectFeatures(store.project, { service: params.service });
    const expectations = expectationsOf(Object.fromEntries(selection.columns.map((c) => [c.column, c.dtype])));
    const reference = params.reference === undefined ? undefined : (await new InputResolver(store.config.dir).resolve(params.reference, 'reference')).input;
    const checks = async (path: string, what: string) => {
      await ctx.progress({ step: `validating ${what}` });
      const report = await validateStage({
        current: { path }, expectations, projectDir: store.config.dir, signal: ctx.signal,
        dataset: { rowCount: { min: 1 }, eventTimestamp: data.timestampColumn },
        ...(reference === undefined ? { drift: false as const } : { reference }),
      });
      const labelMissing = await labelNulls(store, path, params.label);
      if (labelMissing > 0) {
        throw larderError('LARDER_E_VALIDATION_FAILED', { count: 1, summary: `${what}: ${labelMissing} rows have no label '${params.label}'` }, { details: { ...report, ok: false } });
      }
      return { ok: report.ok, rows: report.rows, issues: report.issues.length, warnings: report.issues.filter((i) => i.severity === 'warn').map((i) => i.message) };
    };
    const train = await checks(data.train.path, 'the training dataset');
    const holdout = data.holdout === null ? null : await checks(data.holdout.path, 'the holdout dataset');
    return { train, holdout };
  });
}

async function labelNulls(store: FeatureStore, path: string, label: string): Promise<number> {
  const engine = await DuckDBEngine.open({ path: ':memory:', projectDir: store.config.dir });
  try {
    const rows = await engine.withSession((s) => s.rows(`SELECT count(*) FILTER (WHERE ${quoteIdent(label)} IS NULL) AS n FROM ${fileRelation(path, formatOfPath(path))}`));
    return Number(rows[0]?.['n'] ?? 0);
  } catch (error) {
    if (isLarderError(error)) throw larderError('LARDER_E_VALIDATION_FAILED', { count: 1, summary: `${path} has no label column '${label}'` }, { cause: error });
    throw error;
  } finally {
    engine.close();
  }
}

interface Frames {
  readonly train: TrainingFrame;
  /** Event times of the training rows, ascending. */
  readonly trainTimes: Float64Array;
  readonly holdout: TrainingFrame;
  readonly holdoutFrom: number | null;
}

/** The training rows and the holdout rows as frames, split as the params say. */
async function frames(params: RetrainParams, data: DatasetResult, signal: AbortSignal): Promise<Frames> {
  const table = await readTrainingTable(data.train.path, data.features, [params.label], data.timestampColumn, params.project, signal);
  const all = frameFromArrow(table, data.features, params.label);
  const times = eventTimes(table, data.timestampColumn);
  if (data.holdout !== null) {
    const holdout = await holdoutFrame(params, data, signal);
    return { train: all, trainTimes: times, ...holdout };
  }
  const split = splitOf(params, times);
  return { train: takeRows(all, split.before), trainTimes: times.subarray(0, split.before.length), holdout: takeRows(all, split.after), holdoutFrom: split.from };
}

function splitOf(params: RetrainParams, times: Float64Array): ReturnType<typeof splitByTime> {
  const split = splitByTime(times, params.holdoutFrom === undefined ? { fraction: 0.2 } : { from: Date.parse(params.holdoutFrom) });
  if (split.before.length === 0 || split.after.length === 0) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `the split leaves ${split.before.length} training and ${split.after.length} holdout rows; move holdoutFrom` });
  }
  return split;
}

/** Only the holdout rows (evaluation): reads the training dataset only when the holdout is cut from it. */
async function holdoutFrame(params: RetrainParams, data: DatasetResult, signal: AbortSignal): Promise<{ holdout: TrainingFrame; holdoutFrom: number | null }> {
  if (data.holdout === null) {
    const table = await readTrainingTable(data.train.path, data.features, [params.label], data.timestampColumn, params.project, signal);
    const split = splitOf(params, eventTimes(table, data.timestampColumn));
    return { holdout: frameFromArrow(table.slice(split.before.length), data.features, params.label), holdoutFrom: split.from };
  }
  const table = await readTrainingTable(data.holdout.path, data.features, [params.label], data.timestampColumn, params.project, signal);
  const times = eventTimes(table, data.timestampColumn);
  return { holdout: frameFromArrow(table, data.features, params.label), holdoutFrom: times.length > 0 ? times[0]! : null };
}

async function trainStage(input: StageInput, ctx: StageContext): Promise<TrainResult> {
  const params = parseRetrainParams(input.params);
  const data = previous<DatasetResult>(input, 'dataset');
  const { train, trainTimes, holdout, holdoutFrom } = await frames(params, data, ctx.signal);
  const early = splitByTime(trainTimes, { fraction: params.validFraction });
  const fit = params.trainer === 'gbdt' && early.after.length > 0 ? takeRows(train, early.before) : train;
  const valid = params.trainer === 'gbdt' && early.after.length > 0 ? takeRows(train, early.after) : undefined;
  let lastReport = 0;
  const model = await trainInThread({
    fit, ...(valid === undefined ? {} : { valid }),
    options: { trainer: params.trainer, task: params.task, seed: params.seed, params: params.trainerParams },
  }, {
    signal: ctx.signal,
    onProgress: (round) => {
      const now = Date.now();
      if (now - lastReport > 500) { lastReport = now; void ctx.progress({ step: 'training', round }); }
    },
  });
  const { bytes, serving } = model;
  return withStore(params, async (store) => {
    const dir = flowDir(store, ctx);
    await mkdir(dir, { recursive: true });
    const artifact = join(dir, `${params.trainer}.onnx`);
    await writeFile(artifact, bytes);
    await writeFile(`${artifact}.serving.json`, `${JSON.stringify(serving, null, 2)}\n`);
    return {
      artifact, trainer: params.trainer, params: { trainer: params.trainer, seed: params.seed, ...model.params },
      info: { ...model.info }, rows: { train: fit.n, valid: valid?.n ?? 0, holdout: holdout.n },
      holdoutFrom: holdoutFrom === null ? null : new Date(holdoutFrom).toISOString(),
    };
  });
}

function metricsOf(task: RetrainParams['task'], labels: Float64Array, predictions: Float64Array): { metrics: Record<string, number>; calibration?: unknown } {
  if (task === 'regression') return { metrics: { ...evaluateRegression(labels, predictions) } };
  const { calibration, ...metrics } = evaluateBinary(labels, predictions);
  return { metrics, calibration };
}

async function evaluateStage(input: StageInput, ctx: StageContext): Promise<EvaluateResult> {
  const params = parseRetrainParams(input.params);
  const data = previous<DatasetResult>(input, 'dataset');
  const trained = previous<TrainResult>(input, 'train');
  const { holdout } = await holdoutFrame(params, data, ctx.signal);
  const serving = JSON.parse(await readFile(`${trained.artifact}.serving.json`, 'utf8')) as ModelServingSpec;
  const session = await createSession(await readFile(trained.artifact), trained.artifact);
  const columns = columnsOf(holdout);
  let candidate: ReturnType<typeof metricsOf>;
  try {
    candidate = metricsOf(params.task, holdout.label, await runSession(session, serving, columns, holdout.n));
  } finally {
    await session.release();
  }
  const champion = await withStore(params, async (store): Promise<EvaluateResult['champion']> => {
    const models = store.models();
    let loaded;
    try {
      loaded = await loadModel(models, params.model, 'champion');
    } catch (error) {
      if (isLarderError(error) && error.code === 'LARDER_E_MODEL_NOT_FOUND') return null;
      throw error;
    }
    try {
      const missing = loaded.spec.features.filter((f) => !(f.name in columns)).map((f) => f.name);
      if (missing.length > 0) return { version: loaded.version.version, skipped: `its features ${missing.join(', ')} are not in the holdout` };
      return { version: loaded.version.version, metrics: metricsOf(params.task, holdout.label, await loaded.predict(columns, holdout.n)).metrics };
    } finally {
      await loaded.close();
    }
  });
  const gate = gateCandidate(candidate.metrics, champion !== null && 'metrics' in champion ? champion.metrics : undefined, params.gate);
  return { metrics: candidate.metrics, ...(candidate.calibration === undefined ? {} : { calibration: candidate.calibration }), champion, gate };
}

async function registerStage(input: StageInput, ctx: StageContext): Promise<RegisterResult> {
  const params = parseRetrainParams(input.params);
  const data = previous<DatasetResult>(input, 'dataset');
  const trained = previous<TrainResult>(input, 'train');
  const evaluation = previous<EvaluateResult>(input, 'evaluate');
  return withStore(params, async (store) => {
    const models = store.models();
    const serving = JSON.parse(await readFile(`${trained.artifact}.serving.json`, 'utf8')) as ModelServingSpec;
    const commit = await gitCommit(store.config.dir);
    const who = params.who ?? `pipeline:${ctx.flowId}`;
    const { model, created } = await models.register({
      name: params.model, artifact: trained.artifact, featureService: params.service, serviceFeatures: data.features, serving,
      ...(data.serviceVersion === null ? {} : { featureServiceVersion: data.serviceVersion }),
      label: params.label, dataset: data.train.id, metrics: evaluation.metrics,
      params: { ...trained.params, holdoutFrom: trained.holdoutFrom, holdoutDataset: data.holdout?.id ?? null, rows: trained.rows, info: trained.info },
      ...(commit === undefined ? {} : { gitCommit: commit }), who, why: `retraining flow ${ctx.flowId}`,
    });
    let status = model.status;
    const approve = evaluation.gate.pass && !params.critical;
    if (approve && status === 'registered') {
      status = (await models.approve(params.model, model.version, { who, why: `gate passed: ${evaluation.gate.reason}` })).status;
    }
    let promoted = model.aliases.includes('champion');
    if (params.promote && (status === 'approved' || status === 'deployed') && !promoted) {
      status = (await models.deploy(params.model, model.version, { who, why: `promoted by retraining flow ${ctx.flowId}` })).status;
      promoted = true;
    }
    return { model: params.model, version: model.version, status, created, promoted };
  });
}

/** The retraining flow's stage handlers, for `createInlineRunner` or a BullMQ worker. */
export function retrainStages(): StageHandlers {
  return { dataset: datasetStage, validate: validateDatasetStage, train: trainStage, evaluate: evaluateStage, register: registerStage };
}
