/**
 * @module bench/aggregations
 * Windowed aggregations benchmark (DESIGN §7): the flights example's aggregation views computed
 * by `getHistoricalFeatures` for every one of the 3M flights (entity rows = all flights, T = the
 * flight's departure), against a range join + `GROUP BY` on the same DuckDB build and settings,
 * in the same run:
 *   (a) Larder: `getHistoricalFeatures(...).toParquet()` end to end for all entity rows
 *       (entity checks, the aggregation engine of `offline/aggregate-sql.ts`, ordered output,
 *       content hash);
 *   (b) baseline: per view, entity rows joined to the source's events on the keys and
 *       `T - lag - w <= event_ts < T - lag` for the view's widest reach, then `GROUP BY` the
 *       entity row with one `FILTER`ed aggregate per feature (`groupAggregateSql`).
 * The baseline's cost grows with entity rows × events per window (≈10 min per aggregation for
 * all 3M rows here), so it runs on a seeded sample of entity rows (`--baseline-rows`, default
 * 100 000): its numbers must equal Larder's on those rows (counts exactly, floats within 1e-9
 * relative), and the two are compared in entity rows per second.
 *
 * Views: the flights example's (`fixtures/flights/features/delays.ts`, over its prepared
 * `data/flights.parquet`) when both are there, else views of the same shape built here over
 * `vega-datasets`' `flights-3m.parquet` (`--views builtin` forces them).
 *
 *   node --import tsx bench/aggregations.ts [--baseline-rows 100000] [--seed 42] [--views fixture|builtin]
 *     [--threads N] [--memory-limit 8GB] [--rows N (entity rows for Larder; default all)]
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { agg } from '../featurestore/define/aggregations.ts';
import { entity, featureView, fileSource, type FeatureViewDef } from '../featurestore/define/definitions.ts';
import { duckdbTypeOf, t, type DType } from '../featurestore/define/dtypes.ts';
import { parseDuration } from '../featurestore/define/duration.ts';
import { buildProject, viewEntities, type ProjectDefinitions } from '../featurestore/define/project.ts';
import { selectFeatures } from '../featurestore/define/selection.ts';
import { groupAggregateSql } from '../featurestore/offline/aggregate-sql.ts';
import { createDuckDBOfflineStore } from '../featurestore/offline/duckdb-store.ts';
import { sourceRelation } from '../featurestore/offline/sources.ts';
import { quoteIdent, sqlLiteral } from '../featurestore/offline/sql.ts';
import { benchArgs } from './args.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const opts = benchArgs();
const baselineRows = Number(opts['baseline-rows'] ?? 100_000);
const seed = Number(opts['seed'] ?? 42);
const threads = opts['threads'] === undefined ? undefined : Number(opts['threads']);
const memoryLimit = opts['memory-limit'] ?? '8GB';
const dataDir = join(here, '.data');
const fixtureDir = join(root, 'fixtures', 'flights');

interface Setup {
  readonly label: string;
  readonly project: ProjectDefinitions;
  readonly views: readonly FeatureViewDef[];
  readonly projectDir: string;
  /** SELECT producing the entity rows: flight_id, origin, destination, event_timestamp. */
  readonly entities: string;
}

/** The vega-datasets folder, from the package's resolved entry (never its default export, which downloads). */
function vegaFlights(): string {
  const entry = fileURLToPath(import.meta.resolve('vega-datasets'));
  let dir = dirname(entry);
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'data', 'flights-3m.parquet');
}

async function fixtureSetup(): Promise<Setup | undefined> {
  const delays = join(fixtureDir, 'features', 'delays.ts');
  const data = join(fixtureDir, 'data', 'flights.parquet');
  if (opts['views'] === 'builtin' || !existsSync(delays) || !existsSync(data)) return undefined;
  const mod = await import(delays) as Record<string, unknown>;
  const entities = await import(join(fixtureDir, 'features', 'entities.ts')) as Record<string, unknown>;
  const views = Object.values(mod).filter((v): v is FeatureViewDef => (v as FeatureViewDef)?.aggregations !== undefined);
  const sources = [...new Set(views.map((v) => v.source))];
  const { project, issues } = buildProject([...Object.values(entities), ...sources, ...views] as never);
  if (issues.length > 0) throw new Error(`fixture views: ${JSON.stringify(issues)}`);
  return {
    label: `the flights example's views (fixtures/flights/features/delays.ts)`,
    project, views, projectDir: fixtureDir,
    entities: `SELECT flight_id, origin, destination, dep_time AS event_timestamp FROM read_parquet(${sqlLiteral(data)})`,
  };
}

