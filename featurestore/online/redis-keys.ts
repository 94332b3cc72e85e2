/**
 * @module online/redis-keys
 * Redis key names. One string key per (entity, view):
 *
 *   `{prefix}:{project}:{view}:{<entityKey>}`   e.g. `larder:flights:origin_daily:{SFO}`
 *
 * Project and view names are escaped (every byte outside `[A-Za-z0-9_.-]` as `%XX`), so `:` only
 * ever separates segments and two projects never share a key or a SCAN pattern; the escaped form
 * has no glob characters, so `{prefix}:{project}:*` matches exactly one project's keys. The entity
 * key sits in a Redis Cluster hash tag: all views of one entity hash to the same slot, so one
 * entity's read stays on one node. `encodeEntityKey` escapes `{` and `}`, so the tag is exactly
 * the entity key.
 */
import { larderError } from '../../errors.ts';

export const DEFAULT_KEY_PREFIX = 'larder';

/** Escapes one name segment: bytes outside `[A-Za-z0-9_.-]` become `%XX`. */
export function keySegment(name: string): string {
  if (/^[A-Za-z0-9_.-]+$/.test(name)) return name;
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A key prefix must not open a hash tag or hold glob characters. */
export function checkKeyPrefix(prefix: string): string {
  if (prefix === '' || /[{}*?[\]\\]/.test(prefix)) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `online keyPrefix ${JSON.stringify(prefix)} must be non-empty without { } * ? [ ] \\` });
  }
  return prefix;
}

/** Everything of one project: `{prefix}:{project}:`. */
export function projectKeyPrefix(prefix: string, project: string): string {
  return `${prefix}:${keySegment(project)}:`;
}

/** The start of a view's value keys, up to the hash tag's `{`. */
export function viewKeyPrefix(prefix: string, project: string, view: string): string {
  return `${projectKeyPrefix(prefix, project)}${keySegment(view)}:{`;
}

/** The key of one (entity, view) value. */
export function valueKey(prefix: string, project: string, view: string, entityKey: string): string {
  return `${viewKeyPrefix(prefix, project, view)}${entityKey}}`;
}
