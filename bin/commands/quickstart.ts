import path from 'node:path';
import type { Table } from 'apache-arrow';
import { openStore } from '../../featurestore/store.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT } from '../output.ts';
import { withProgress } from '../progress.ts';
import { EXAMPLE_DIR } from './init.ts';

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, (performance.now() - started) / 1000];
}

function nullRates(table: Table, columns: readonly string[]): string[] {
  return columns.map((name) => {
    const column = table.getChild(name);
    const nulls = column?.nullCount ?? table.numRows;
    return `    ${name.padEnd(16)} ${((100 * nulls) / Math.max(1, table.numRows)).toFixed(1).padStart(5)}% null`;
  });
}

function preview(table: Table, columns: readonly string[], n: number): string[] {
  const rows = table.slice(0, n).toArray() as Record<string, unknown>[];
  const show = (v: unknown): string => (v === null || v === undefined ? '∅'
    : v instanceof Date ? v.toISOString().slice(0, 16)
      : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3)
        : typeof v === 'bigint' ? v.toString() : String(v));
  const header = columns.map((c) => c.slice(0, 14).padEnd(14)).join(' ');
  const lines = rows.map((r) => columns.map((c) => {
    const v = r[c];
    return show(typeof v === 'number' && c.endsWith('timestamp') ? new Date(v) : v).slice(0, 14).padEnd(14);
  }).join(' '));
  return [`    ${header}`, ...lines.map((l) => `    ${l}`)];
}

export const quickstartCommand: Command = {
  summary: 'run the example project end to end: apply, datasets, rebuild check, materialize, online reads',
  usage: 'Usage: larder quickstart [--project DIR]  (default: the bundled example in fixtures/example)',
  options: {},
  async run({ io, values }: CommandContext): Promise<number> {
    const dir = typeof values.project === 'string' ? path.resolve(values.project) : EXAMPLE_DIR;
    const started = performance.now();
    const [store, openSeconds] = await timed(() => openStore({ dir }));
    try {
      const say = (line = ''): void => { if (!io.json) io.out(line); };
      say(`Larder quickstart: project "${store.config.project}" in ${path.relative(process.cwd(), dir) || '.'}`);
      say(`  loaded ${store.modules.length} modules: ${store.project.views.size} feature views, ${store.project.onDemandViews.size} on-demand views, ${store.project.services.size} services (${openSeconds.toFixed(2)} s)`);
      const [plan, applySeconds] = await timed(() => withProgress(io, 'apply', () => store.apply()));
      say(`  apply: ${plan.counts.add} added, ${plan.counts.change} changed, ${plan.counts.remove} removed, ${plan.counts.unchanged} unchanged (${applySeconds.toFixed(2)} s)`);

      const trips = sqlString(path.join(dir, 'data', 'trips.parquet'));
      const split = "TIMESTAMP '2026-03-08'";
      const trainOut = path.join(dir, '.larder', 'datasets', 'train.parquet');
      const [train, trainSeconds] = await timed(() => withProgress(io, 'training dataset', () => store.writeDataset({
        entities: { sql: `SELECT * FROM read_parquet(${trips}) WHERE event_timestamp < ${split} ORDER BY trip_id` },
        service: 'ride_model',
      }, trainOut)));
      say(`  training dataset (trips before 2026-03-08): ${train.rows.toLocaleString('en-US')} rows → ${path.relative(process.cwd(), trainOut)} (${trainSeconds.toFixed(2)} s, manifest ${train.id})`);

      const job = store.getHistoricalFeatures({
        entities: { sql: `SELECT * FROM read_parquet(${trips}) WHERE event_timestamp >= ${split} ORDER BY trip_id` },
        service: 'ride_model',
      });
      const [validation, validationSeconds] = await timed(() => withProgress(io, 'validation dataset', () => job.toArrow()));
      const features = (train.columns as { name: string }[] | undefined)?.map((c) => c.name) ?? [];
      say(`  validation dataset (from 2026-03-08), as Arrow in memory: ${validation.numRows.toLocaleString('en-US')} rows × ${validation.numCols} columns (${validationSeconds.toFixed(2)} s)`);
      say('  feature null rates in the validation set (missing keys, ttl expiry, late-arriving rows):');
      for (const line of nullRates(validation, features)) say(line);
      say('  first rows:');
      for (const line of preview(validation, ['trip_id', 'driver_id', ...features.slice(0, 5), 'completed'], 3)) say(line);

      const rebuildOut = path.join(dir, '.larder', 'datasets', 'train.rebuild.parquet');
      const [rebuilt, rebuildSeconds] = await timed(() => withProgress(io, 'rebuild check', () => store.rebuildDataset(train.id, rebuildOut)));
      say(`  rebuild of ${train.id}: ${rebuilt.identical ? 'identical content' : 'DIFFERENT content'} (${rebuilt.contentHash.slice(0, 16)}…, ${rebuildSeconds.toFixed(2)} s)`);
      // Online: materialize the state as of the split, then read it back as serving would
      // at 00:30 that day (a replayed clock: the example data lies in the past).
      const asOf = new Date('2026-03-08T00:00:00Z');
      const [materialized, materializeSeconds] = await timed(() => withProgress(io, 'materialize', () => store.materialize({ end: asOf })));
      const written = materialized.reduce((n, m) => n + m.rows, 0);
      say(`  materialize as of ${asOf.toISOString()} into the ${store.config.online.type} online store: ${written.toLocaleString('en-US')} entity rows over ${materialized.length} views (${materializeSeconds.toFixed(2)} s)`);
      const readAt = new Date('2026-03-08T00:30:00Z');
      const [online, readSeconds] = await timed(() => store.getOnlineFeatures({
        service: 'ride_model',
        now: readAt,
        entities: [
          { driver_id: 12, rider_id: 'r0042', pickup_zone: 'z1', dropoff_zone: 'z3', requested_at: readAt, distance_km: 4.2 },
          { driver_id: 999, rider_id: 'r9999', pickup_zone: 'z2', dropoff_zone: 'z2', requested_at: readAt, distance_km: 12 },
        ],
      }));
      say(`  online read of 2 requests at ${readAt.toISOString()} (${(readSeconds * 1000).toFixed(1)} ms):`);
      for (const [i, row] of online.rows.entries()) {
        const cells = online.features.map((f) => {
          const v = row.values[f];
          const shown = typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v);
          return `${f}=${shown} ${row.statuses[f]}`;
        });
        say(`    #${i + 1} ${cells.join(', ')}`);
      }
      const total = (performance.now() - started) / 1000;
      say(`Done in ${total.toFixed(1)} s. Next: npx larder plan --project ${path.relative(process.cwd(), dir) || '.'}`);
      if (io.json) {
        io.out(JSON.stringify({ project: store.config.project, plan: plan.counts, train: { id: train.id, rows: train.rows, path: trainOut }, validation: { rows: validation.numRows }, rebuildIdentical: rebuilt.identical, seconds: total }));
      }
      return rebuilt.identical ? EXIT.ok : EXIT.failure;
    } finally {
      await store.close();
    }
  },
};
