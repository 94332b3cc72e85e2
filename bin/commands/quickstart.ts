/**
 * @module quickstart
 * `larder quickstart`: the flights example (fixtures/flights, real BTS on-time data) end to end
 * on the embedded default, with a short report: prepare the data, apply, a training dataset
 * (Jan–Apr) and a validation dataset (May) written with manifests, both trainers through the
 * retraining flow (registered, gated, the better one champion), materialize as of the end of
 * the data, online reads of a few flights with values, statuses and ages, and `larder serve`
 * answering /v1/predict for real June flights over HTTP.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Table } from 'apache-arrow';
import { openStore } from '../../featurestore/store.ts';
import type { OnlineFeaturesResponse } from '../../featurestore/online-read.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError } from '../output.ts';
import { withProgress } from '../progress.ts';
import { MODEL, trainFlightModels } from './quickstart-models.ts';
import { juneFlights, serveFlights } from './quickstart-serve.ts';

export const FLIGHTS_DIR = fileURLToPath(new URL('../../fixtures/flights', import.meta.url));

/** The time split: train on flights that left before May, validate on May's. */
const SPLIT = '2001-05-01';
const VALIDATION_END = '2001-06-01';
const SERVICE = 'delay_model';
/**
 * Dataset rows are every Nth flight (by id; --every 1 for all 2.5M): the aggregations still see
 * every flight, and the datasets stay large enough (~200k and ~50k rows) to show the features'
 * signal while the run stays short.
 */
const DEFAULT_EVERY = 10;
/** Requests the serving step sends, one at a time. */
const SERVE_REQUESTS = 200;

/** Features shown in the online read table (every one is in the --json output). */
const SHOWN = [
  'origin_flights_7d', 'origin_avg_delay_7d', 'origin_late_rate_7d', 'origin_departures_1h',
  'destination_late_rate_7d', 'route_flights_28d', 'route_avg_delay_28d', 'route_late_rate_28d',
  'origin_state', 'destination_state', 'distance_band', 'eastbound', 'origin_delay_trend', 'route_excess_delay_28d',
];
/** Features whose predictive power on the validation set the report shows (AUC for `late`). */
const SIGNAL = ['route_late_rate_28d', 'origin_late_rate_7d', 'destination_late_rate_7d', 'origin_departures_1h'];

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, (performance.now() - started) / 1000];
}

const count = (n: number): string => n.toLocaleString('en-US');
const secs = (s: number): string => `${s.toFixed(1)} s`;

function show(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  if (v instanceof Date) return v.toISOString().slice(0, 16);
  if (typeof v === 'number' && !Number.isInteger(v)) return v.toFixed(3);
  return String(v);
}

function age(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes}m`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)}h`;
  return `${Math.round(minutes / 1440)}d`;
}

/** Share of `late` among the table's rows. */
function lateRate(table: Table): number {
  const late = table.getChild('late');
  let n = 0;
  for (let i = 0; i < table.numRows; i++) if (late?.get(i) === true) n++;
  return n / Math.max(1, table.numRows);
}

/**
 * Area under the ROC curve of one feature for the `late` label, over rows where it is not null
 * (Mann–Whitney, ties at half): 0.5 is no signal.
 */
