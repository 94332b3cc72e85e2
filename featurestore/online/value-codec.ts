/**
 * @module online/value-codec
 * The bytes of one (entity, view) value, the same in Redis and in the memory store:
 *
 * ```
 * offset 0   eventTs    8 bytes, big-endian, offset binary (sign bit flipped)
 *        8   createdTs  8 bytes, the same; all zero for null
 *       16   format     1 byte (FORMAT_VERSION)
 *       17   layout     4 bytes, big-endian: fingerprint of the view's feature names and dtypes
 *       21   nulls      ceil(features / 8) bytes, bit i set when feature i is null
 *            values     each non-null feature in order:
 *                         float64, int64, timestamp (epoch ms): 8 bytes float64 LE
 *                         float32: 4 bytes LE; int32: 4 bytes LE; bool: 1 byte
 *                         string: varint byte length + UTF-8
 *                         array: varint count, 1 flag byte (1: a null bitmap follows), elements
 * ```
 *
 * The first 16 bytes are the freshness prefix: comparing two values' prefixes byte by byte
 * (unsigned) orders them by (eventTs, createdTs), negative (pre-1970) times included, and a null
 * createdTs sorts before any other. The Lua write script compares them as four unsigned 32-bit
 * numbers (a plain Lua string `<` uses strcoll, which depends on the server's locale).
 *
 * int64 values are JavaScript numbers (exact to ±2^53) and stored as float64 bits: no precision
 * is lost that a reader would have kept. Strings are UTF-8, so a lone surrogate reads back as
 * U+FFFD. float32 values read back rounded to float32.
 */
import { larderError } from '../../errors.ts';
import { dtypeName, type DTypeSpec } from '../define/dtypes.ts';
import { ByteReader, ByteWriter, TruncatedError } from './bytes.ts';
import type { OnlineColumns, OnlineRow, OnlineViewLayout, StoredRow } from './store.ts';

export const FORMAT_VERSION = 1;
export const FRESHNESS_BYTES = 16;
export const HEADER_BYTES = 21;
const TWO_32 = 2 ** 32;
const TWO_31 = 2 ** 31;

type Encode = (w: ByteWriter, value: unknown) => void;
type Decode = (r: ByteReader) => unknown;

/** A value of the wrong type; caught per row and reported with its place. */
class ValueTypeError extends Error {}

interface FieldCodec {
  readonly name: string;
  readonly dtype: string;
  readonly encode: Encode;
  readonly decode: Decode;
}

/** How one view's values are encoded. */
export interface ViewCodec {
  readonly layout: OnlineViewLayout;
  readonly fingerprint: number;
  readonly fields: readonly FieldCodec[];
}

function expected(what: string, value: unknown): ValueTypeError {
  const got = value instanceof Date ? 'a Date' : Array.isArray(value) ? 'a list' : typeof value === 'string' ? `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}` : `${typeof value} ${String(value)}`;
  return new ValueTypeError(`expected ${what}, got ${got}`);
}

function setBit(buf: Buffer, at: number, i: number): void {
  buf[at + (i >> 3)] = (buf[at + (i >> 3)] as number) | (1 << (i & 7));
}

const isNumber = (v: unknown): v is number => typeof v === 'number';

