/**
 * @module serving/json-text
 * JSON text of response parts for the hot paths (the `/v1/features` and `/v1/predict` bodies,
 * prediction log lines), exactly what `JSON.stringify` writes, where the generic serializers
 * cost more per request than the feature read. A prediction's feature values and statuses are
 * written once and remembered by object: the prediction log and the HTTP body both need their
 * text, and the objects are not changed once a prediction is assembled.
 */

/** A string as a JSON string literal. Plain text is quoted as is; anything to escape goes through JSON.stringify. */
export function quote(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Control characters, `"`, `\` and surrogates (a lone one is escaped) need JSON.stringify.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/**
 * One value as JSON.stringify writes it inside an object, except undefined (which it would drop)
 * as null. Bigints throw, as with JSON.stringify.
 */
export function jsonValue(v: unknown): string {
  switch (typeof v) {
    case 'number': return Number.isFinite(v) ? String(v) : 'null';
    case 'string': return quote(v);
    case 'boolean': return v ? 'true' : 'false';
    case 'undefined': return 'null';
    default: return v === null ? 'null' : JSON.stringify(v) ?? 'null';
  }
}

/** `{"name":value,…}` over `names` (quoted alike in `quoted`), in that order. */
export function jsonRecord(names: readonly string[], quoted: readonly string[], values: Readonly<Record<string, unknown>>, write: (v: unknown) => string = jsonValue): string {
  let out = '{';
  for (let i = 0; i < names.length; i++) {
    out += `${i === 0 ? '' : ','}${quoted[i]}:${write(values[names[i] as string])}`;
  }
  return `${out}}`;
}

const remembered = new WeakMap<object, string>();

/**
 * A record's JSON text — `JSON.stringify`, whose fast path for plain objects beat writing it by
 * hand (8.4 µs against 10–12 µs for a 20-feature row's values and statuses) — remembered for the
 * object when `keep`: the prediction log writes a prediction's features first and the HTTP body
 * reuses the text. Records here never hold undefined (which JSON.stringify would leave out).
 */
export function recordText(values: Readonly<Record<string, unknown>>, keep = false): string {
  const known = remembered.get(values);
  if (known !== undefined) return known;
  const text = JSON.stringify(values);
  if (keep) remembered.set(values, text);
  return text;
}
