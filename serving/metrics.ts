/**
 * @module serving/metrics
 * The Prometheus series of `larder serve` (prom-client, in a registry of its own so that two
 * servers in one process never share counters) and the in-process `/v1/stats` summary. The
 * predictor reports through `observer` (`ServingObserver`); the transports report each request
 * through `httpRequest` and each failure through `error`. Latencies are histograms in seconds
 * with sub-millisecond buckets; cost is CPU seconds of model runs × a configured price per
 * CPU-second, as a dollar counter. Node's default process metrics (event-loop lag included) are
 * collected into the same registry.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FEATURE_STATUSES } from '../featurestore/online-read.ts';
import type { ServingObserver } from './types.ts';
import { createLogHistogram, type LogHistogram } from './stats.ts';

/** Request latency buckets, in seconds: 0.1 ms … 2.5 s. */
export const LATENCY_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];
/** Queue-delay and inference buckets, in seconds: 10 µs … 1 s. */
export const SHORT_BUCKETS_SECONDS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1];
/** Rows per merged model run. */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Dollars per CPU-second of model inference (default 0: cost counters stay at 0). */
  readonly pricePerCpuSecond?: number;
  /** Prefix of every series name, default `larder_`. */
  readonly prefix?: string;
  /** Collect Node's default process metrics (event-loop lag, heap, GC) too; default true. */
  readonly defaultMetrics?: boolean;
}

/** One request as a transport saw it. `status` is the HTTP status (gRPC passes its HTTP equivalent). */
export interface RequestObservation {
  readonly route: string;
  readonly method: string;
  readonly status: number;
  readonly model?: string;
  readonly version?: string;
  readonly seconds: number;
}

/** Per model version, for `GET /v1/stats`. Latencies in ms, measured by the predictor. */
export interface VersionStats {
  readonly requests: number;
  readonly rows: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  /** Degraded rows / rows. */
  readonly degradedRate: number;
  /** Dollars per predicted row (CPU seconds of inference × price). */
  readonly costPerPrediction: number;
}

/** `GET /v1/stats`: per model, per version. */
export interface ServingStats {
  readonly models: Record<string, Record<string, VersionStats>>;
}

/** Feature status counts of one model waiting for a scrape: per feature, one slot per status. */
interface StatusCounts {
  readonly byFeature: Map<string, Float64Array>;
  /** The slots of a version's feature list, looked up once per list instead of once per feature. */
  readonly byNames: WeakMap<readonly string[], readonly Float64Array[]>;
}

function slotsOf(counts: StatusCounts, names: readonly string[]): readonly Float64Array[] {
  let slots = counts.byNames.get(names);
  if (slots === undefined) {
    slots = names.map((feature) => {
      let into = counts.byFeature.get(feature);
      if (into === undefined) counts.byFeature.set(feature, (into = new Float64Array(FEATURE_STATUSES.length)));
      return into;
    });
    counts.byNames.set(names, slots);
  }
  return slots;
}

/** The metrics of one server: its registry, the predictor's observer and the transports' hooks. */
export interface ServingMetrics {
  readonly registry: Registry;
  readonly observer: ServingObserver;
  httpRequest(observation: RequestObservation): void;
  /** One failed request, by `LARDER_E_*` code (or `INTERNAL` for what is not a LarderError). */
  error(code: string): void;
  stats(): ServingStats;
}

interface VersionState {
  readonly latency: LogHistogram;
  requests: number;
  rows: number;
  degraded: number;
  cpuSeconds: number;
  batchRows: number;
  readonly predictionRows: Counter.Internal;
  readonly degradedRows: Counter.Internal;
  readonly predictLatency: Histogram.Internal<string>;
  readonly batchSize: Histogram.Internal<string>;
  readonly queueDelay: Histogram.Internal<string>;
  readonly inference: Histogram.Internal<string>;
  readonly cpu: Counter.Internal;
  readonly dollars: Counter.Internal;
}