function scalarCodec(kind: DTypeSpec['kind']): { encode: Encode; decode: Decode } {
  switch (kind) {
    case 'float64':
      return {
        encode: (w, v) => { if (!isNumber(v)) throw expected('a number', v); w.f64le(v); },
        decode: (r) => r.f64le(),
      };
    case 'float32':
      return {
        encode: (w, v) => {
          if (!isNumber(v)) throw expected('a number', v);
          w.ensure(4); w.dv.setFloat32(w.pos, v, true); w.pos += 4;
        },
        decode: (r) => { r.need(4); const v = r.buf.readFloatLE(r.pos); r.pos += 4; return v; },
      };
    case 'int64':
      return {
        encode: (w, v) => {
          if (typeof v === 'bigint') w.f64le(Number(v));
          else if (isNumber(v) && Number.isInteger(v)) w.f64le(v);
          else throw expected('an integer', v);
        },
        decode: (r) => r.f64le(),
      };
    case 'int32':
      return {
        encode: (w, v) => {
          if (!isNumber(v) || !Number.isInteger(v) || v < -TWO_31 || v >= TWO_31) throw expected('a 32-bit integer', v);
          w.ensure(4); w.dv.setInt32(w.pos, v, true); w.pos += 4;
        },
        decode: (r) => { r.need(4); const v = r.buf.readInt32LE(r.pos); r.pos += 4; return v; },
      };
    case 'bool':
      return {
        encode: (w, v) => { if (typeof v !== 'boolean') throw expected('a boolean', v); w.u8(v ? 1 : 0); },
        decode: (r) => r.u8() !== 0,
      };
    case 'string':
      return {
        encode: (w, v) => { if (typeof v !== 'string') throw expected('a string', v); w.utf8(v); },
        decode: (r) => r.utf8(),
      };
    case 'timestamp':
      return {
        encode: (w, v) => {
          const ms = v instanceof Date ? v.getTime() : v;
          if (!isNumber(ms) || !Number.isFinite(ms)) throw expected('a valid Date', v);
          w.f64le(ms);
        },
        decode: (r) => new Date(r.f64le()),
      };
    default:
      throw larderError('LARDER_E_INVALID_REQUEST', { reason: `unknown dtype ${String(kind)}` });
  }
}

function codecOf(dtype: DTypeSpec): { encode: Encode; decode: Decode } {
  if (dtype.kind !== 'array') return scalarCodec(dtype.kind);
  const element = codecOf(dtype.element ?? { kind: 'float32' });
  return {
    encode: (w, v) => {
      if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) throw expected('a list', v);
      const items = v as ArrayLike<unknown>;
      const n = items.length;
      w.varint(n);
      let nulls = false;
      for (let i = 0; i < n; i++) if (items[i] === null || items[i] === undefined) { nulls = true; break; }
      w.u8(nulls ? 1 : 0);
      if (nulls) {
        const at = w.pos;
        const size = Math.ceil(n / 8);
        w.ensure(size);
        w.buf.fill(0, at, at + size);
        w.pos += size;
        for (let i = 0; i < n; i++) if (items[i] === null || items[i] === undefined) setBit(w.buf, at, i);
      }
      for (let i = 0; i < n; i++) {
        const item = items[i];
        if (item !== null && item !== undefined) element.encode(w, item);
      }
    },
    decode: (r) => {
      const n = r.varint();
      const nulls = r.u8() === 1 ? r.bytes(Math.ceil(n / 8)) : null;
      const out: unknown[] = new Array<unknown>(n);
      for (let i = 0; i < n; i++) {
        out[i] = nulls !== null && ((nulls[i >> 3] as number) & (1 << (i & 7))) !== 0 ? null : element.decode(r);
      }
      return out;
    },
  };
}

/** FNV-1a over the feature names and dtypes, so a changed view never misreads old bytes. */
export function layoutFingerprint(layout: OnlineViewLayout): number {
  const text = layout.features.map((f) => `${f.name}:${dtypeName(f.dtype)}`).join(',');
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

const codecs = new WeakMap<OnlineViewLayout, ViewCodec>();

/** The codec of a view layout (cached per layout object). */
export function viewCodec(layout: OnlineViewLayout): ViewCodec {
  let codec = codecs.get(layout);
  if (codec === undefined) {
    codec = {
      layout,
      fingerprint: layoutFingerprint(layout),
      fields: layout.features.map((f) => ({ name: f.name, dtype: dtypeName(f.dtype), ...codecOf(f.dtype) })),
    };
    codecs.set(layout, codec);
  }
  return codec;
}

/** Writes a time as 8 big-endian bytes in offset binary, so byte order is numeric order. */
function writeTime(w: ByteWriter, ms: number): void {
  const hi = Math.floor(ms / TWO_32);
  w.dv.setUint32(w.pos, (hi + TWO_31) >>> 0);
  w.dv.setUint32(w.pos + 4, ms - hi * TWO_32);
  w.pos += 8;
}

function readTime(buf: Buffer, at: number): number {
  return (buf.readUInt32BE(at) - TWO_31) * TWO_32 + buf.readUInt32BE(at + 4);
}

/** The 16-byte freshness prefix of (eventTs, createdTs). */
export function freshnessPrefix(eventTs: number, createdTs: number | null): Buffer {
  const w = new ByteWriter(FRESHNESS_BYTES);
  writeTime(w, eventTs);
  if (createdTs === null) w.buf.fill(0, 8, 16);
  else writeTime(w, createdTs);
  return w.buf;
}

/** Orders two encoded values by freshness: < 0 when `a` is older than `b`, 0 when equal. */
export function compareFreshness(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a.subarray(0, FRESHNESS_BYTES), b.subarray(0, FRESHNESS_BYTES));
}

