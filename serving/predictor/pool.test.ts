import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { buildOnnxModel } from '../../registry/models/onnx-build.ts';
import { InferencePool } from './pool.ts';
import { openRawSession, type RawSession, type RawTensor } from './session.ts';

/** A heavy model: X[N,256] → MatMul 256×512 → Relu → MatMul 512×512 → Relu → MatMul 512×1. */
function mlp(): Uint8Array {
  let seed = 1;
  const random = (): number => {
    seed = (seed * 16807) % 2147483647;
    return (seed / 2147483647 - 0.5) * 0.1;
  };
  const weights = (rows: number, cols: number) => Array.from({ length: rows * cols }, random);
  return buildOnnxModel({
    inputs: [{ name: 'X', type: 'float32', shape: ['N', 256] }],
    outputs: [{ name: 'Y', type: 'float32', shape: ['N', 1] }],
    nodes: [
      { op: 'MatMul', inputs: ['X', 'W1'], outputs: ['H1'] },
      { op: 'Relu', inputs: ['H1'], outputs: ['A1'] },
      { op: 'MatMul', inputs: ['A1', 'W2'], outputs: ['H2'] },
      { op: 'Relu', inputs: ['H2'], outputs: ['A2'] },
      { op: 'MatMul', inputs: ['A2', 'W3'], outputs: ['Y'] },
    ],
    initializers: [
      { name: 'W1', type: 'float32', dims: [256, 512], values: weights(256, 512) },
      { name: 'W2', type: 'float32', dims: [512, 512], values: weights(512, 512) },
      { name: 'W3', type: 'float32', dims: [512, 1], values: weights(512, 1) },
    ],
  });
}

const template = new Float32Array(4000 * 256).map((_, i) => ((i * 7919) % 1000) / 1000);

/** The first `rows` rows of a fixed input, as a fresh buffer (the pool transfers it away). */
function batch(rows: number): RawTensor {
  return { type: 'float32', data: template.slice(0, rows * 256), dims: [rows, 256] };
}

/** Runs `work` while a 2 ms timer probes the event loop; returns the delays it saw, in ms. */
async function worstLag(work: () => Promise<unknown>): Promise<{ maxMs: number; p99Ms: number; meanMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 2 });
  let last = performance.now();
  let worst = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 2);
    last = now;
  }, 2);
  histogram.enable();
  try {
    await work();
  } finally {
    clearInterval(probe);
    histogram.disable();
  }
  return { maxMs: Math.max(worst, histogram.max / 1e6), p99Ms: histogram.percentile(99) / 1e6, meanMs: histogram.mean / 1e6 };
}

