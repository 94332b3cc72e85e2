/**
 * @module online/entity-key
 * The canonical text of an entity's join key values, used as the online key of its rows.
 *
 * Each value is written as text and the texts are joined with `|`, in join key order. The text of
 * a string is itself; of a number its shortest round-trip decimal (`String(n)`, so `-0` → `0`); of
 * a bigint its decimal; of a boolean `true`/`false`; of a Date its ISO 8601 UTC form. So a number
 * and the numeric string that prints the same give the same key (`42`, `42n` and `'42'`): a join
 * key has one dtype, and CLI and HTTP callers send `origin=42` as text. `'042'` and `'42.0'` are
 * different keys from `42`. Strings are compared exactly as given (no Unicode normalization),
 * like the offline join.
 *
 * Escaping makes the encoding unambiguous and keeps it safe inside a Redis Cluster hash tag:
 * `%` → `%25`, `|` → `%7C`, `{` → `%7B`, `}` → `%7D`, and a lone UTF-16 surrogate → `%uD800`
 * (its hex code unit), so the result is always well-formed Unicode that survives UTF-8. Every
 * other character, NUL, `:` and spaces included, stays as it is.
 */
import { larderError } from '../../errors.ts';

const SPECIAL = /[%|{}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function escapeText(text: string): string {
  return text.replace(SPECIAL, (c) =>
    c.length === 1 && c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff
      ? `%u${c.charCodeAt(0).toString(16).toUpperCase()}`
      : `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

function keyText(name: string, value: unknown): string {
  switch (typeof value) {
    case 'string': return value;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(`join key ${name} is ${value}`);
      return String(value);
    case 'bigint': return value.toString();
    case 'boolean': return value ? 'true' : 'false';
    default:
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw invalid(`join key ${name} is an invalid date`);
        return value.toISOString();
      }
      if (value === null || value === undefined) throw invalid(`join key ${name} is missing`);
      throw invalid(`join key ${name} is a ${Array.isArray(value) ? 'list' : typeof value}, not a scalar`);
  }
}

function invalid(reason: string): Error {
  return larderError('LARDER_E_INVALID_ENTITIES', { reason }, { details: { reason } });
}

/**
 * The canonical online key of an entity: its join key values in `joinKeys` order.
 * @throws LARDER_E_INVALID_ENTITIES when a join key is missing, null, non-finite or not a scalar
 * @example encodeEntityKey(['origin', 'dest'], { origin: 'SFO', dest: 'JFK' }) // 'SFO|JFK'
 */
export function encodeEntityKey(joinKeys: readonly string[], values: Record<string, unknown>): string {
  if (joinKeys.length === 1) return escapeText(keyText(joinKeys[0] as string, values[joinKeys[0] as string]));
  let out = '';
  for (let i = 0; i < joinKeys.length; i++) {
    const name = joinKeys[i] as string;
    if (i > 0) out += '|';
    out += escapeText(keyText(name, values[name]));
  }
  return out;
}

/** The texts of the join key values an entity key was made from (numbers come back as text). */
export function decodeEntityKey(entityKey: string): string[] {
  return entityKey.split('|').map((part) =>
    part.replace(/%u([0-9A-F]{4})|%([0-9A-F]{2})/g, (_, unit: string | undefined, byte: string | undefined) =>
      String.fromCharCode(parseInt(unit ?? byte ?? '', 16))),
  );
}

/** Entity keys reach storage as UTF-8: one that is not well-formed Unicode did not come from {@link encodeEntityKey}. */
export function checkEntityKey(entityKey: unknown): string {
  if (typeof entityKey !== 'string' || LONE_SURROGATE.test(entityKey)) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'an entity key must be a well-formed string from encodeEntityKey' }, {
      details: { entityKey: String(entityKey) },
    });
  }
  return entityKey;
}
