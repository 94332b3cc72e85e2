/**
 * @module serving/predictor/predictor
 * `createPredictor`: the `Predictor` behind `larder serve` (HTTP and gRPC). A predict request is
 * checked (rows, limits), its `model@version|alias` resolved to a version, every row's features
 * read in one online round trip (request fields and on-demand views included, declared defaults
 * applied; for a batched model, merged with the reads of concurrent requests), the rows run
 * through the version's dynamic batcher, and each prediction answered
 * with the values it was fed, their statuses and `degraded`, then offered to the prediction log.
 * When the online store is down the model is fed defaults and every row is `degraded` — or the
 * request is refused with 503 when the model requires fresh features; the store reconnects by
 * itself, so later requests recover without a restart.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { isLarderError, larderError, reasonOf } from '../../errors.ts';
import type { OnlineFeaturesRequest, OnlineFeaturesResponse } from '../../featurestore/online-read.ts';
import type { FeatureStore } from '../../featurestore/store.ts';
import type { ModelServingSpec } from '../../registry/models/serving-spec.ts';
import type { ModelVersionView } from '../../registry/models/types.ts';
import type { InferRequest, InferResponse, ModelMetadata, PredictRequest, PredictResponse, Predictor, ServingObserver } from '../types.ts';
import { defaultedFeatures } from './fallback.ts';
import { ServedModels, type SessionOpener } from './models.ts';
import { batchingFor, PREDICTOR_DEFAULTS, type PredictorOptions } from './options.ts';
import { InferencePool } from './pool.ts';
import { PredictionLog, type PredictionRecord } from './prediction-log.ts';
import { coalesceKey, ReadCoalescer, type ReadShape } from './read-coalescer.ts';
import { assemblePredictions, checkEntities, checkModelRef, featureColumns, invalid } from './requests.ts';
import { openRawSession } from './session.ts';
import { feedsFromV2, outputNames, v2Datatype, v2FromRaw, v2Shape } from './v2.ts';

/** A serving spec's feature names, in its order: one array per spec (the metrics key their counts by it). */
const featureNames = new WeakMap<ModelServingSpec, readonly string[]>();
function featureNamesOf(spec: ModelServingSpec): readonly string[] {
  let names = featureNames.get(spec);
  if (names === undefined) featureNames.set(spec, (names = spec.features.map((f) => f.name)));
  return names;
}

/** A Predictor with what it holds, for the transports and tests. */
export interface LarderPredictor extends Predictor {
  /** The prediction log, when on (its stats show what was written). */
  readonly log: PredictionLog | undefined;
}

/**
 * The predictor of a project: features + prediction, raw-tensor inference, metadata.
 * Close it to finish queued work, flush the prediction log and release sessions and workers;
 * the store stays open (the caller owns it).
 * @example
 * const predictor = createPredictor(store, { batching: { maxQueueDelayUs: 200 }, models: { churn: { requireFreshFeatures: true } } });
 * const { predictions } = await predictor.predict({ model: 'churn', entities: [{ customer_id: 'c1' }] });
 */