export function auc(table: Table, feature: string): { auc: number; rows: number } | null {
  const scores = table.getChild(feature);
  const late = table.getChild('late');
  if (scores === null || late === null) return null;
  const pairs: [number, boolean][] = [];
  for (let i = 0; i < table.numRows; i++) {
    const s = scores.get(i) as unknown;
    if (s !== null && s !== undefined) pairs.push([Number(s), late.get(i) === true]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < pairs.length;) {
    let j = i;
    while (j < pairs.length && pairs[j]?.[0] === pairs[i]?.[0]) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (pairs[k]?.[1]) { positives++; rankSum += rank; }
    i = j;
  }
  const negatives = pairs.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return { auc: (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives), rows: pairs.length };
}

/** The features with the most nulls, highest first (a new route or airport has no history yet). */
function nullRates(table: Table, columns: readonly string[], n: number): string {
  const rates = columns.map((name) => [name, (table.getChild(name)?.nullCount ?? table.numRows) / Math.max(1, table.numRows)] as const)
    .sort((a, b) => b[1] - a[1]);
  const top = rates.slice(0, n).filter(([, r]) => r > 0).map(([name, r]) => `${name} ${(100 * r).toFixed(2)}%`);
  return top.length === 0 ? 'no nulls' : `${top.join(', ')}${rates.length > top.length ? `; the other ${rates.length - top.length} features ≤ ${(100 * (rates[top.length]?.[1] ?? 0)).toFixed(2)}%` : ''}`;
}

function onlineTable(response: OnlineFeaturesResponse, labels: readonly string[], readAt: Date): string[] {
  const width = 24;
  const cell = (row: number, feature: string): string => {
    const r = response.rows[row];
    if (r === undefined) return '';
    const at = r.eventTimestamps[feature];
    const status = r.statuses[feature] ?? '?';
    return `${show(r.values[feature])} ${status === 'PRESENT' ? '' : `${status} `}${at ? age(readAt.getTime() - at.getTime()) : ''}`.trim();
  };
  const shown = SHOWN.filter((f) => response.features.includes(f));
  return [
    `    ${'feature'.padEnd(26)}${labels.map((l) => l.padEnd(width)).join('')}`,
    ...shown.map((f) => `    ${f.padEnd(26)}${labels.map((_, i) => cell(i, f).padEnd(width)).join('')}`),
    `    (value, status when not PRESENT, age of the stored value; ${response.features.length - shown.length} more features with --json)`,
  ];
}

const USAGE = `Usage: larder quickstart [--project DIR] [--airports ORD,ATL,…] [--every N] [--json]

Runs the flights example end to end (default: the bundled fixtures/flights; DIR must hold a copy
of it): prepares its data from vega-datasets, applies it, builds a training (Jan–Apr 2001) and a
validation (May) dataset, trains logistic regression and gradient-boosted trees on Jan–Apr
through the retraining flow (evaluated on May, registered as model delay, the better one approved
and champion), materializes as of the end of the data, reads a few flights online, and starts
larder serve in-process to send 200 POST /v1/predict requests for real June flights
(memory store; Redis when REDIS_URL is set). --airports keeps only flights between those
airports, for a smaller, faster run; --every N takes every Nth flight as a dataset row (the
features still see every flight).`;

export const quickstartCommand: Command = {
  summary: 'run the flights example end to end: prepare, apply, datasets, materialize, online reads',
  usage: USAGE,
  options: { airports: { type: 'string' }, every: { type: 'string' } },
  async run({ io, values }: CommandContext): Promise<number> {
    const dir = typeof values.project === 'string' ? path.resolve(values.project) : FLIGHTS_DIR;
    const airports = typeof values.airports === 'string' ? values.airports.split(',').filter((a) => a.trim() !== '') : undefined;
    if (airports !== undefined && airports.length < 2) throw usageError(`--airports needs at least two IATA codes\n${USAGE}`);
    const every = values.every === undefined ? DEFAULT_EVERY : Number(values.every);
    if (!Number.isInteger(every) || every < 1) throw usageError(`--every needs a whole number of 1 or more, not ${String(values.every)}\n${USAGE}`);
    const started = performance.now();
    const say = (line = ''): void => { if (!io.json) io.out(line); };
    const where = path.relative(process.cwd(), dir) || '.';

    // Loaded here, not at import: it pulls in DuckDB, which other commands load only when needed.
    const { prepareFlights } = await import('../../fixtures/flights/prepare.ts');
    const [data, prepareSeconds] = await timed(() => withProgress(io, 'prepare', () => prepareFlights(dir, airports === undefined ? {} : { airports })));
    say(`Larder quickstart: the flights example in ${where} — real US on-time data (BTS, via vega-datasets)`);
    say(`  prepare: ${count(data.flights)} flights ${data.first.slice(0, 10)} … ${data.last.slice(0, 10)}, ${data.origins} origin airports, ${count(data.routes)} routes, ` +
      `${(100 * data.lateRate).toFixed(1)}% arriving > 15 min late; ${count(data.airports)} airports (${data.reused ? 'reused data/' : 'wrote data/'}, ${secs(prepareSeconds)})`);

    const [store, openSeconds] = await timed(() => openStore({ dir }));
    try {
      const views = [...store.project.views.values()];
      const aggregated = views.filter((v) => v.aggregations !== undefined).length;
      say(`  loaded ${store.modules.length} modules: ${views.length} feature views (${aggregated} of windowed aggregations), ${store.project.onDemandViews.size} on-demand views, ${store.project.services.size} service (${secs(openSeconds)})`);
      const [plan, applySeconds] = await timed(() => withProgress(io, 'apply', () => store.apply()));
      say(`  apply: ${plan.counts.add} added, ${plan.counts.change} changed, ${plan.counts.remove} removed, ${plan.counts.unchanged} unchanged (${secs(applySeconds)})`);

      // Entity rows are the flights themselves, at their departure; `late` is the label and
      // passes through. The departure time is the row's clock only, never a feature.
      const flights = sqlString(path.join(dir, 'data', 'flights.parquet'));
      const rows = (from: string, to: string): { sql: string } => ({
        sql: `SELECT flight_id, origin, destination, distance, dep_time AS event_timestamp, delay > 15 AS late
              FROM read_parquet(${flights})
              WHERE dep_time >= TIMESTAMP '${from}' AND dep_time < TIMESTAMP '${to}' AND flight_id % ${every} = 0 ORDER BY flight_id`,
      });
      const trainOut = path.join(dir, '.larder', 'datasets', 'train.parquet');
      const [train, trainSeconds] = await timed(() => withProgress(io, 'training dataset', () => store.writeDataset({ entities: rows(data.first.slice(0, 10), SPLIT), service: SERVICE }, trainOut)));
      const features = (train.columns ?? []).map((c) => c.name);
      say(`  training dataset (${every === 1 ? 'flights' : `1 in ${every} flights`} Jan–Apr): ${count(train.rows)} rows × ${features.length} features → ${path.relative(process.cwd(), trainOut)} (${secs(trainSeconds)}, manifest ${train.id})`);

      const mayOut = path.join(dir, '.larder', 'datasets', 'may.parquet');
      const [may, validationSeconds] = await timed(() => withProgress(io, 'validation dataset', () => store.writeDataset({ entities: rows(SPLIT, VALIDATION_END), service: SERVICE }, mayOut)));
      const { readDataset } = await import('../../pipelines/retrain/data.ts');
      const validation = await readDataset(mayOut, store.config.entityTimestampColumn, dir);
      const lateShare = lateRate(validation);
      say(`  validation dataset (${every === 1 ? 'flights' : `1 in ${every} flights`} in May): ${count(validation.numRows)} rows × ${validation.numCols} columns, ${(100 * lateShare).toFixed(1)}% late (${secs(validationSeconds)}, manifest ${may.id})`);
      say(`  most nulls in the validation set (a new route or airport has no history yet): ${nullRates(validation, features, 3)}`);
      const signal = SIGNAL.map((f) => [f, auc(validation, f)] as const).filter((e): e is readonly [string, { auc: number; rows: number }] => e[1] !== null);
      if (signal.length > 0) say(`  signal for late arrival in May, AUC of one feature alone (0.5 = none): ${signal.map(([f, s]) => `${f} ${s.auc.toFixed(3)}`).join(', ')}`);

      // Models: the retraining flow per trainer, trained on Jan–Apr and judged on May.
      const [models, modelSeconds] = await timed(() => withProgress(io, 'train', () => trainFlightModels(store, { train: train.id, holdout: may.id }, SERVICE)));
      say(`  models on May (base rate ${(100 * lateShare).toFixed(1)}% late; ${secs(modelSeconds)}):`);
      for (const m of models) {
        say(`    ${m.trainer.padEnd(7)} AUC ${(m.metrics['auc'] ?? Number.NaN).toFixed(3)}, log loss ${(m.metrics['logloss'] ?? Number.NaN).toFixed(4)}, accuracy ${(m.metrics['accuracy'] ?? Number.NaN).toFixed(3)} → ${MODEL}@${m.version} ${m.status}${m.champion ? ' (champion)' : ''}; gate ${m.gate.pass ? 'passed' : 'not passed'} (${secs(m.seconds)})`);
      }

      // Online: materialize as of the hour after the last departure, then read as serving would
      // ten minutes later (a replayed clock: the data lies in 2001).
      const asOf = new Date(Math.floor(Date.parse(data.last) / 3_600_000) * 3_600_000 + 3_600_000);
      const [materialized, materializeSeconds] = await timed(() => withProgress(io, 'materialize', () => store.materialize({ end: asOf })));
      const written = materialized.reduce((n, m) => n + m.rows, 0);
      say(`  materialize as of ${asOf.toISOString().slice(0, 16)}Z into the ${store.config.online.type} online store: ${count(written)} entity rows over ${materialized.length} views (${secs(materializeSeconds)})`);
      const readAt = new Date(asOf.getTime() + 10 * 60_000);
      const top = data.busiestRoutes.slice(0, 2);
      const requests = [
        ...top.map((r) => ({ origin: r.origin, destination: r.destination, distance: r.distance })),
        // An airport with no flights in the data: its delay features are NOT_FOUND, its facts are there.
        { origin: data.busiestOrigins[0] ?? 'ORD', destination: '00M', distance: 700 },
      ];
      const [online, readSeconds] = await timed(() => store.getOnlineFeatures({ service: SERVICE, now: readAt, entities: requests }));
      say(`  online read of ${requests.length} flights at ${readAt.toISOString().slice(0, 16)}Z, one round trip (${(readSeconds * 1000).toFixed(1)} ms):`);
      for (const line of onlineTable(online, requests.map((r) => `${r.origin}→${r.destination} ${r.distance}mi`), readAt)) say(line);

      // Serving: `larder serve` in-process, real June flights sent to /v1/predict one at a time,
      // on the same replayed clock as the online reads above.
      const june = await juneFlights(path.join(dir, 'data', 'flights.parquet'), SERVE_REQUESTS, dir);
      const [served, serveSeconds] = await timed(() => withProgress(io, 'serve', () => serveFlights(store, MODEL, june, readAt)));
      say(`  serve: ${served.url}, ${served.requests} POST /v1/predict/${MODEL} requests for June flights, one at a time: p50 ${served.p50Ms.toFixed(2)} ms, p99 ${served.p99Ms.toFixed(2)} ms (${MODEL}@${served.version}, ${served.degraded} degraded; ${secs(serveSeconds)})`);
      say(`    mean predicted probability: ${served.meanLate.toFixed(3)} for the flights that arrived late, ${served.meanOnTime.toFixed(3)} for the others`);
      for (const e of served.examples) {
        say(`    ${e.flight.origin}→${e.flight.destination} ${e.flight.distance}mi: p(late) ${e.probability === null ? '∅' : e.probability.toFixed(3)}${e.degraded ? ' (degraded: some features missing)' : ''}, ${e.features} features; it arrived ${e.flight.late ? 'late' : 'on time'}`);
      }

      const total = (performance.now() - started) / 1000;
      say(`Done in ${secs(total)}. Next: npx larder plan --project ${where}; the definitions are in ${path.join(where, 'features')}.`);
      if (io.json) {
        io.out(JSON.stringify({
          project: store.config.project, data, plan: plan.counts,
          train: { id: train.id, rows: train.rows, path: trainOut, seconds: trainSeconds },
          validation: { id: may.id, rows: validation.numRows, lateRate: lateShare, seconds: validationSeconds },
          models: { name: MODEL, baseRate: lateShare, runs: models },
          signal: Object.fromEntries(signal.map(([f, s]) => [f, s.auc])),
          materialize: { asOf: asOf.toISOString(), rows: written, views: materialized.length, seconds: materializeSeconds },
          online: { readAt: readAt.toISOString(), entities: requests, ...online },
          serve: served,
          seconds: total,
        }));
      }
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
