import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PREDICTION_LOG_COLUMNS, PredictionLog, predictionLogGlob, type PredictionRecord } from './prediction-log.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1, 23, 59, 59);

function record(i: number, model = 'churn', time = new Date(T0)): PredictionRecord {
  return {
    id: `req${Math.floor(i / 4)}-${i % 4}`, time, model, version: '1.0.0',
    entity: { customer_id: `c${i}`, amount: i * 1.5 },
    features: { spend: i % 5 === 0 ? null : i / 10, visits: i % 11, plan: 'pro', seen: new Date(T0 - i) },
    statuses: { spend: i % 5 === 0 ? 'NULL_VALUE' : 'PRESENT', visits: 'PRESENT', plan: 'PRESENT' },
    output: i % 7 === 0 ? null : (i % 100) / 100, latencyMs: 0.25, degraded: i % 5 === 0,
  };
}

/** A deterministic coin for sampling. */
function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.map(String).filter((f) => f.endsWith('.parquet') || f.endsWith('.tmp')).sort();
}

describe('prediction log (real DuckDB, Parquet on disk)', () => {
  let root: string;
  let db: DuckDBInstance;
  let connection: DuckDBConnection;
  const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'larder-predlog-'));
    db = await DuckDBInstance.create(':memory:');
    connection = await db.connect();
  });
  afterAll(async () => {
    connection.closeSync();
    db.closeSync();
    await rm(root, { recursive: true, force: true });
  });

  it('writes every prediction once, flushing on size and on close, partitioned by day and model', async () => {
    const project = join(root, 'size');
    const log = new PredictionLog(project, { flushRows: 1000, flushMs: 60_000 });
    const n = 2500;
    for (let i = 0; i < n; i += 50) log.append(Array.from({ length: 50 }, (_, k) => record(i + k, (i + k) % 3 === 0 ? 'delay' : 'churn')));
    // Two size-triggered flushes ran; the last 500 wait for close.
    await vi.waitFor(() => expect(log.stats.written).toBe(2000));
    expect(log.stats.buffered).toBe(500);
    await log.close();
    expect(log.stats).toMatchObject({ offered: n, sampled: n, written: n, buffered: 0, dropped: 0 });

    const written = await files(log.dir);
    expect(written.every((f) => /^day=2026-06-01\/model=(churn|delay)\/part-\d+-\d+-\d{6}\.parquet$/.test(f))).toBe(true);
    expect(written).toHaveLength(6); // 3 flushes × 2 models
    const glob = predictionLogGlob(log.dir);
    const [count] = await rows(`SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids FROM read_parquet('${glob}', hive_partitioning = true)`);
    expect(count).toEqual({ n, ids: n });
    const columns = (await rows(`DESCRIBE SELECT * FROM read_parquet('${glob}', hive_partitioning = true)`)).map((r) => r['column_name']);
    expect(columns).toEqual([...PREDICTION_LOG_COLUMNS, 'day']);
    const byModel = await rows(`SELECT model, count(*)::INTEGER AS n FROM read_parquet('${predictionLogGlob(log.dir, 'delay')}', hive_partitioning = true) GROUP BY model`);
    expect(byModel).toEqual([{ model: 'delay', n: Math.ceil(n / 3) }]);

    const [one] = await rows(`SELECT *, features::JSON->>'plan' AS plan, (entity::JSON->>'amount')::DOUBLE AS amount, epoch_ms(time)::DOUBLE AS ms
      FROM read_parquet('${glob}', hive_partitioning = true) WHERE id = 'req1-1'`);
    expect(one).toMatchObject({ model: 'churn', version: '1.0.0', output: 0.05, latency_ms: 0.25, degraded: true, plan: 'pro', amount: 7.5, ms: T0 });
    expect(JSON.parse(one!['statuses'] as string)).toEqual(record(5).statuses);
    const [nulls] = await rows(`SELECT count(*)::INTEGER AS n FROM read_parquet('${glob}') WHERE output IS NULL`);
    expect(nulls!['n']).toBe(Array.from({ length: n }, (_, i) => i).filter((i) => i % 7 === 0).length);
  });

  it('samples at the configured rate and flushes on time', async () => {
    const project = join(root, 'sampled');
    const log = new PredictionLog(project, { sampleRate: 0.25, flushMs: 50, random: seeded(42) });
    const n = 4000;
    log.append(Array.from({ length: n }, (_, i) => record(i, 'churn', new Date(T0 + (i % 2) * DAY))));
    const sampled = log.stats.sampled;
    expect(sampled / n).toBeGreaterThan(0.22);
    expect(sampled / n).toBeLessThan(0.28);
    await vi.waitFor(() => expect(log.stats.written).toBe(sampled), { timeout: 5000 });
    const days = await rows(`SELECT day::VARCHAR AS day, count(*)::INTEGER AS n FROM read_parquet('${predictionLogGlob(log.dir)}', hive_partitioning = true) GROUP BY day ORDER BY day`);
    expect(days.map((d) => d['day'])).toEqual(['2026-06-01', '2026-06-02']);
    expect(days.reduce((s, d) => s + (d['n'] as number), 0)).toBe(sampled);
    await log.close();
    log.append([record(1)]); // after close: ignored, not lost silently in a buffer nobody flushes
    expect(log.stats.buffered).toBe(0);
  });

  it('joins with labels that arrive later, by prediction id', async () => {
    const project = join(root, 'join');
    const log = new PredictionLog(project, {});
    log.append(Array.from({ length: 100 }, (_, i) => record(i)));
    await log.close();
    const labels = join(root, 'labels.parquet');
    // Labels for some predictions only, arriving days later, keyed by the prediction id.
    await connection.run(`COPY (SELECT 'req' || (i // 4) || '-' || (i % 4) AS prediction_id, i % 2 = 0 AS churned, TIMESTAMP '2026-06-20' AS labeled_at
      FROM range(0, 100, 3) r(i)) TO '${labels}' (FORMAT parquet)`);
    const joined = await rows(`
      SELECT p.id, p.version, p.output, l.churned, (p.features::JSON->>'visits')::INTEGER AS visits
      FROM read_parquet('${predictionLogGlob(log.dir, 'churn')}', hive_partitioning = true) p
      JOIN read_parquet('${labels}') l ON l.prediction_id = p.id
      ORDER BY p.id`);
    expect(joined).toHaveLength(34);
    const r9 = joined.find((r) => r['id'] === 'req2-1');
    expect(r9).toMatchObject({ version: '1.0.0', churned: false, visits: 9 });
    expect(await files(log.dir)).toHaveLength(1);
  });

  it('keeps the records of a failed write for the next flush and says why', async () => {
    const blocker = join(root, 'not-a-folder');
    await (await import('node:fs/promises')).writeFile(blocker, 'x');
    const errors: unknown[] = [];
    const log = new PredictionLog(root, { dir: join(blocker, 'predictions'), onError: (e) => errors.push(e) });
    log.append(Array.from({ length: 30 }, (_, i) => record(i, i % 2 ? 'a' : 'b')));
    await expect(log.flush()).rejects.toMatchObject({ code: 'LARDER_E_IO' });
    expect(errors).toHaveLength(2); // one per partition
    expect(log.stats).toMatchObject({ sampled: 30, written: 0, buffered: 30, dropped: 0 });
    await expect(log.close()).rejects.toMatchObject({ code: 'LARDER_E_IO' });
  });

  it('writes nothing and creates no folder when nothing was logged', async () => {
    const project = join(root, 'empty');
    const log = new PredictionLog(project, {});
    await log.close();
    expect(await files(join(project, '.larder'))).toEqual([]);
  });
});