export interface RowProblem {
  row: number;
  feature?: string;
  message: string;
}

/** Rows encoded back to back: row i is `bytes.subarray(ends[i - 1] ?? 0, ends[i])`. */
export interface EncodedRows {
  readonly bytes: Buffer;
  readonly ends: Uint32Array;
}

const MAX_REPORTED = 20;

function checkTime(name: string, value: unknown, nullable: boolean): string | undefined {
  if (nullable && value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return `${name} must be an integer epoch-ms time, got ${String(value)}`;
  return undefined;
}

/** Scalar kinds encoded inline by {@link encodeRows}; others go through their FieldCodec. */
const INLINE: Readonly<Record<string, { code: number; width: number }>> = {
  float64: { code: 1, width: 8 }, int64: { code: 2, width: 8 }, timestamp: { code: 3, width: 8 },
  float32: { code: 4, width: 4 }, int32: { code: 5, width: 4 }, bool: { code: 6, width: 1 },
};

/**
 * Encodes rows of one view. Checks every row first and reports all problems at once (up to 20 in
 * details): a bad batch writes nothing.
 * @throws LARDER_E_INVALID_REQUEST
 */
export function encodeRows(codec: ViewCodec, rows: readonly OnlineRow[], writer?: ByteWriter): EncodedRows {
  return encode(codec, rows.length, rows, null, writer);
}

/**
 * {@link encodeRows} for rows given column by column (materialization): no row objects, and
 * numbers read straight from typed-array columns.
 * @throws LARDER_E_INVALID_REQUEST
 */
export function encodeColumns(codec: ViewCodec, columns: OnlineColumns, writer?: ByteWriter): EncodedRows {
  if (columns.features.length !== codec.fields.length) {
    throw larderError('LARDER_E_INVALID_REQUEST', {
      reason: `expected ${codec.fields.length} feature columns for view ${codec.layout.view} (${codec.fields.map((f) => f.name).join(', ')}), got ${columns.features.length}`,
    });
  }
  return encode(codec, columns.length, null, columns, writer);
}

/** The encoder behind both: row r comes from `rows[r]`, or else from `columns` at index r. */
function encode(codec: ViewCodec, count: number, rows: readonly OnlineRow[] | null, columns: OnlineColumns | null, writer?: ByteWriter): EncodedRows {
  const { fields, fingerprint } = codec;
  const n = fields.length;
  const nullBytes = Math.ceil(n / 8);
  const codes = Uint8Array.from(fields.map((f) => INLINE[f.dtype]?.code ?? 0));
  // Room for the header and every fixed-width value; variable ones make their own room.
  const fixedBytes = HEADER_BYTES + nullBytes + fields.reduce((sum, f) => sum + (INLINE[f.dtype]?.width ?? 0), 0);
  const ends = new Uint32Array(count);
  const problems: RowProblem[] = [];
  let problemCount = 0;
  const w = writer ?? new ByteWriter(64 + count * (fixedBytes + 8));
  w.pos = 0;
  const features = columns?.features;
  // float64 features in Float64Array columns are copied without a null check or boxing.
  const doubles: (Float64Array | null)[] = fields.map((_, i) => {
    const column = features?.[i];
    return codes[i] === 1 && column instanceof Float64Array ? column : null;
  });
  let values: readonly unknown[] = [];
  for (let r = 0; r < count; r++) {
    const start = w.pos;
    let eventTs: number;
    let createdTs: number | null;
    let problem: RowProblem | undefined;
    if (rows !== null) {
      const row = rows[r] as OnlineRow;
      eventTs = row.eventTs;
      createdTs = row.createdTs;
      values = row.values;
      if (!Array.isArray(values) || values.length !== n) {
        problem = { row: r, message: `expected ${n} values (${fields.map((f) => f.name).join(', ')}), got ${Array.isArray(values) ? values.length : typeof values}` };
      }
    } else {
      const cols = columns as OnlineColumns;
      eventTs = cols.eventTs[r] as number;
      createdTs = cols.createdTs === null ? null : cols.createdTs[r] as number;
    }
    const timeProblem = checkTime('eventTs', eventTs, false) ?? checkTime('createdTs', createdTs, true);
    if (timeProblem !== undefined) problem = { row: r, message: timeProblem };
    if (problem === undefined) {
      w.ensure(fixedBytes);
      writeTime(w, eventTs);
      if (createdTs === null) { w.dv.setUint32(w.pos, 0); w.dv.setUint32(w.pos + 4, 0); w.pos += 8; } else writeTime(w, createdTs);
      w.buf[w.pos] = FORMAT_VERSION;
      w.dv.setUint32(w.pos + 1, fingerprint);
      w.pos += 5;
      const nullsAt = w.pos;
      for (let b = 0; b < nullBytes; b++) w.buf[nullsAt + b] = 0;
      w.pos += nullBytes;
      for (let i = 0; i < n; i++) {
        const column = doubles[i] as Float64Array | null;
        if (column !== null) {
          w.dv.setFloat64(w.pos, column[r] as number, true);
          w.pos += 8;
          continue;
        }
        const value: unknown = features === undefined ? values[i] : (features[i] as ArrayLike<unknown>)[r];
        if (value === null || value === undefined) {
          setBit(w.buf, nullsAt, i);
          continue;
        }
        let bad: ValueTypeError | undefined;
        switch (codes[i]) {
          case 1: // float64
            if (typeof value === 'number') { w.dv.setFloat64(w.pos, value, true); w.pos += 8; } else bad = expected('a number', value);
            break;
          case 4: // float32
            if (typeof value === 'number') { w.dv.setFloat32(w.pos, value, true); w.pos += 4; } else bad = expected('a number', value);
            break;
          default:
            try {
              (fields[i] as FieldCodec).encode(w, value);
              w.ensure(fixedBytes);
            } catch (error) {
              if (!(error instanceof ValueTypeError)) throw error;
              bad = error;
            }
        }
        if (bad !== undefined) {
          const field = fields[i] as FieldCodec;
          problem = { row: r, feature: field.name, message: `${field.name} (${field.dtype}): ${bad.message}` };
          break;
        }
      }
    }
    if (problem !== undefined) {
      problemCount++;
      if (problems.length < MAX_REPORTED) problems.push(problem);
      w.pos = start;
    }
    ends[r] = w.pos;
  }
  if (problemCount > 0) {
    const first = problems[0] as RowProblem;
    throw larderError('LARDER_E_INVALID_REQUEST', {
      reason: `${problemCount} bad row(s) for view ${codec.layout.view}, nothing written; row ${first.row}: ${first.message}`,
    }, { details: { view: codec.layout.view, count: problemCount, problems } });
  }
  return { bytes: w.view(), ends };
}

/** Why a stored value could not be decoded; the store wraps it with the key. */
export class CorruptValueError extends Error {}

/**
 * Decodes one stored value; null when it was written in another format or with another layout
 * of the view (its features changed since).
 * @throws CorruptValueError when the bytes are truncated or have bytes left over
 */
export function decodeValue(codec: ViewCodec, bytes: Buffer): StoredRow | null {
  if (bytes.length < HEADER_BYTES || bytes[16] !== FORMAT_VERSION || bytes.readUInt32BE(17) !== codec.fingerprint) return null;
  const eventTs = readTime(bytes, 0);
  const createdTs = bytes.readUInt32BE(8) === 0 && bytes.readUInt32BE(12) === 0 ? null : readTime(bytes, 8);
  const fields = codec.fields;
  const n = fields.length;
  const r = new ByteReader(bytes, HEADER_BYTES);
  const values: unknown[] = new Array<unknown>(n);
  try {
    const nulls = r.bytes(Math.ceil(n / 8));
    for (let i = 0; i < n; i++) {
      values[i] = ((nulls[i >> 3] as number) & (1 << (i & 7))) !== 0 ? null : (fields[i] as FieldCodec).decode(r);
    }
  } catch (error) {
    if (error instanceof TruncatedError) throw new CorruptValueError('the value is truncated');
    throw error;
  }
  if (r.pos !== bytes.length) throw new CorruptValueError(`${bytes.length - r.pos} byte(s) left over after the last feature`);
  return { values, eventTs, createdTs };
}
