/**
 * @module bench/pit
 * Point-in-time dataset benchmark (DESIGN §7). In one run, on the same data and the same
 * DuckDB version and settings, it times:
 *   (a) Larder: `getHistoricalFeatures(...).toParquet()` end to end (entity checks, the ASOF
 *       query with ttl and createdTimestamp semantics, ordered output, content hash);
 *   (b) the bare DuckDB ASOF query alone: one plain `ASOF LEFT JOIN` per view on event time,
 *       written to Parquet unordered — no ttl, no created-time rule, no ordering, no hash;
 *   (c) the range join + ROW_NUMBER SQL Feast generates for the same request: per view, entity
 *       rows joined to source rows on key and `event_ts <= T` (and `>= T - ttl`), the latest
 *       kept with `ROW_NUMBER() OVER (PARTITION BY entity row ORDER BY event_ts DESC,
 *       created DESC) = 1`, then left-joined back. For the view with a createdTimestamp the
 *       join also requires `created_ts <= T`, so that it computes DESIGN §4 like (a).
 * (a) and (c) must produce byte-identical content (equal content hashes).
 *
 * Data (generated with DuckDB SQL into bench/.data/, reused across runs): 3 feature views of
 * 5 float features each, every view's source holding `rows-per-entity` daily snapshots of
 * each entity (created 0–2 h after the event); one view has a ttl, one a createdTimestamp.
 * Shapes: `deep` = 50k entities × 200 rows (10M rows per source), `wide` = 1M entities × 10.
 *
 *   node --import tsx bench/pit.ts [--shape deep|wide|both] [--entity-rows 1000000]
 *     [--threads N] [--memory-limit 8GB] [--repeat 3] [--skip-feast] [--created no]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { entity, featureView, fileSource } from '../featurestore/define/definitions.ts';
import { t } from '../featurestore/define/dtypes.ts';
import { formatDuration } from '../featurestore/define/duration.ts';
import { buildProject } from '../featurestore/define/project.ts';
import { selectFeatures } from '../featurestore/define/selection.ts';
import { createDuckDBOfflineStore } from '../featurestore/offline/duckdb-store.ts';
import { quoteIdent, sqlLiteral } from '../featurestore/offline/sql.ts';
import { benchArgs } from './args.ts';

const DAY_MS = 86_400_000;
const FEATURES = 5;

interface Shape { name: string; entities: number; rowsPerEntity: number; entityRows: number }
interface View { name: string; prefix: string; ttlMs?: number; created: boolean; file: string }


const here = dirname(fileURLToPath(import.meta.url));
const opts = benchArgs();
const threads = opts['threads'] === undefined ? undefined : Number(opts['threads']);
const memoryLimit = opts['memory-limit'] ?? '8GB';
const repeat = Number(opts['repeat'] ?? 3);
const entityRows = Number(opts['entity-rows'] ?? 1_000_000);
/** `--created no` drops the createdTimestamp from the third view: the request then needs no more than (b) computes. */
const withCreated = (opts['created'] ?? 'yes') !== 'no';
const shapes: Shape[] = [
  { name: 'deep', entities: Number(opts['entities'] ?? 50_000), rowsPerEntity: Number(opts['rows-per-entity'] ?? 200), entityRows },
  { name: 'wide', entities: 1_000_000, rowsPerEntity: 10, entityRows },
].filter((s) => (opts['shape'] ?? 'both') === 'both' || s.name === opts['shape']);

function viewsOf(shape: Shape, dir: string): View[] {
  return [
    { name: 'fv_a', prefix: 'a', created: false, file: join(dir, 'src_a.parquet') },
    { name: 'fv_b', prefix: 'b', created: false, ttlMs: Math.max(1, Math.round(shape.rowsPerEntity / 4)) * DAY_MS, file: join(dir, 'src_b.parquet') },
    { name: 'fv_c', prefix: 'c', created: withCreated, file: join(dir, 'src_c.parquet') },
  ];
}

const feats = (v: View) => Array.from({ length: FEATURES }, (_, i) => `${v.prefix}_f${i + 1}`);