/**
 * A fresh metrics set with its own registry.
 * @example
 * const metrics = createMetrics({ pricePerCpuSecond: 0.000011 });
 * const predictor = createPredictor(store, {}, metrics.observer);
 * app.get('/metrics', async () => metrics.registry.metrics());
 */
export function createMetrics(options: MetricsOptions = {}): ServingMetrics {
  const prefix = options.prefix ?? 'larder_';
  const price = options.pricePerCpuSecond ?? 0;
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix });

  const mv = ['model', 'version'] as const;
  const requestSeconds = new Histogram({ name: `${prefix}http_request_duration_seconds`, help: 'Request latency by route, method, status, model and version', labelNames: ['route', 'method', 'status', 'model', 'version'], buckets: LATENCY_BUCKETS_SECONDS, registers });
  const errors = new Counter({ name: `${prefix}errors_total`, help: 'Failed requests by Larder error code', labelNames: ['code'], registers });
  const predictions = new Counter({ name: `${prefix}predictions_total`, help: 'Predicted rows', labelNames: mv, registers });
  const degradedPredictions = new Counter({ name: `${prefix}degraded_predictions_total`, help: 'Predicted rows with a defaulted, missing or stale feature', labelNames: mv, registers });
  const predictSeconds = new Histogram({ name: `${prefix}predict_duration_seconds`, help: 'Predictor latency per request (features + inference)', labelNames: mv, buckets: LATENCY_BUCKETS_SECONDS, registers });
  const batchSize = new Histogram({ name: `${prefix}batch_size_rows`, help: 'Rows per merged model run', labelNames: mv, buckets: BATCH_SIZE_BUCKETS, registers });
  const queueDelay = new Histogram({ name: `${prefix}batch_queue_delay_seconds`, help: 'Time the oldest request of a batch waited before its model run', labelNames: mv, buckets: SHORT_BUCKETS_SECONDS, registers });
  const inference = new Histogram({ name: `${prefix}inference_duration_seconds`, help: 'Wall time of one model run', labelNames: mv, buckets: SHORT_BUCKETS_SECONDS, registers });
  const cpuSeconds = new Counter({ name: `${prefix}inference_cpu_seconds_total`, help: 'CPU seconds spent in model runs', labelNames: mv, registers });
  const dollars = new Counter({ name: `${prefix}inference_cost_dollars_total`, help: 'Inference cost: CPU seconds × price per CPU-second', labelNames: mv, registers });
  const onlineSeconds = new Histogram({ name: `${prefix}online_read_duration_seconds`, help: 'Online store read latency', buckets: SHORT_BUCKETS_SECONDS, registers });
  const onlineFailures = new Counter({ name: `${prefix}online_read_failures_total`, help: 'Online store reads that failed or timed out', registers });
  // prom-client hashes the labels on every inc (children too); 20 features × every request is
  // too many, so counts wait in per-feature arrays (one slot per status) until a scrape adds them.
  const pendingStatuses = new Map<string, StatusCounts>();
  new Counter({
    name: `${prefix}feature_status_total`, help: 'Served feature values by model, feature and status (PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE, DEFAULTED)',
    labelNames: ['model', 'feature', 'status'], registers,
    collect() {
      for (const [model, counts] of pendingStatuses) {
        for (const [feature, slots] of counts.byFeature) {
          slots.forEach((n, s) => {
            if (n > 0) { this.inc({ model, feature, status: FEATURE_STATUSES[s] as string }, n); slots[s] = 0; }
          });
        }
      }
    },
  });

  const versions = new Map<string, Map<string, VersionState>>();
  const stateOf = (model: string, version: string): VersionState => {
    let byVersion = versions.get(model);
    if (byVersion === undefined) versions.set(model, (byVersion = new Map()));
    let state = byVersion.get(version);
    if (state === undefined) {
      const labels = { model, version };
      state = {
        latency: createLogHistogram(), requests: 0, rows: 0, degraded: 0, cpuSeconds: 0, batchRows: 0,
        predictionRows: predictions.labels(labels), degradedRows: degradedPredictions.labels(labels),
        predictLatency: predictSeconds.labels(labels), batchSize: batchSize.labels(labels),
        queueDelay: queueDelay.labels(labels), inference: inference.labels(labels),
        cpu: cpuSeconds.labels(labels), dollars: dollars.labels(labels),
      };
      byVersion.set(version, state);
    }
    return state;
  };

  // CPU seconds per predicted row, computed at scrape time from the cumulative totals.
  new Gauge({
    name: `${prefix}inference_cpu_seconds_per_prediction`, help: 'CPU seconds of model runs per predicted row, since start', labelNames: mv, registers,
    collect() {
      for (const [model, byVersion] of versions) {
        for (const [version, s] of byVersion) if (s.batchRows > 0) this.set({ model, version }, s.cpuSeconds / s.batchRows);
      }
    },
  });

  const requestChildren = new Map<string, Histogram.Internal<string>>();
  const observer: ServingObserver = {
    batch(e) {
      const s = stateOf(e.model, e.version);
      s.batchSize.observe(e.rows);
      s.queueDelay.observe(e.queueDelayMs / 1000);
      s.inference.observe(e.inferenceMs / 1000);
      if (e.cpuSeconds > 0) {
        s.cpu.inc(e.cpuSeconds);
        if (price > 0) s.dollars.inc(e.cpuSeconds * price);
      }
      s.cpuSeconds += e.cpuSeconds;
      s.batchRows += e.rows;
    },
    prediction(e) {
      const s = stateOf(e.model, e.version);
      s.requests++;
      s.rows += e.rows;
      s.degraded += e.degraded;
      s.latency.record(e.latencyMs);
      s.predictLatency.observe(e.latencyMs / 1000);
      if (e.rows > 0) s.predictionRows.inc(e.rows);
      if (e.degraded > 0) s.degradedRows.inc(e.degraded);
    },
    onlineRead(e) {
      onlineSeconds.observe(e.ms / 1000);
      if (!e.ok) onlineFailures.inc();
    },
    featureStatuses(e) {
      // Called per request: added into the model's per-feature slots, to the counter at scrape time.
      let counts = pendingStatuses.get(e.model);
      if (counts === undefined) pendingStatuses.set(e.model, (counts = { byFeature: new Map(), byNames: new WeakMap() }));
      const slots = slotsOf(counts, e.features);
      const width = FEATURE_STATUSES.length;
      for (let f = 0; f < slots.length; f++) {
        const into = slots[f]!;
        for (let s = 0; s < width; s++) into[s]! += e.counts[f * width + s] ?? 0;
      }
    },
  };

  return {
    registry,
    observer,
    httpRequest(o) {
      const model = o.model ?? '';
      const version = o.version ?? '';
      const key = `${o.route}\u0000${o.method}\u0000${o.status}\u0000${model}\u0000${version}`;
      let child = requestChildren.get(key);
      if (child === undefined) {
        child = requestSeconds.labels({ route: o.route, method: o.method, status: String(o.status), model, version });
        requestChildren.set(key, child);
      }
      child.observe(o.seconds);
    },
    error(code) {
      errors.inc({ code });
    },
    stats() {
      const models: Record<string, Record<string, VersionStats>> = {};
      for (const [model, byVersion] of versions) {
        const out: Record<string, VersionStats> = {};
        for (const [version, s] of byVersion) {
          const q = (p: number): number | null => (s.latency.count === 0 ? null : round3(s.latency.quantile(p)));
          out[version] = {
            requests: s.requests, rows: s.rows, p50: q(0.5), p95: q(0.95), p99: q(0.99),
            degradedRate: s.rows === 0 ? 0 : s.degraded / s.rows,
            costPerPrediction: s.batchRows === 0 ? 0 : (s.cpuSeconds * price) / s.batchRows,
          };
        }
        models[model] = out;
      }
      return { models };
    },
  };
}

/** Milliseconds to the µs: the histogram is 1% precise, more digits would be noise. */
function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
