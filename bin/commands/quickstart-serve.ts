/**
 * @module quickstart-serve
 * The quickstart's serving step: `larder serve` started in-process on a free port, then real June
 * flights sent to `POST /v1/predict/delay` one request at a time over HTTP, as a client would:
 * the champion model, features read online in the same call. Reports p50/p99 of the round trips
 * and a few answers beside what really happened.
 */
import { DuckDBEngine } from '../../featurestore/offline/duckdb.ts';
import { sqlLiteral } from '../../featurestore/offline/sql.ts';
import type { FeatureStore } from '../../featurestore/store.ts';

export interface JuneFlight {
  readonly origin: string;
  readonly destination: string;
  readonly distance: number;
  readonly late: boolean;
}

export interface ServedSummary {
  readonly url: string;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly version: string;
  readonly degraded: number;
  readonly examples: readonly { flight: JuneFlight; probability: number | null; degraded: boolean; features: number }[];
  /** Mean predicted probability for the flights that were late and for those that were not. */
  readonly meanLate: number;
  readonly meanOnTime: number;
}

/** A seeded sample of June's flights (the month after the validation set), with what happened. */
export async function juneFlights(flightsParquet: string, n: number, projectDir: string): Promise<JuneFlight[]> {
  const engine = await DuckDBEngine.open({ path: ':memory:', projectDir });
  try {
    const rows = await engine.withSession((s) => s.rows(`SELECT origin, destination, distance, delay > 15 AS late
      FROM read_parquet(${sqlLiteral(flightsParquet)})
      WHERE dep_time >= TIMESTAMP '2001-06-01' AND dep_time < TIMESTAMP '2001-07-01'
      ORDER BY hash(flight_id), flight_id LIMIT ${Math.trunc(n)}`));
    return rows.map((r) => ({ origin: String(r['origin']), destination: String(r['destination']), distance: Number(r['distance']), late: r['late'] === true }));
  } finally {
    engine.close();
  }
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

interface PredictBody {
  version: string;
  predictions: { output: number | null; degraded: boolean; features: Record<string, unknown> }[];
}

/**
 * Starts the server on the open store, sends one request per flight, stops it. `at` replays the
 * server's clock: the data ends in 2001, so feature ttls are measured from then, not from today.
 */
export async function serveFlights(store: FeatureStore, model: string, flights: readonly JuneFlight[], at: Date): Promise<ServedSummary> {
  // Loaded here: the server pulls in Fastify, onnxruntime and gRPC, which other commands never need.
  const { startServer } = await import('../../serving/serve.ts');
  const offset = at.getTime() - Date.now();
  const server = await startServer({ store, config: { host: '127.0.0.1', port: 0 }, now: () => Date.now() + offset });
  try {
    const latencies: number[] = [];
    const answers: { flight: JuneFlight; body: PredictBody }[] = [];
    for (const flight of flights) {
      const started = performance.now();
      const response = await fetch(`${server.url}/v1/predict/${model}`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ entities: [{ origin: flight.origin, destination: flight.destination, distance: flight.distance }] }),
      });
      const body = await response.json() as PredictBody;
      latencies.push(performance.now() - started);
      if (!response.ok) throw new Error(`POST /v1/predict/${model} answered ${response.status}: ${JSON.stringify(body)}`);
      answers.push({ flight, body });
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const mean = (late: boolean): number => {
      const outputs = answers.filter((a) => a.flight.late === late).map((a) => a.body.predictions[0]?.output ?? Number.NaN).filter(Number.isFinite);
      return outputs.reduce((s, x) => s + x, 0) / Math.max(1, outputs.length);
    };
    return {
      url: server.url, requests: answers.length, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99),
      version: answers[0]?.body.version ?? '?',
      degraded: answers.filter((a) => a.body.predictions[0]?.degraded).length,
      examples: answers.slice(0, 4).map(({ flight, body }) => ({
        flight, probability: body.predictions[0]?.output ?? null, degraded: body.predictions[0]?.degraded ?? false,
        features: Object.keys(body.predictions[0]?.features ?? {}).length,
      })),
      meanLate: mean(true), meanOnTime: mean(false),
    };
  } finally {
    await server.close();
  }
}