function builtinSetup(): Setup {
  const path = vegaFlights();
  const origin = entity('origin', { joinKeys: { origin: t.string() } });
  const route = entity('route', { joinKeys: { origin: t.string(), destination: t.string() } });
  const flights = fileSource('flights', { path, timestamp: 'date' });
  const lag = { lag: '1d' } as const;
  const views = [
    featureView('origin_delays', {
      entities: [origin], source: flights,
      aggregations: {
        origin_flights_7d: agg.count('7d', lag),
        origin_avg_delay_7d: agg.avg('delay', '7d', lag),
        origin_stddev_delay_7d: agg.stddev('delay', '7d', lag),
        origin_late_rate_28d: agg.avg('CAST(delay > 15 AS DOUBLE)', '28d', lag),
      },
    }),
    featureView('route_delays', {
      entities: [route], source: flights,
      aggregations: { route_avg_delay_28d: agg.avg('delay', '28d', lag), route_max_delay_28d: agg.max('delay', '28d', lag) },
    }),
    featureView('origin_traffic', { entities: [origin], source: flights, aggregations: { origin_departures_1h: agg.count('1h') } }),
  ];
  const { project, issues } = buildProject([origin, route, flights, ...views]);
  if (issues.length > 0) throw new Error(JSON.stringify(issues));
  return {
    label: 'built-in views of the example\'s shape over vega-datasets flights-3m.parquet',
    project, views, projectDir: dataDir,
    entities: `SELECT CAST(file_row_number + 1 AS BIGINT) AS flight_id, origin, destination, date AS event_timestamp FROM read_parquet(${sqlLiteral(path)}, file_row_number = true)`,
  };
}

/** Range join + GROUP BY for one view over the table `sample`: flight_id and the view's features. */
function baselineView(setup: Setup, view: FeatureViewDef, i: number): string {
  const keys = viewEntities(view, setup.project.entities).flatMap((e) => Object.entries(e.joinKeys).map(([name, dtype]) => ({ name, type: duckdbTypeOf(dtype) })));
  const aggregations = Object.entries(view.aggregations ?? {});
  const reach = (a: (typeof aggregations)[number][1]) => ({ lag: a.lag === undefined ? 0 : parseDuration(a.lag), w: a.window === undefined ? null : parseDuration(a.window) });
  const ts = `"ev"."__ts"`;
  const T = `"s"."event_timestamp"`;
  const at = (ms: number) => (ms === 0 ? T : `${T} - to_milliseconds(${sqlLiteral(ms)})`);
  const windowed = aggregations.map(([name, a]) => {
    const { lag, w } = reach(a);
    const where = [`${ts} < ${at(lag)}`, ...(w === null ? [] : [`${ts} >= ${at(lag + w)}`])].join(' AND ');
    const value = groupAggregateSql(a.fn, a.expr === undefined ? undefined : `"ev"."__x_${name}"`, ts, where);
    return `CAST(${value} AS ${duckdbTypeOf(view.features[name] as DType)}) AS ${quoteIdent(name)}`;
  });
  const spans = aggregations.map(([, a]) => reach(a));
  const minLag = Math.min(...spans.map((s) => s.lag));
  const maxReach = spans.some((s) => s.w === null) ? null : Math.max(...spans.map((s) => s.lag + (s.w as number)));
  const on = [...keys.map((k) => `"s".${quoteIdent(k.name)} = "ev".${quoteIdent(k.name)}`), `${ts} < ${at(minLag)}`, ...(maxReach === null ? [] : [`${ts} >= ${at(maxReach)}`])];
  const events = [
    ...keys.map((k) => `CAST(${quoteIdent(k.name)} AS ${k.type}) AS ${quoteIdent(k.name)}`),
    `CAST(${quoteIdent(view.source.timestamp)} AS TIMESTAMPTZ) AS "__ts"`,
    ...aggregations.filter(([, a]) => a.expr !== undefined).map(([name, a]) => `(${a.expr}) AS ${quoteIdent(`__x_${name}`)}`),
  ];
  return `"b${i}" AS (\n  SELECT "s"."flight_id", ${windowed.join(',\n    ')}\n  FROM "sample" AS "s"\n` +
    `  LEFT JOIN (SELECT ${events.join(', ')} FROM ${sourceRelation(view.source, setup.projectDir)}) AS "ev"\n    ON ${on.join(' AND ')}\n  GROUP BY "s"."flight_id"\n)`;
}

/** CPU seconds of the whole process (DuckDB's threads included) since `start`. */
const cpuSeconds = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return ((used.user + used.system) / 1e6).toFixed(1);
};
const secs = (ms: number) => (ms / 1000).toFixed(2);
const rate = (rows: number, ms: number) => `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s`;

