/**
 * @module registry/format
 * The readable form of a {@link Plan}, as `larder plan` and `larder apply` print it:
 *
 * ```
 * + featureView origin_daily (v1)
 * ~ featureView origin_delays v1 → v2
 *     features.avg_delay.kind: "float32" → "float64"
 * - entity old (v3)
 *
 * Plan: 1 to add, 1 to change, 1 to remove.
 * ```
 * Unchanged definitions are not listed. Values are JSON; a field that is new or gone shows as
 * `(none)`; values longer than {@link MAX_VALUE_CHARS} are cut with `…` (`--json` has them whole).
 */
import type { Plan, PlanEntry } from './types.ts';

export const MAX_VALUE_CHARS = 200;

const ANSI = { green: '\u001b[32m', yellow: '\u001b[33m', red: '\u001b[31m', reset: '\u001b[0m' } as const;

function formatValue(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function entryLines(entry: PlanEntry): string[] {
  const label = `${entry.kind} ${entry.name}`;
  switch (entry.action) {
    case 'add':
      return [`+ ${label} (v${entry.toVersion ?? '?'})`];
    case 'remove':
      return [`- ${label} (v${entry.fromVersion ?? '?'})`];
    case 'change':
      return [
        `~ ${label} v${entry.fromVersion ?? '?'} → v${entry.toVersion ?? '?'}`,
        ...(entry.changes ?? []).map((c) => `    ${c.path === '' ? '(whole spec)' : c.path}: ${formatValue(c.before)} → ${formatValue(c.after)}`),
      ];
    case 'unchanged':
      return [];
  }
}

function paint(line: string, color: boolean): string {
  if (!color) return line;
  const tint = line.startsWith('+') ? ANSI.green : line.startsWith('~') ? ANSI.yellow : line.startsWith('-') ? ANSI.red : undefined;
  return tint === undefined ? line : `${tint}${line}${ANSI.reset}`;
}

/**
 * The plan as text, ending with a summary line (`Plan: 1 to add, 0 to change, 0 to remove.` or
 * `No changes.`). With `color`, action lines are green/yellow/red for add/change/remove.
 */
export function formatPlan(plan: Plan, options: { color?: boolean } = {}): string {
  if (!plan.hasChanges) return 'No changes.';
  const color = options.color ?? false;
  const lines = plan.entries.flatMap(entryLines).map((line) => paint(line, color));
  const { add, change, remove } = plan.counts;
  return [...lines, '', `Plan: ${add} to add, ${change} to change, ${remove} to remove.`].join('\n');
}
