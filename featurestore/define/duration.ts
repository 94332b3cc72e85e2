import { larderError } from '../../errors.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses a duration such as `'30m'`, `'7d'` or `'1h30m'` into milliseconds.
 * @example parseDuration('2d') // 172800000
 */
export function parseDuration(value: string): number {
  // Definitions may come from plain JavaScript, where `ttl: 3600` type-checks nothing.
  if (typeof value !== 'string') throw larderError('LARDER_E_INVALID_DURATION', { value: String(value) });
  const text = value.trim();
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let end = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text)) !== null) {
    total += Number(match[1]) * (UNITS[match[2] ?? ''] ?? Number.NaN);
    end = re.lastIndex;
  }
  if (text.length === 0 || end !== text.length || !Number.isFinite(total)) {
    throw larderError('LARDER_E_INVALID_DURATION', { value: JSON.stringify(value) });
  }
  return Math.round(total);
}

/** The shortest exact form of a duration in milliseconds, e.g. 172800000 → `2d`. */
export function formatDuration(ms: number): string {
  // Only whole, non-negative milliseconds have an exact form; anything else would print wrong.
  if (!Number.isSafeInteger(ms) || ms < 0) throw larderError('LARDER_E_INVALID_DURATION', { value: String(ms) });
  if (ms === 0) return '0s';
  const order = ['w', 'd', 'h', 'm', 's', 'ms'] as const;
  let rest = ms;
  let out = '';
  for (const unit of order) {
    const size = UNITS[unit] ?? 1;
    const n = Math.floor(rest / size);
    if (n > 0) { out += `${n}${unit}`; rest -= n * size; }
  }
  return out;
}