export function createPredictor(store: FeatureStore, options: PredictorOptions = {}, observer?: ServingObserver): LarderPredictor {
  const maxEntities = options.maxEntities ?? PREDICTOR_DEFAULTS.maxEntities;
  const registry = store.models();
  let pool: InferencePool | undefined;
  const threads = options.sessionThreads ?? PREDICTOR_DEFAULTS.sessionThreads;
  const inline: SessionOpener = (bytes, what) => openRawSession(bytes, what, { threads });
  const pooled: SessionOpener = (bytes, what) => {
    pool ??= new InferencePool({ size: options.poolSize ?? PREDICTOR_DEFAULTS.poolSize, threads });
    return pool.open(bytes, what);
  };
  const models = new ServedModels({
    registry,
    aliasRefreshMs: options.aliasRefreshMs ?? PREDICTOR_DEFAULTS.aliasRefreshMs,
    unloadAfterMs: options.unloadAfterMs ?? PREDICTOR_DEFAULTS.unloadAfterMs,
    openerFor: (model) => (options.models?.[model]?.inference === 'pool' ? pooled : inline),
    batchingFor: (model) => batchingFor(options, model),
    onBatch: (model, version, event) => observer?.batch({ model, version, ...event }),
    ...(options.onWarning === undefined ? {} : { onAliasError: options.onWarning }),
  });
  const warn = options.onWarning;
  const log = options.log === false ? undefined : new PredictionLog(store.config.dir, {
    ...(warn === undefined ? {} : { onError: (error: unknown) => warn(`prediction log write failed: ${reasonOf(error)}`, error) }),
    ...options.log,
  });
  let closed: Promise<void> | undefined;
  const inFlight = new Set<Promise<void>>();

  const readOnline = async (request: OnlineFeaturesRequest): Promise<OnlineFeaturesResponse> => {
    const started = performance.now();
    try {
      const response = await store.getOnlineFeatures({
        ...request,
        ...(options.onlineTimeoutMs === undefined || request.timeoutMs !== undefined ? {} : { timeoutMs: options.onlineTimeoutMs }),
        ...(options.now === undefined || request.now !== undefined ? {} : { now: options.now() }),
      });
      observer?.onlineRead({ ms: performance.now() - started, ok: true });
      return response;
    } catch (error) {
      // A read that failed; rows refused before any read (the caller's mistake) are not reads.
      if (isLarderError(error) && error.status >= 500) observer?.onlineRead({ ms: performance.now() - started, ok: false });
      throw error;
    }
  };

  // Concurrent online reads of the same features go out as one (read-coalescer): predictions of
  // batched models, and feature reads without their own signal, clock or bound.
  const coalescer = new ReadCoalescer((shape, entities) => readOnline({ ...shape, entities }), options.batching?.maxBatchSize ?? 256);
  const coalesces = new Map<string, boolean>();
  const coalescesFor = (model: string): boolean => {
    let on = coalesces.get(model);
    if (on === undefined) coalesces.set(model, (on = batchingFor(options, model).enabled !== false));
    return on;
  };

  const resolveVersion = (model: string, version: string | undefined): Promise<ModelVersionView> => models.resolve(model, version ?? 'champion');

  /** Runs `work` as in-flight work that `close()` waits for; refuses it once closing. */
  const tracked = <T>(work: () => Promise<T>): Promise<T> => {
    if (closed !== undefined) return Promise.reject(larderError('LARDER_E_UNAVAILABLE', { reason: 'the predictor is shutting down' }));
    const running = work();
    const settled = running.then(() => undefined, () => undefined);
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
    return running;
  };

  async function predict(request: PredictRequest): Promise<PredictResponse> {
    const started = performance.now();
    if (typeof request !== 'object' || request === null) invalid('the request must be an object');
    const ref = checkModelRef(request.model, request.version);
    const rows = checkEntities(request.entities, maxEntities);
    if (request.requestId !== undefined && (typeof request.requestId !== 'string' || request.requestId === '')) invalid('requestId must be a non-empty string');

    const view = await resolveVersion(ref.model, ref.version);
    const service = view.lineage.featureService;
    if (service === undefined || view.serving === undefined) {
      throw larderError('LARDER_E_MODEL_INVALID', {
        what: `${view.name}@${view.version}`,
        reason: 'it records no feature service or serving spec, so only raw-tensor inference (/v2/models/…/infer) can feed it',
      });
    }
    try {
      const served = await models.load(view);
      const { spec, batcher } = served.predictable!;
      // Announced while its features are read, so a batch does not wait for a request on its way.
      const ticket = batcher.expect();
      let online: OnlineFeaturesResponse;
      let storeDown = false;
      try {
        if (request.cancelled?.() === true) throw larderError('LARDER_E_ABORTED', { what: 'prediction' });
        try {
          online = request.signal === undefined && coalescesFor(view.name)
            ? await coalescer.read(coalesceKey({ service })!, { service }, rows)
            : await readOnline({ service, entities: rows, ...(request.signal === undefined ? {} : { signal: request.signal }) });
        } catch (error) {
          if (!isLarderError(error) || error.code !== 'LARDER_E_ONLINE_UNAVAILABLE') throw error;
          if (options.models?.[view.name]?.requireFreshFeatures === true) {
            throw larderError('LARDER_E_UNAVAILABLE', { reason: `model ${view.name} requires fresh features and ${error.message}` }, { cause: error, details: error.details });
          }
          online = await defaultedFeatures(store.config.project, store.project, service, rows, options.now?.());
          storeDown = true;
        }
      } catch (error) {
        ticket.cancel();
        throw error;
      }

      const names = featureNamesOf(spec);
      const outputs = await ticket.submit(featureColumns(online.rows, names), rows.length, { signal: request.signal, cancelled: request.cancelled });
      const { predictions, counts, degradedRows } = assemblePredictions(request.requestId ?? randomUUID(), online.rows, names, outputs, storeDown);
      const latencyMs = performance.now() - started;
      observer?.featureStatuses({ model: view.name, features: names, counts });
      observer?.prediction({ model: view.name, version: view.version, rows: rows.length, latencyMs, degraded: degradedRows });
      if (log !== undefined) {
        const time = new Date();
        log.append(predictions.map((p, i): PredictionRecord => ({
          id: p.id, time, model: view.name, version: view.version, entity: rows[i]!, features: p.features, statuses: p.statuses,
          output: p.output, latencyMs, degraded: p.degraded,
        })));
      }
      return { model: view.name, version: view.version, predictions };
    } catch (error) {
      // A failed request of a known version: its latency counts, no rows were predicted.
      // (Unknown model names are not reported: they would make unbounded metric labels.)
      observer?.prediction({ model: view.name, version: view.version, rows: 0, latencyMs: performance.now() - started, degraded: 0 });
      throw error;
    }
  }

  async function infer(request: InferRequest): Promise<InferResponse> {
    if (typeof request !== 'object' || request === null) invalid('the request must be an object');
    const ref = checkModelRef(request.model, request.version);
    const view = await resolveVersion(ref.model, ref.version);
    const feeds = feedsFromV2(request.inputs, view.signature.inputs);
    const wanted = outputNames(request.outputs, view.signature.outputs);
    const served = await models.load(view);
    if (request.signal?.aborted) throw larderError('LARDER_E_ABORTED', { what: 'inference' }, { cause: request.signal.reason });
    const result = await served.session.run(feeds, wanted);
    return {
      model_name: view.name, model_version: view.version,
      ...(request.id === undefined ? {} : { id: request.id }),
      outputs: wanted.map((name) => v2FromRaw(name, result.outputs[name]!)),
    };
  }

  async function metadata(model: string, version?: string): Promise<ModelMetadata> {
    const ref = checkModelRef(model, version);
    const versions = await registry.versions(ref.model);
    // Without a version: the champion, or the latest when no champion is deployed yet.
    const view = ref.version !== undefined ? await resolveVersion(ref.model, ref.version)
      : await resolveVersion(ref.model, 'champion').catch((error: unknown) => {
        if (isLarderError(error) && error.code === 'LARDER_E_MODEL_NOT_FOUND') return resolveVersion(ref.model, 'latest');
        throw error;
      });
    const tensor = (info: ModelVersionView['signature']['inputs'][number]) => ({ name: info.name, datatype: v2Datatype(info.type), shape: v2Shape(info.shape) });
    return {
      name: ref.model, versions: versions.map((v) => v.version), platform: 'onnxruntime_onnx',
      inputs: view.signature.inputs.map(tensor), outputs: view.signature.outputs.map(tensor),
    };
  }

  async function modelReady(model: string, version?: string): Promise<boolean> {
    if (closed !== undefined) return false;
    try {
      const ref = checkModelRef(model, version);
      await models.load(await resolveVersion(ref.model, ref.version));
      return true;
    } catch (error) {
      // Unknown, unloadable or corrupt: not ready. Anything else is our failure and is thrown.
      if (isLarderError(error)) return false;
      throw error;
    }
  }

  return {
    log,
    predict: (request) => tracked(() => predict(request)),
    infer: (request) => tracked(() => infer(request)),
    metadata, modelReady,
    features: (request) => tracked(async () => {
      if (typeof request !== 'object' || request === null) invalid('the request must be an object');
      // No rows is a valid (empty) read here; the rows themselves are checked by the read.
      if (!Array.isArray(request.entities) || request.entities.length === 0) return readOnline(request);
      const rows = checkEntities(request.entities, maxEntities);
      // Concurrent reads of the same features are merged, unless this one has its own signal, clock or bound.
      const shape: ReadShape = {
        ...(request.service === undefined ? {} : { service: request.service }),
        ...(request.features === undefined ? {} : { features: request.features }),
        ...(request.fullFeatureNames === undefined ? {} : { fullFeatureNames: request.fullFeatureNames }),
      };
      const key = request.signal === undefined && request.now === undefined && request.timeoutMs === undefined ? coalesceKey(shape) : undefined;
      return key === undefined ? readOnline(request) : coalescer.read(key, shape, rows);
    }),
    close() {
      // Requests already taken finish (and are logged); then sessions, the log and the pool close.
      closed ??= (async () => {
        await Promise.all(inFlight);
        await models.close();
        await Promise.all([log?.close(), pool?.close()]);
      })();
      return closed;
    },
  };
}