async function main(): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const setup = (await fixtureSetup()) ?? builtinSetup();
  const features = setup.views.flatMap((v) => Object.keys(v.aggregations ?? {}));
  const entitiesFile = join(dataDir, 'agg-entities.parquet');
  const larderOut = join(dataDir, 'agg-larder.parquet');
  const baselineOut = join(dataDir, 'agg-baseline.parquet');

  const instance = await DuckDBInstance.create(':memory:', {
    preserve_insertion_order: 'true', memory_limit: memoryLimit, ...(threads === undefined ? {} : { threads: String(threads) }),
  });
  const con = await instance.connect();
  await con.run(`LOAD icu; SET TimeZone = 'UTC'`);
  const limit = opts['rows'] === undefined ? '' : ` LIMIT ${sqlLiteral(Number(opts['rows']))}`;
  await con.run(`COPY (${setup.entities}${limit}) TO ${sqlLiteral(entitiesFile)} (FORMAT parquet)`);
  const [{ n }] = (await con.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM read_parquet(${sqlLiteral(entitiesFile)})`)).getRowObjectsJS() as [{ n: number }];
  const cores = (await con.runAndReadAll(`SELECT current_setting('threads')::INTEGER AS t, version() AS v`)).getRowObjectsJS()[0] as { t: number; v: string };
  console.log(`Windowed aggregations: ${setup.label}`);
  console.log(`  ${setup.views.length} views, ${features.length} aggregations: ${features.join(', ')}`);
  console.log(`  entity rows: ${n.toLocaleString('en-US')} flights (T = departure); DuckDB ${cores.v}, ${cores.t} threads, memory_limit ${memoryLimit}`);

  // (a) Larder, every entity row.
  const store = await createDuckDBOfflineStore({ path: join(dataDir, 'agg.duckdb'), projectDir: setup.projectDir, memoryLimit, ...(threads === undefined ? {} : { threads }) });
  const selection = selectFeatures(setup.project, { features: setup.views.map((v) => v.name) });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const written = await store.getHistoricalFeatures({ project: setup.project, selection, entities: { path: entitiesFile } }).toParquet(larderOut);
  const larderMs = performance.now() - t0;
  const larderCpu = cpuSeconds(c0);
  await store.close();
  console.log(`  (a) Larder getHistoricalFeatures → Parquet, all ${written.rows.toLocaleString('en-US')} rows: ${secs(larderMs)} s (CPU ${larderCpu} s), ${rate(written.rows, larderMs)}`);

  // (b) Range join + GROUP BY on a seeded sample of the same entity rows.
  await con.run(`CREATE TEMP TABLE "sample" AS SELECT flight_id, origin, destination, CAST(event_timestamp AS TIMESTAMPTZ) AS event_timestamp ` +
    `FROM read_parquet(${sqlLiteral(entitiesFile)}) USING SAMPLE ${sqlLiteral(Math.min(baselineRows, n))} ROWS (reservoir, ${sqlLiteral(seed)})`);
  const [{ m }] = (await con.runAndReadAll(`SELECT count(*)::DOUBLE AS m FROM "sample"`)).getRowObjectsJS() as [{ m: number }];
  const ctes = setup.views.map((v, i) => baselineView(setup, v, i));
  const joined = setup.views.map((_, i) => `JOIN "b${i}" USING ("flight_id")`).join(' ');
  const baselineSql = `WITH ${ctes.join(',\n')}\nSELECT "flight_id", ${features.map(quoteIdent).join(', ')} FROM "sample" ${joined}`;
  const c1 = process.cpuUsage();
  const t1 = performance.now();
  await con.run(`COPY (${baselineSql}) TO ${sqlLiteral(baselineOut)} (FORMAT parquet)`);
  const baselineMs = performance.now() - t1;
  const baselineCpu = cpuSeconds(c1);
  console.log(`  (b) range join + GROUP BY, seeded sample of ${m.toLocaleString('en-US')} rows (seed ${seed}): ${secs(baselineMs)} s (CPU ${baselineCpu} s), ${rate(m, baselineMs)}` +
    ` → about ${secs((n / m) * baselineMs)} s for all ${n.toLocaleString('en-US')} rows`);

  // Same numbers on the sampled rows.
  const differs = features.map((f) => {
    const a = `"a".${quoteIdent(f)}`;
    const b = `"b".${quoteIdent(f)}`;
    return `count(*) FILTER (WHERE NOT ((${a} IS NULL AND ${b} IS NULL) OR abs(CAST(${a} AS DOUBLE) - CAST(${b} AS DOUBLE)) <= 1e-9 * greatest(1, abs(CAST(${b} AS DOUBLE)))))::DOUBLE AS ${quoteIdent(f)}`;
  });
  const check = (await con.runAndReadAll(`SELECT count(*)::DOUBLE AS "__rows", ${differs.join(', ')} FROM read_parquet(${sqlLiteral(baselineOut)}) AS "b" ` +
    `JOIN read_parquet(${sqlLiteral(larderOut)}) AS "a" USING ("flight_id")`)).getRowObjectsJS()[0] as Record<string, number>;
  const bad = features.filter((f) => check[f] !== 0);
  const sameRows = check['__rows'] === m;
  console.log(`  same numbers on the ${check['__rows']?.toLocaleString('en-US')} sampled rows: ${bad.length === 0 && sameRows ? 'yes, every feature' : `NO: ${bad.map((f) => `${f} (${check[f]} rows)`).join(', ') || 'row count differs'}`}`);
  const speedup = (written.rows / larderMs) / (m / baselineMs);
  const cpuSpeedup = (written.rows / Number(larderCpu)) / (m / Number(baselineCpu));
  console.log(`  speedup in entity rows/s: ${speedup.toFixed(1)}× by wall time, ${cpuSpeedup.toFixed(1)}× by CPU time (target ≥ 5×)`);
  con.closeSync();
  instance.closeSync();
  for (const f of [entitiesFile, larderOut, baselineOut]) rmSync(f, { force: true });
  if (bad.length > 0 || !sameRows) process.exitCode = 1;
}

await main();
