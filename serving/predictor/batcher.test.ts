import { describe, expect, it } from 'vitest';
import { DynamicBatcher, mergeColumns, type BatchEvent, type Columns, type RunResult } from './batcher.ts';

/** A model: output = 2x + y per row. Records every run's row count; `gate` holds runs until opened. */
function model() {
  const runs: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let gate: Promise<void> | undefined;
  let open: () => void = () => undefined;
  return {
    runs,
    get maxInFlight() { return maxInFlight; },
    hold() { gate = new Promise((resolve) => { open = resolve; }); },
    release() { gate = undefined; open(); },
    async run(columns: Columns, n: number): Promise<RunResult> {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      runs.push(n);
      try {
        if (gate) await gate;
        const x = columns['x']!;
        const y = columns['y']!;
        return { outputs: Float64Array.from({ length: n }, (_, i) => 2 * (x[i] as number) + (y[i] as number)) };
      } finally {
        inFlight--;
      }
    },
  };
}

const rows = (from: number, n: number): Columns => ({
  x: Array.from({ length: n }, (_, i) => from + i),
  y: Array.from({ length: n }, () => 0.5),
});

describe('DynamicBatcher', () => {
  it('merges requests submitted together into one run and splits the outputs back in order', async () => {
    const m = model();
    const events: BatchEvent[] = [];
    const batcher = new DynamicBatcher((c, n) => m.run(c, n), { maxQueueDelayUs: 0 }, (e) => events.push(e));
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit(rows(i * 10, 1 + (i % 3)), 1 + (i % 3))));
    expect(m.runs).toEqual([answers.reduce((s, a) => s + a.length, 0)]);
    answers.forEach((a, i) => expect([...a]).toEqual(Array.from({ length: 1 + (i % 3) }, (_, k) => 2 * (i * 10 + k) + 0.5)));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ rows: 19, requests: 10 });
    expect(events[0]!.queueDelayMs).toBeGreaterThanOrEqual(0);
    expect(events[0]!.cpuSeconds).toBeGreaterThanOrEqual(0);
    await batcher.close();
  });

  it('caps a merged run at maxBatchSize rows and runs a larger request alone, unsplit', async () => {
    const m = model();
    const batcher = new DynamicBatcher((c, n) => m.run(c, n), { maxBatchSize: 8, maxQueueDelayUs: 0 });
    const answers = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => batcher.submit(rows(i, 3), 3)),
      batcher.submit(rows(100, 20), 20),
    ]);
    expect(m.runs).toEqual([6, 6, 3, 20]);
    expect(answers[5]![19]).toBe(2 * 119 + 0.5);
    await batcher.close();
  });

  it('merges what arrives while a run is in flight into the next run (delay 0), one run at a time', async () => {
    const m = model();
    const batcher = new DynamicBatcher((c, n) => m.run(c, n), { maxQueueDelayUs: 0 });
    m.hold();
    const first = batcher.submit(rows(0, 1), 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(m.runs).toEqual([1]);
    const later = Array.from({ length: 7 }, (_, i) => batcher.submit(rows(i, 1), 1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batcher.queued).toBe(7);
    m.release();
    await Promise.all([first, ...later]);
    expect(m.runs).toEqual([1, 7]);
    expect(m.maxInFlight).toBe(1);
    await batcher.close();
  });

  it('waits up to maxQueueDelayUs for more rows, and no longer once the batch is full', async () => {
    const m = model();
    const events: BatchEvent[] = [];
    const batcher = new DynamicBatcher((c, n) => m.run(c, n), { maxQueueDelayUs: 30_000, maxBatchSize: 4 }, (e) => events.push(e));
    const started = performance.now();
    const a = batcher.submit(rows(0, 1), 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const b = batcher.submit(rows(1, 1), 1);
    await Promise.all([a, b]);
    expect(m.runs).toEqual([2]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    expect(events[0]!.queueDelayMs).toBeGreaterThanOrEqual(29);

    const full = performance.now();
    await Promise.all(Array.from({ length: 4 }, (_, i) => batcher.submit(rows(i, 1), 1)));
    expect(m.runs).toEqual([2, 4]);
    expect(performance.now() - full).toBeLessThan(25);
    await batcher.close();
  });

  it('does not wait the delay for requests nobody announced: a lone announced request runs at once', async () => {
    const m = model();
    const batcher = new DynamicBatcher((c, n) => m.run(c, n), { maxQueueDelayUs: 1_000_000 });
    const started = performance.now();
    const ticket = batcher.expect();
    expect([...await ticket.submit(rows(1, 1), 1)]).toEqual([2.5]);
    expect(performance.now() - started).toBeLessThan(500);
    await batcher.close();
  });

  it('waits for announced requests on their way, and leaves when the last arrives or cancels', async () => {
    const m = model();
    const batcher = new DynamicBatcher((c, n) => m.run(c, n), { maxQueueDelayUs: 1_000_000 });
    const tickets = Array.from({ length: 4 }, () => batcher.expect());
    const answers = [tickets[0]!.submit(rows(0, 1), 1), tickets[1]!.submit(rows(1, 2), 2)];
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(m.runs).toEqual([]); // two more are announced
    answers.push(tickets[2]!.submit(rows(3, 1), 1));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(m.runs).toEqual([]);
    tickets[3]!.cancel();
    tickets[3]!.cancel(); // twice is harmless
    await Promise.all(answers);
    expect(m.runs).toEqual([4]);
    // An unannounced request in the queue keeps the delay in force (more like it may come).
    const t = batcher.expect();
    const plain = batcher.submit(rows(0, 1), 1);
    const announced = t.submit(rows(0, 1), 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(m.runs).toEqual([4]);
    await batcher.close();
    await Promise.all([plain, announced]);
    expect(m.runs).toEqual([4, 2]);
  });

  it('runs every request alone when disabled', async () => {
    const m = model();
    const events: BatchEvent[] = [];
    const batcher = new DynamicBatcher((c, n) => m.run(c, n), { enabled: false }, (e) => events.push(e));
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => batcher.submit(rows(i, 2), 2)));
    expect(m.runs).toEqual([2, 2, 2, 2, 2, 2]);
    expect(m.maxInFlight).toBe(1);
    expect(events.every((e) => e.requests === 1)).toBe(true);
    expect([...answers[3]!]).toEqual([6.5, 8.5]);
    await batcher.close();
  });

  it('runs up to `concurrency` batches at once', async () => {
    const m = model();
    const batcher = new DynamicBatcher((c, n) => m.run(c, n), { enabled: false, concurrency: 3 });
    m.hold();
    const all = Array.from({ length: 6 }, (_, i) => batcher.submit(rows(i, 1), 1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(m.runs).toHaveLength(3);
    m.release();
    await Promise.all(all);
    expect(m.maxInFlight).toBe(3);
    await batcher.close();
  });

  it('fails every request of a failed run, then carries on', async () => {
    let fail = true;
    const batcher = new DynamicBatcher(async (_c, n) => {
      if (fail) throw new Error('boom');
      return { outputs: new Float64Array(n).fill(1) };
    }, { maxQueueDelayUs: 0 });
    const failed = await Promise.allSettled([batcher.submit(rows(0, 1), 1), batcher.submit(rows(0, 2), 2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect([...await batcher.submit(rows(0, 2), 2)]).toEqual([1, 1]);
    // A run that answers the wrong number of rows is the model's fault, said so.
    const short = new DynamicBatcher(async () => ({ outputs: new Float64Array(1) }), { maxQueueDelayUs: 0 });
    await expect(short.submit(rows(0, 2), 2)).rejects.toMatchObject({ code: 'LARDER_E_MODEL_INVALID' });
    await Promise.all([batcher.close(), short.close()]);
  });

  it('drops a queued request whose signal aborts, and takes the CPU time a runner measured', async () => {
    const m = model();
    const events: BatchEvent[] = [];
    const batcher = new DynamicBatcher(async (c, n) => ({ ...(await m.run(c, n)), cpuSeconds: 0.125 }), { maxQueueDelayUs: 0 }, (e) => events.push(e));
    m.hold();
    const first = batcher.submit(rows(0, 1), 1);
    await new Promise((resolve) => setImmediate(resolve));
    const controller = new AbortController();
    const aborted = batcher.submit(rows(0, 1), 1, { signal: controller.signal });
    const kept = batcher.submit(rows(5, 1), 1);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'LARDER_E_ABORTED' });
    m.release();
    expect([...await kept]).toEqual([10.5]);
    await first;
    expect(m.runs).toEqual([1, 1]);
    expect(events.map((e) => e.cpuSeconds)).toEqual([0.125, 0.125]);
    await expect(batcher.submit(rows(0, 1), 1, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'LARDER_E_ABORTED' });
    await batcher.close();
  });

  it.each([true, false])('leaves out a queued request whose caller has gone when its batch is cut (batching %s)', async (enabled) => {
    const m = model();
    const batcher = new DynamicBatcher((c, n) => m.run(c, n), { enabled, maxQueueDelayUs: 0 });
    m.hold();
    const first = batcher.submit(rows(0, 1), 1);
    await new Promise((resolve) => setImmediate(resolve));
    let gone = false;
    const left = batcher.submit(rows(1, 1), 1, { cancelled: () => gone });
    const kept = batcher.submit(rows(5, 2), 2);
    gone = true;
    m.release();
    await expect(left).rejects.toMatchObject({ code: 'LARDER_E_ABORTED' });
    expect([...await kept]).toEqual([10.5, 12.5]);
    await first;
    // The gone request never reached the model: one run of 1 row, then the kept 2 rows.
    expect(m.runs).toEqual([1, 2]);
    // Gone before it was queued: refused at once.
    await expect(batcher.submit(rows(0, 1), 1, { cancelled: () => true })).rejects.toMatchObject({ code: 'LARDER_E_ABORTED' });
    await batcher.close();
  });

  it('answers what is queued on close, then refuses new requests with 503', async () => {
    const m = model();
    const batcher = new DynamicBatcher((c, n) => m.run(c, n), { maxQueueDelayUs: 1_000_000 });
    const queued = Array.from({ length: 3 }, (_, i) => batcher.submit(rows(i, 1), 1));
    await batcher.close();
    expect((await Promise.all(queued)).map((a) => a[0])).toEqual([0.5, 2.5, 4.5]);
    await expect(batcher.submit(rows(0, 1), 1)).rejects.toMatchObject({ code: 'LARDER_E_UNAVAILABLE', status: 503 });
  });

  it('mergeColumns concatenates feature by feature', () => {
    expect(mergeColumns([{ a: [1, 2], b: ['x', 'y'] }, { a: [3], b: ['z'] }], 3)).toEqual({ a: [1, 2, 3], b: ['x', 'y', 'z'] });
  });
});
