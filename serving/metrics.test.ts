import { describe, expect, it } from 'vitest';
import { FEATURE_STATUSES, type FeatureStatus } from '../featurestore/online-read.ts';
import { createMetrics } from './metrics.ts';
import { createLogHistogram } from './stats.ts';
import { mulberry32 } from '../random.ts';

/** Nearest-rank quantile of a sorted array: the oracle. */
function oracle(sorted: readonly number[], q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

/** A featureStatuses event from readable counts: the flat `counts[f * 5 + s]` layout. */
function statusEvent(model: string, byFeature: Record<string, Partial<Record<FeatureStatus, number>>>): { model: string; features: string[]; counts: Uint32Array } {
  const features = Object.keys(byFeature);
  const counts = new Uint32Array(features.length * FEATURE_STATUSES.length);
  features.forEach((f, i) => FEATURE_STATUSES.forEach((status, s) => { counts[i * FEATURE_STATUSES.length + s] = byFeature[f]?.[status] ?? 0; }));
  return { model, features, counts };
}

describe('createLogHistogram', () => {
  const qs = [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1];

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('matches a sorted array within one bucket (seed %i: ties, outliers, zeros)', (seed) => {
    const random = mulberry32(seed);
    const n = 1 + Math.floor(random() * 5000);
    const values: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = random();
      // Log-normal-ish latencies around 1 ms, many exact ties, a few huge outliers and zeros.
      if (r < 0.2) values.push([0.25, 1, 1.5][i % 3] as number);
      else if (r < 0.22) values.push(200 + random() * 5000);
      else if (r < 0.23) values.push(0);
      else if (r < 0.24) values.push(random() * 0.002);
      else values.push(Math.exp((random() - 0.5) * 4));
    }
    const h = createLogHistogram(0.01);
    for (const v of values) h.record(v);
    const sorted = [...values].sort((a, b) => a - b);
    expect(h.count).toBe(n);
    expect(h.min).toBe(sorted[0]);
    expect(h.max).toBe(sorted[n - 1]);
    for (const q of qs) {
      const truth = oracle(sorted, q);
      const estimate = h.quantile(q);
      const [lower, upper] = h.bucketOf(truth);
      // The estimate lies in the true value's bucket: off by at most the bucket's width.
      expect(estimate, `q=${q} truth=${truth}`).toBeGreaterThanOrEqual(lower);
      expect(estimate, `q=${q} truth=${truth}`).toBeLessThanOrEqual(upper);
      expect(Math.abs(estimate - truth)).toBeLessThanOrEqual(Math.max(truth * 0.01, 0.001));
    }
    expect(h.quantile(0)).toBe(sorted[0]);
    expect(h.quantile(1)).toBe(sorted[n - 1]);
  });

  it('is exact when every value is the same, and NaN when empty', () => {
    const h = createLogHistogram();
    expect(h.quantile(0.5)).toBeNaN();
    for (let i = 0; i < 100; i++) h.record(3.7);
    expect(h.quantile(0.5)).toBe(3.7);
    expect(h.quantile(0.99)).toBe(3.7);
  });

  it('puts values on bucket edges in the bucket that starts there', () => {
    const h = createLogHistogram(0.5);
    const [, upper] = h.bucketOf(1);
    expect(h.bucketOf(upper)[0]).toBeCloseTo(upper, 12);
    expect(h.bucketOf(upper)[0]).toBeLessThanOrEqual(upper);
  });

  it('ignores NaN and Infinity and treats negatives as 0', () => {
    const h = createLogHistogram();
    h.record(Number.NaN);
    h.record(Infinity);
    h.record(-1);
    expect(h.count).toBe(1);
    expect(h.quantile(0.5)).toBe(0);
  });
});

