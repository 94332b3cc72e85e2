/**
 * @module commands/get
 * `larder get`: online feature values of some entities, as a readable table or (`--json`) the
 * `/v1/features` response shape.
 */
import { formatDuration } from '../../featurestore/define/duration.ts';
import type { OnlineFeaturesResponse } from '../../featurestore/online-read.ts';
import { openStore } from '../../featurestore/store.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError } from '../output.ts';

const USAGE = `Usage: larder get (--service NAME | --features VIEW:FEATURE,…) --entity k=v [--entity …]
                  [--full-feature-names] [--project DIR] [--json]

Reads the latest feature values of each entity from the online store. Each --entity is one row:
k=v for a single join key, or a JSON object for composite keys and request fields, e.g.
  --entity driver_id=1001 --entity '{"pickup_zone":"A","dropoff_zone":"B","distance_km":3.2}'
Values are converted to the declared key and field types. Statuses: PRESENT, NULL_VALUE,
NOT_FOUND, OUTSIDE_MAX_AGE (older than the view's ttl), DEFAULTED (missing; the declared default).`;

/** One `--entity` flag as an entity row. */
export function parseEntityFlag(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try { parsed = JSON.parse(trimmed); } catch (error) {
      throw usageError(`--entity ${text}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw usageError(`--entity ${text}: give a JSON object`);
    return parsed as Record<string, unknown>;
  }
  const eq = text.indexOf('=');
  if (eq <= 0) throw usageError(`--entity ${JSON.stringify(text)}: write key=value or a JSON object`);
  return { [text.slice(0, eq).trim()]: text.slice(eq + 1) };
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function age(eventTs: Date | null, now: number): string {
  if (eventTs === null) return '-';
  const ms = now - eventTs.getTime();
  if (ms < 0) return `${formatDuration(Math.round(-ms / 1000) * 1000)} ahead`;
  return ms < 1000 ? `${ms}ms` : formatDuration(Math.round(ms / 1000) * 1000);
}

/** The response as one small table per entity row. */
export function formatOnlineTable(response: OnlineFeaturesResponse, entities: readonly Record<string, unknown>[], now: number): string {
  const lines: string[] = [];
  response.rows.forEach((row, r) => {
    const entity = Object.entries(entities[r] ?? {}).map(([k, v]) => `${k}=${shown(v)}`).join(' ');
    if (r > 0) lines.push('');
    lines.push(`entity ${r + 1}: ${entity}`);
    const table = [['feature', 'value', 'status', 'age'], ...response.features.map((f) => [
      f, shown(row.values[f]), row.statuses[f] ?? '', age(row.eventTimestamps[f] ?? null, now),
    ])];
    const widths = [0, 1, 2].map((c) => Math.max(...table.map((cells) => (cells[c] ?? '').length)));
    for (const cells of table) lines.push(`  ${cells.map((cell, c) => (c < 3 ? cell.padEnd(widths[c] ?? 0) : cell)).join('  ')}`.trimEnd());
  });
  return lines.join('\n');
}

export const getCommand: Command = {
  summary: 'read online feature values of entities (values, statuses, ages)',
  usage: USAGE,
  options: {
    service: { type: 'string' },
    features: { type: 'string' },
    entity: { type: 'string', multiple: true, short: 'e' },
    'full-feature-names': { type: 'boolean' },
  },
  async run({ io, projectDir, values }: CommandContext): Promise<number> {
    const service = typeof values.service === 'string' && values.service.length > 0 ? values.service : undefined;
    const features = typeof values.features === 'string'
      ? values.features.split(',').map((f) => f.trim()).filter((f) => f.length > 0) : undefined;
    if ((service === undefined) === (features === undefined || features.length === 0)) throw usageError(`give exactly one of --service and --features\n${USAGE}`);
    const flags = Array.isArray(values.entity) ? values.entity : [];
    if (flags.length === 0) throw usageError(`give at least one --entity\n${USAGE}`);
    const entities = flags.map(parseEntityFlag);
    const store = await openStore({ dir: projectDir });
    try {
      const now = Date.now();
      const response = await store.getOnlineFeatures({
        ...(service === undefined ? {} : { service }),
        ...(features === undefined ? {} : { features }),
        entities, fullFeatureNames: values['full-feature-names'] === true, now,
      });
      io.out(io.json ? JSON.stringify(response, null, 2) : formatOnlineTable(response, entities, now));
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