describe('inference pool (worker_threads, real onnxruntime)', () => {
  const pool = new InferencePool({ size: 1 });
  let inline: RawSession;
  let pooled: RawSession;
  afterAll(async () => {
    await inline?.release();
    await pooled?.release();
    await pool.close();
  });

  it('gives the inline results and keeps the event loop responsive while a heavy model runs', async () => {
    const bytes = mlp();
    inline = await openRawSession(bytes, 'mlp');
    pooled = await pool.open(bytes, 'mlp');
    expect(pool.size).toBe(1);

    const rows = 4000;
    const wall = performance.now();
    const a = await inline.run({ X: batch(rows) }, ['Y']);
    // The run's own CPU time: real work, and no more than the call took.
    expect(a.cpuSeconds).toBeGreaterThan(0.001);
    expect(a.cpuSeconds).toBeLessThanOrEqual((performance.now() - wall) / 1000);
    const b = await pooled.run({ X: batch(rows) }, ['Y']);
    expect(b.outputs['Y']!.dims).toEqual([rows, 1]);
    const ya = a.outputs['Y']!.data as Float32Array;
    const yb = b.outputs['Y']!.data as Float32Array;
    expect(yb.length).toBe(rows);
    for (let i = 0; i < rows; i++) expect(Math.abs(ya[i]! - yb[i]!)).toBeLessThan(1e-6);
    expect(b.cpuSeconds).toBeGreaterThan(0);

    const runs = 4;
    const inlineLag = await worstLag(async () => { for (let i = 0; i < runs; i++) await inline.run({ X: batch(rows) }, ['Y']); });
    const poolLag = await worstLag(async () => { for (let i = 0; i < runs; i++) await pooled.run({ X: batch(rows) }, ['Y']); });
    const idle = await worstLag(() => new Promise((resolve) => setTimeout(resolve, 200)));
    const show = (l: typeof idle) => `max ${l.maxMs.toFixed(1)} ms, p99 ${l.p99Ms.toFixed(1)} ms, mean ${l.meanMs.toFixed(2)} ms`;
    console.info(`event-loop lag, ${runs} runs of ${rows} rows through MLP 256→512→512→1:\n  inline: ${show(inlineLag)}\n  pool:   ${show(poolLag)}\n  idle:   ${show(idle)}`);
    // Inline, each run blocks the loop for its whole length; in the pool only thread scheduling
    // on this busy 2-core box delays it.
    expect(inlineLag.maxMs).toBeGreaterThan(20);
    expect(poolLag.meanMs).toBeLessThan(inlineLag.meanMs / 3);
    expect(poolLag.maxMs).toBeLessThan(inlineLag.maxMs);
  });

  it('reports onnxruntime failures from the thread as Larder errors and keeps serving', async () => {
    const error = await pooled.run({ X: { type: 'float32', data: new Float32Array(3), dims: [1, 3] } }, ['Y']).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'LARDER_E_INVALID_REQUEST' });
    const ok = await pooled.run({ X: batch(2) }, ['Y']);
    expect(ok.outputs['Y']!.dims).toEqual([2, 1]);
    const invalid = await pool.open(new Uint8Array([1, 2, 3]), 'garbage').then(() => undefined, (e: unknown) => e);
    expect(invalid).toMatchObject({ code: 'LARDER_E_MODEL_INVALID' });
  });

  it('spreads runs over several threads, each holding the session', async () => {
    const two = new InferencePool({ size: 2 });
    try {
      const session = await two.open(mlp(), 'mlp');
      expect(two.workers).toHaveLength(2);
      const expected = (await inline.run({ X: batch(500) }, ['Y'])).outputs['Y']!.data as Float32Array;
      const results = await Promise.all(Array.from({ length: 4 }, () => session.run({ X: batch(500) }, ['Y'])));
      for (const r of results) expect([...(r.outputs['Y']!.data as Float32Array)]).toEqual([...expected]);
      await expect(two.open(new Uint8Array([9, 9]), 'garbage')).rejects.toMatchObject({ code: 'LARDER_E_MODEL_INVALID' });
      await session.release();
    } finally {
      await two.close();
    }
  });

  it('replaces a thread that exits and reloads its models; close waits for runs in flight', async () => {
    // Terminated between runs: inside session.run onnxruntime-node would abort the process.
    const dying = pool.workers[0]!;
    await dying.terminate();
    await new Promise((resolve) => setImmediate(resolve));
    expect(pool.workers[0]).not.toBe(dying);
    const after = await pooled.run({ X: batch(3) }, ['Y']);
    const expected = await inline.run({ X: batch(3) }, ['Y']);
    expect([...(after.outputs['Y']!.data as Float32Array)]).toEqual([...(expected.outputs['Y']!.data as Float32Array)]);

    const other = new InferencePool();
    const session = await other.open(mlp(), 'mlp');
    const running = session.run({ X: batch(4000) }, ['Y']);
    await other.close();
    expect((await running).outputs['Y']!.dims).toEqual([4000, 1]);
    await expect(session.run({ X: batch(1) }, ['Y'])).rejects.toMatchObject({ code: 'LARDER_E_UNAVAILABLE', status: 503 });
  });
});