describe('createMetrics', () => {
  it('exposes every series in its own registry, with sub-millisecond buckets', async () => {
    const a = createMetrics({ pricePerCpuSecond: 0.5 });
    const b = createMetrics();
    a.httpRequest({ route: '/v1/predict/:model', method: 'POST', status: 200, model: 'churn', version: '1.0.0', seconds: 0.0003 });
    a.error('LARDER_E_MODEL_NOT_FOUND');
    a.observer.batch({ model: 'churn', version: '1.0.0', rows: 8, requests: 3, queueDelayMs: 0.2, inferenceMs: 0.05, cpuSeconds: 0.004 });
    a.observer.prediction({ model: 'churn', version: '1.0.0', rows: 8, latencyMs: 0.9, degraded: 2 });
    a.observer.onlineRead({ ms: 0.08, ok: true });
    a.observer.onlineRead({ ms: 50, ok: false });
    a.observer.featureStatuses(statusEvent('churn', { spend: { PRESENT: 6, DEFAULTED: 2 }, plan: { OUTSIDE_MAX_AGE: 1 } }));
    const text = await a.registry.metrics();

    expect(text).toContain('larder_http_request_duration_seconds_bucket{le="0.0001",route="/v1/predict/:model",method="POST",status="200",model="churn",version="1.0.0"} 0');
    expect(text).toContain('larder_http_request_duration_seconds_bucket{le="0.00025",route="/v1/predict/:model",method="POST",status="200",model="churn",version="1.0.0"} 0');
    expect(text).toContain('larder_http_request_duration_seconds_bucket{le="0.0005",route="/v1/predict/:model",method="POST",status="200",model="churn",version="1.0.0"} 1');
    expect(text).toContain('larder_errors_total{code="LARDER_E_MODEL_NOT_FOUND"} 1');
    expect(text).toContain('larder_predictions_total{model="churn",version="1.0.0"} 8');
    expect(text).toContain('larder_degraded_predictions_total{model="churn",version="1.0.0"} 2');
    expect(text).toContain('larder_batch_size_rows_bucket{le="8",model="churn",version="1.0.0"} 1');
    expect(text).toContain('larder_batch_size_rows_bucket{le="4",model="churn",version="1.0.0"} 0');
    expect(text).toContain('larder_batch_queue_delay_seconds_bucket{le="0.00025",model="churn",version="1.0.0"} 1');
    expect(text).toContain('larder_inference_duration_seconds_bucket{le="0.00005",model="churn",version="1.0.0"} 1');
    expect(text).toContain('larder_inference_cpu_seconds_total{model="churn",version="1.0.0"} 0.004');
    expect(text).toContain('larder_inference_cost_dollars_total{model="churn",version="1.0.0"} 0.002');
    expect(text).toContain('larder_inference_cpu_seconds_per_prediction{model="churn",version="1.0.0"} 0.0005');
    expect(text).toContain('larder_online_read_duration_seconds_bucket{le="0.0001"} 1');
    expect(text).toContain('larder_online_read_failures_total 1');
    expect(text).toContain('larder_feature_status_total{model="churn",feature="spend",status="DEFAULTED"} 2');
    expect(text).toContain('larder_feature_status_total{model="churn",feature="plan",status="OUTSIDE_MAX_AGE"} 1');
    expect(text).toMatch(/larder_nodejs_eventloop_lag_seconds \d/);
    expect(text).toMatch(/larder_nodejs_eventloop_lag_p99_seconds \d/);
    expect(text).toMatch(/larder_process_cpu_seconds_total \d/);

    const other = await b.registry.metrics();
    expect(other).not.toContain('LARDER_E_MODEL_NOT_FOUND');
    expect(other).toContain('larder_errors_total');
  });

  it('keeps feature status counts across scrapes (they are added to the counter at scrape time)', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const line = (text: string): string | undefined => text.split('\n').find((l) => l.startsWith('larder_feature_status_total{model="m",feature="x",status="NULL_VALUE"}'));
    m.observer.featureStatuses(statusEvent('m', { x: { NULL_VALUE: 2, PRESENT: 0 } }));
    // Another version's feature list (another array) adds into the same feature's counts.
    m.observer.featureStatuses(statusEvent('m', { y: {}, x: { NULL_VALUE: 1 } }));
    expect(line(await m.registry.metrics())).toBe('larder_feature_status_total{model="m",feature="x",status="NULL_VALUE"} 3');
    expect(line(await m.registry.metrics())).toBe('larder_feature_status_total{model="m",feature="x",status="NULL_VALUE"} 3');
    m.observer.featureStatuses(statusEvent('m', { x: { NULL_VALUE: 4 } }));
    expect(line(await m.registry.metrics())).toBe('larder_feature_status_total{model="m",feature="x",status="NULL_VALUE"} 7');
    expect(await m.registry.metrics()).not.toContain('status="PRESENT"');
  });

  it('honours the prefix and can leave default metrics out', async () => {
    const m = createMetrics({ prefix: 'x_', defaultMetrics: false });
    m.error('LARDER_E_INVALID_REQUEST');
    const text = await m.registry.metrics();
    expect(text).toContain('x_errors_total{code="LARDER_E_INVALID_REQUEST"} 1');
    expect(text).not.toContain('larder_');
    expect(text).not.toContain('eventloop');
  });

  it('computes /v1/stats per model and version against an oracle', () => {
    const m = createMetrics({ pricePerCpuSecond: 2, defaultMetrics: false });
    const random = mulberry32(42);
    const latencies = new Map<string, number[]>([['1.0.0', []], ['2.0.0', []]]);
    let rows1 = 0;
    let degraded1 = 0;
    for (let i = 0; i < 3000; i++) {
      const version = i % 3 === 0 ? '2.0.0' : '1.0.0';
      const latencyMs = random() < 0.01 ? 100 + random() * 900 : 0.2 + random() * 2;
      const rows = 1 + (i % 4);
      const degraded = i % 10 === 0 ? rows : 0;
      latencies.get(version)?.push(latencyMs);
      if (version === '1.0.0') { rows1 += rows; degraded1 += degraded; }
      m.observer.prediction({ model: 'churn', version, rows, latencyMs, degraded });
    }
    m.observer.batch({ model: 'churn', version: '1.0.0', rows: 100, requests: 10, queueDelayMs: 0.1, inferenceMs: 1, cpuSeconds: 0.01 });
    m.observer.batch({ model: 'churn', version: '1.0.0', rows: 100, requests: 10, queueDelayMs: 0.1, inferenceMs: 1, cpuSeconds: 0.03 });

    const stats = m.stats();
    expect(Object.keys(stats.models['churn'] ?? {}).sort()).toEqual(['1.0.0', '2.0.0']);
    const v1 = stats.models['churn']?.['1.0.0'];
    expect(v1?.requests).toBe(2000);
    expect(v1?.rows).toBe(rows1);
    expect(v1?.degradedRate).toBeCloseTo(degraded1 / rows1, 12);
    expect(v1?.costPerPrediction).toBeCloseTo((0.04 * 2) / 200, 12);
    expect(stats.models['churn']?.['2.0.0']?.costPerPrediction).toBe(0);
    for (const [version, values] of latencies) {
      const sorted = [...values].sort((a, b) => a - b);
      const s = stats.models['churn']?.[version];
      for (const [q, got] of [[0.5, s?.p50], [0.95, s?.p95], [0.99, s?.p99]] as const) {
        const truth = oracle(sorted, q);
        expect(Math.abs((got ?? NaN) - truth), `${version} p${q * 100}`).toBeLessThanOrEqual(truth * 0.01 + 0.001);
      }
    }
  });

  it('reports null quantiles for a version that has only batches', () => {
    const m = createMetrics({ defaultMetrics: false });
    m.observer.batch({ model: 'm', version: '1', rows: 1, requests: 1, queueDelayMs: 0, inferenceMs: 0.1, cpuSeconds: 0 });
    expect(m.stats()).toEqual({ models: { m: { '1': { requests: 0, rows: 0, p50: null, p95: null, p99: null, degradedRate: 0, costPerPrediction: 0 } } } });
  });
});
