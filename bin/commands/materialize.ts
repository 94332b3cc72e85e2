import type { MaterializeProgress, MaterializeResult } from '../../featurestore/materialize.ts';
import { openStore } from '../../featurestore/store.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError, type Io } from '../output.ts';

const USAGE = `Usage: larder materialize [--start T] [--end T] [--views A,B] [--project DIR] [--json]
       larder materialize --incremental [--end T] [--views A,B] [--project DIR] [--json]

Writes the latest feature values to the online store: per entity of each view, the latest row
with start <= event time <= end (the point-in-time value at end). Without --start, all history.
--incremental continues each view from where its last incremental run ended (the first run
starts at end - ttl, or all history for a view without a ttl).
T is an ISO 8601 instant (2026-03-01T12:00:00Z; no zone means UTC; a date means its midnight
UTC). Default end: now. --batch-rows N sets rows per online write (default 50000).`;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** An ISO 8601 instant; naive times are UTC (DESIGN §4). */
export function parseInstant(text: string, flag: string): Date {
  const naive = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text.trim());
  const date = new Date(naive ? `${text.trim().replace(' ', 'T')}Z` : text.trim());
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim()) || Number.isNaN(date.getTime())) {
    throw usageError(`${flag} ${JSON.stringify(text)} is not an ISO 8601 timestamp such as 2026-03-01T12:00:00Z\n${USAGE}`);
  }
  return date;
}

function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A one-line progress display on stderr, redrawn at most every 100 ms. */
function progressLine(io: Io): { update: (p: MaterializeProgress) => void; done: () => void } {
  if (!io.tty) return { update: () => undefined, done: () => undefined };
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      const now = performance.now();
      if (p.rows < p.total && now - last < 100) return;
      last = now;
      drawn = true;
      const eta = p.etaSeconds === null ? '' : `  ETA ${p.etaSeconds.toFixed(1)}s`;
      process.stderr.write(`\r\x1b[2K${p.view}: ${formatCount(p.rows)}/${formatCount(p.total)} rows  ${formatCount(p.rowsPerSecond)} rows/s${eta}`);
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[2K');
    },
  };
}

function describe(r: MaterializeResult): string {
  const range = `${r.start === null ? 'all history' : r.start.toISOString()} → ${r.end.toISOString()}`;
  return `  ${r.view}: ${formatCount(r.rows)} rows in ${r.seconds.toFixed(2)} s (${formatCount(r.rowsPerSecond)} rows/s; ${formatCount(r.written)} written, ` +
    `${formatCount(r.skippedOlder)} older than online), ${range}`;
}

export const materializeCommand: Command = {
  summary: 'write the latest feature values to the online store',
  usage: USAGE,
  options: {
    start: { type: 'string' },
    end: { type: 'string' },
    views: { type: 'string' },
    incremental: { type: 'boolean' },
    'batch-rows': { type: 'string' },
  },
  async run({ io, projectDir, values }: CommandContext): Promise<number> {
    const incremental = values.incremental === true;
    const startText = str(values.start);
    if (incremental && startText !== undefined) throw usageError(`--incremental takes no --start: it continues from each view's watermark\n${USAGE}`);
    const start = startText === undefined ? null : parseInstant(startText, '--start');
    const endText = str(values.end);
    const end = endText === undefined ? new Date() : parseInstant(endText, '--end');
    const views = str(values.views)?.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
    const batchText = str(values['batch-rows']);
    const batchRows = batchText === undefined ? undefined : Number(batchText);
    if (batchRows !== undefined && (!Number.isSafeInteger(batchRows) || batchRows <= 0)) throw usageError(`--batch-rows must be a positive integer\n${USAGE}`);

    const store = await openStore({ dir: projectDir });
    const progress = progressLine(io);
    const controller = new AbortController();
    const onSignal = (): void => controller.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    try {
      const common = {
        ...(views === undefined ? {} : { views }),
        ...(batchRows === undefined ? {} : { batchRows }),
        ...(io.tty ? { onProgress: progress.update } : {}),
        signal: controller.signal,
      };
      const results = incremental
        ? await store.materializeIncremental({ end, ...common })
        : await store.materialize({ start, end, ...common });
      progress.done();
      if (io.json) io.out(JSON.stringify(results, null, 2));
      else {
        const rows = results.reduce((sum, r) => sum + r.rows, 0);
        io.out(`Materialized ${formatCount(rows)} rows from ${results.length} view(s)${incremental ? ' (incremental)' : ''}:`);
        for (const r of results) io.out(describe(r));
      }
      return EXIT.ok;
    } finally {
      progress.done();
      process.off('SIGINT', onSignal);
      await store.close();
    }
  },
};