/** Writes sources and entity rows with DuckDB SQL (no data passes through JS). */
async function generate(shape: Shape, dir: string): Promise<void> {
  const done = join(dir, 'DONE');
  if (existsSync(done)) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:', { memory_limit: memoryLimit, temp_directory: join(dir, '.tmp') });
  const c = await instance.connect();
  await c.run(`LOAD icu; SET TimeZone = 'UTC'`);
  const started = performance.now();
  for (const [k, view] of viewsOf(shape, dir).entries()) {
    const values = feats(view).map((f, i) => `(hash(e, d, ${k}, ${i}) % 1000000) / 1000000.0 AS ${quoteIdent(f)}`).join(', ');
    // One snapshot per entity and day at a random time of day, created 0-2 h later; appended day by day.
    await c.run(`COPY (
      SELECT e AS entity_id,
             TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_days(d::INTEGER) + to_seconds((hash(e, d, ${k}) % 86400)::BIGINT) AS event_ts,
             event_ts + to_seconds((hash(d, e, ${k}) % 7200)::BIGINT) AS created_ts,
             ${values}
      FROM range(${shape.rowsPerEntity}) b(d), range(${shape.entities}) a(e)
      ORDER BY d, e
    ) TO ${sqlLiteral(view.file)} (FORMAT parquet)`);
  }
  const span = BigInt(shape.rowsPerEntity) * 86_400_000_000n;
  await c.run(`COPY (
    SELECT (hash(i, 'entity') % ${shape.entities})::BIGINT AS entity_id,
           TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_microseconds((hash(i, 'time') % ${span})::BIGINT) AS event_timestamp,
           i AS label
    FROM range(${shape.entityRows}) t(i)
  ) TO ${sqlLiteral(join(dir, 'entities.parquet'))} (FORMAT parquet)`);
  c.closeSync();
  instance.closeSync();
  rmSync(join(dir, '.tmp'), { recursive: true, force: true });
  writeFileSync(done, new Date().toISOString());
  console.log(`  generated ${shape.name} data in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

function bareAsofSql(views: View[], entities: string, out: string): string {
  const select = views.flatMap((v) => feats(v).map((f) => `${v.prefix}.${quoteIdent(f)}`));
  const joins = views.map((v) => `ASOF LEFT JOIN read_parquet(${sqlLiteral(v.file)}) ${v.prefix} ON e.entity_id = ${v.prefix}.entity_id AND e.event_timestamp >= ${v.prefix}.event_ts`);
  return `COPY (SELECT e.*, ${select.join(', ')} FROM read_parquet(${sqlLiteral(entities)}) e\n${joins.join('\n')}) TO ${sqlLiteral(out)} (FORMAT parquet)`;
}

/** Feast's point-in-time template, for DuckDB: range join, ROW_NUMBER() = 1, join back. */
function feastSql(views: View[], entities: string, out: string): string {
  const ctes = [`entity_dataframe AS (SELECT *, row_number() OVER () AS entity_row_unique_id FROM read_parquet(${sqlLiteral(entities)}))`];
  for (const v of views) {
    const conditions = ['s.entity_id = e.entity_id', 's.event_ts <= e.event_timestamp'];
    if (v.ttlMs !== undefined) conditions.push(`s.event_ts >= e.event_timestamp - to_milliseconds(${v.ttlMs})`);
    if (v.created) conditions.push('s.created_ts <= e.event_timestamp');
    const order = v.created ? 'event_ts DESC, created_ts DESC' : 'event_ts DESC';
    ctes.push(`${v.name}__base AS (
  SELECT e.entity_row_unique_id, s.event_ts, s.created_ts, ${feats(v).map((f) => `s.${f}`).join(', ')}
  FROM entity_dataframe e INNER JOIN read_parquet(${sqlLiteral(v.file)}) s ON ${conditions.join(' AND ')}
)`);
    ctes.push(`${v.name}__latest AS (
  SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY entity_row_unique_id ORDER BY ${order}) AS row_number FROM ${v.name}__base)
  WHERE row_number = 1
)`);
  }
  const select = views.flatMap((v) => feats(v).map((f) => `${v.name}.${f}`));
  const joins = views.map((v) => `LEFT JOIN ${v.name}__latest ${v.name} ON e.entity_row_unique_id = ${v.name}.entity_row_unique_id`);
  return `COPY (WITH ${ctes.join(',\n')}
SELECT e.* EXCLUDE (entity_row_unique_id), ${select.join(', ')}
FROM entity_dataframe e
${joins.join('\n')}
ORDER BY e.entity_row_unique_id) TO ${sqlLiteral(out)} (FORMAT parquet)`;
}

/** Wall time, and this process's CPU time (all DuckDB threads): the latter barely moves when other work shares the cores. */
async function time<T>(work: () => Promise<T>): Promise<{ seconds: number; cpu: number; value: T }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const value = await work();
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6, value };
}

const rssMB = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function runShape(shape: Shape): Promise<void> {
  const dir = resolve(here, '.data', `${shape.name}-${shape.entities}x${shape.rowsPerEntity}-${shape.entityRows}`);
  if (!existsSync(join(dir, 'DONE'))) {
    // A child process generates the data, so this process's peak RSS is the benchmark's alone.
    execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2), '--generate', dir, '--shape', shape.name], { stdio: 'inherit' });
  }
  const views = viewsOf(shape, dir);
  const entitiesFile = join(dir, 'entities.parquet');
  const outDir = join(dir, 'out');
  mkdirSync(outDir, { recursive: true });

  const key = entity('entity', { joinKeys: { entity_id: t.int64() } });
  const defs: unknown[] = [key];
  for (const v of views) {
    const source = fileSource(`${v.name}_source`, { path: v.file, timestamp: 'event_ts', ...(v.created ? { createdTimestamp: 'created_ts' } : {}) });
    defs.push(source, featureView(v.name, {
      entities: [key], source, ...(v.ttlMs === undefined ? {} : { ttl: formatDuration(v.ttlMs) }),
      features: Object.fromEntries(feats(v).map((f) => [f, t.float64()])),
    }));
  }
  const { project, issues } = buildProject(defs as never);
  if (issues.length > 0) throw new Error(JSON.stringify(issues));
  const selection = selectFeatures(project, { features: views.map((v) => v.name) });
  const settings = { ...(threads === undefined ? {} : { threads }), memoryLimit };
  const store = await createDuckDBOfflineStore({ path: join(dir, 'offline.duckdb'), projectDir: dir, ...settings });
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: memoryLimit, temp_directory: join(dir, '.tmp-bare'), ...(threads === undefined ? {} : { threads: String(threads) }),
  });
  const c: DuckDBConnection = await instance.connect();
  await c.run(`LOAD icu; SET TimeZone = 'UTC'`);
  const [{ threads: used } = { threads: '?' }] = (await c.runAndReadAll(`SELECT current_setting('threads') AS threads`)).getRowObjectsJS() as { threads: unknown }[];

  console.log(`\n## ${shape.name}${withCreated ? '' : ' (no createdTimestamp view)'}: ${shape.entityRows.toLocaleString()} entity rows × ${views.length} views × ` +
    `${(shape.entities * shape.rowsPerEntity).toLocaleString()} source rows each (${shape.entities.toLocaleString()} entities × ${shape.rowsPerEntity} rows), threads ${String(used)}`);
  // (a) and (b) alternate, best of `repeat` each, so a busy moment on the machine hits both alike.
  const runA = () => store.getHistoricalFeatures({ project, selection, entities: entitiesFile }).toParquet(join(outDir, 'a.parquet'));
  const runB = () => c.run(bareAsofSql(views, entitiesFile, join(outDir, 'b.parquet')));
  const a = { seconds: Infinity, cpu: Infinity, value: undefined as unknown };
  const b = { seconds: Infinity, cpu: Infinity };
  for (let i = 0; i < repeat; i++) {
    const ra = await time(runA);
    console.log(`  (a) larder toParquet : ${ra.seconds.toFixed(2)} s, CPU ${ra.cpu.toFixed(2)} s (peak RSS so far ${rssMB()} MB)`);
    if (ra.seconds < a.seconds) Object.assign(a, { seconds: ra.seconds, value: ra.value });
    a.cpu = Math.min(a.cpu, ra.cpu);
    const rb = await time(runB);
    console.log(`  (b) bare ASOF query  : ${rb.seconds.toFixed(2)} s, CPU ${rb.cpu.toFixed(2)} s (peak RSS so far ${rssMB()} MB)`);
    b.seconds = Math.min(b.seconds, rb.seconds);
    b.cpu = Math.min(b.cpu, rb.cpu);
  }
  const hashA = a.value as { rows: number; contentHash: string };
  let line = `| ${shape.name} | ${shape.entities.toLocaleString()} × ${shape.rowsPerEntity} | ${withCreated ? 'yes' : 'no'} | ` +
    `${a.seconds.toFixed(2)} s (CPU ${a.cpu.toFixed(1)}) | ${b.seconds.toFixed(2)} s (CPU ${b.cpu.toFixed(1)}) | ${(a.seconds / b.seconds).toFixed(2)}× (CPU ${(a.cpu / b.cpu).toFixed(2)}×) |`;
  if (opts['skip-feast'] === undefined) {
    const cRun = await time(() => c.run(feastSql(views, entitiesFile, join(outDir, 'c.parquet'))));
    console.log(`  (c) Feast range join : ${cRun.seconds.toFixed(2)} s, CPU ${cRun.cpu.toFixed(2)} s (peak RSS so far ${rssMB()} MB)`);
    const hashC = await store.contentHashOf(join(outDir, 'c.parquet'));
    const same = hashC.contentHash === hashA.contentHash && hashC.rows === hashA.rows;
    console.log(`  (a) and (c) content: ${same ? 'identical' : 'DIFFERENT'} (${hashA.rows} rows, ${hashA.contentHash.slice(0, 16)}…)`);
    if (!same) process.exitCode = 1;
    line += ` ${cRun.seconds.toFixed(2)} s (CPU ${cRun.cpu.toFixed(1)}) | ${(cRun.seconds / a.seconds).toFixed(2)}× (CPU ${(cRun.cpu / a.cpu).toFixed(2)}×) | ${same ? 'yes' : 'NO'} |`;
  }
  console.log(`  peak RSS ${rssMB()} MB`);
  console.log(`\n| shape | entities × rows | created view | (a) Larder | (b) bare ASOF | (a)/(b) | (c) Feast SQL | (c)/(a) | same result |\n|---|---|---|---|---|---|---|---|---|\n${line}`);
  c.closeSync();
  instance.closeSync();
  rmSync(join(dir, '.tmp-bare'), { recursive: true, force: true });
  await store.close();
}

if (opts['generate'] !== undefined) {
  const shape = shapes.find((s) => s.name === opts['shape']) as Shape;
  await generate(shape, opts['generate']);
} else {
  console.log(`# bench/pit.ts — node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
  for (const shape of shapes) await runShape(shape);
}
