/**
 * @module registry/diff
 * Structural diff of two definition specs, as the plan shows it: one {@link FieldChange} per
 * differing leaf, with a readable path (`features.avg_delay.kind`, `entities[0]`,
 * `tags["team name"]`). Arrays of equal length are compared element by element; arrays whose
 * length changed are reported as one change of the whole array, which reads better than a
 * cascade of shifted elements.
 */
import type { FieldChange } from './types.ts';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function keyPath(parent: string, key: string): string {
  if (IDENTIFIER.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

function walk(before: unknown, after: unknown, path: string, out: FieldChange[]): void {
  if (Object.is(before, after)) return;
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) {
      const child = keyPath(path, key);
      if (!Object.hasOwn(before, key)) out.push({ path: child, before: undefined, after: after[key] });
      else if (!Object.hasOwn(after, key)) out.push({ path: child, before: before[key], after: undefined });
      else walk(before[key], after[key], child, out);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    before.forEach((item, i) => walk(item, after[i], `${path}[${i}]`, out));
    return;
  }
  out.push({ path, before, after });
}

/**
 * The differing fields between two JSON values, in key order; empty when they are equal.
 * @example diffSpecs({ ttl: '1d' }, { ttl: '2d' }) // [{ path: 'ttl', before: '1d', after: '2d' }]
 */
export function diffSpecs(before: unknown, after: unknown): FieldChange[] {
  const out: FieldChange[] = [];
  walk(before, after, '', out);
  return out;
}
