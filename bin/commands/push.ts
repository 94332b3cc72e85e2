/**
 * @module commands/push
 * `larder push`: pushes rows from a JSON file (or stdin) to a push source, online, offline or both.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { text } from 'node:stream/consumers';
import { larderError, reasonOf } from '../../errors.ts';
import type { PushTarget } from '../../featurestore/push.ts';
import { openStore } from '../../featurestore/store.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError } from '../output.ts';

const USAGE = `Usage: larder push --source NAME --rows FILE.json|- [--to online|offline|both] [--project DIR] [--json]

Pushes rows to a push source: a JSON array of objects (or one object per line), from a file or
stdin (-). Timestamps may be ISO 8601 text. Every row is checked against the source's schema
first; a bad batch writes nothing and lists every problem. --to online (default) writes the
views on the source; offline appends a Parquet file under .larder/push/<source>/; both does both.`;

/** Rows from JSON text: an array, one object, or one object per line. */
export function parseRows(content: string, where: string): unknown[] {
  try {
    const parsed: unknown = JSON.parse(content);
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch (error) {
    const lines = content.split('\n').filter((l) => l.trim().length > 0);
    if (lines.length < 2) throw usageError(`${where} is not JSON: ${reasonOf(error)}`);
    return lines.map((line, i) => {
      try { return JSON.parse(line) as unknown; } catch (e) { throw usageError(`${where} line ${i + 1} is not JSON: ${reasonOf(e)}`); }
    });
  }
}

export const pushCommand: Command = {
  summary: 'push rows (JSON) to a push source, online and/or offline',
  usage: USAGE,
  options: {
    source: { type: 'string' },
    rows: { type: 'string' },
    to: { type: 'string' },
  },
  async run({ io, projectDir, values }: CommandContext): Promise<number> {
    const source = typeof values.source === 'string' && values.source.length > 0 ? values.source : undefined;
    const file = typeof values.rows === 'string' && values.rows.length > 0 ? values.rows : undefined;
    if (source === undefined || file === undefined) throw usageError(`--source and --rows are required\n${USAGE}`);
    const to = (values.to ?? 'online') as PushTarget;
    if (to !== 'online' && to !== 'offline' && to !== 'both') throw usageError(`--to must be online, offline or both\n${USAGE}`);
    const path = file === '-' ? 'stdin' : resolve(projectDir, file);
    const content = file === '-' ? await text(process.stdin) : await readFile(path, 'utf8').catch((error: unknown) => {
      throw larderError('LARDER_E_IO', { path, reason: reasonOf(error) }, { cause: error });
    });
    const rows = parseRows(content, path);
    const store = await openStore({ dir: projectDir });
    try {
      const result = await store.push(source, rows as Record<string, unknown>[], { to });
      if (io.json) io.out(JSON.stringify(result, null, 2));
      else {
        io.out(`Pushed ${result.rows} row(s) to ${result.source}`);
        for (const v of result.online ?? []) io.out(`  online ${v.view}: ${v.written} written, ${v.skippedOlder} older than stored (unchanged)`);
        if (result.offline) io.out(`  offline: ${result.offline.path}`);
      }
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
