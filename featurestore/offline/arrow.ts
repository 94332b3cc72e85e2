/**
 * @module offline/arrow
 * DuckDB results as Arrow tables, and as JS values column by column. `@duckdb/node-api` has no Arrow export, so each fetched
 * chunk's vectors are wrapped as Arrow data: fixed-width columns (integers, floats, booleans,
 * dates, timestamps) are copied straight from the vector's typed array and validity mask,
 * everything else goes through the library's public value API.
 *
 * The fast path reads two NON-PUBLIC fields of `@duckdb/node-api` vectors (`items`, the typed
 * array of values, or `dataView` for booleans, and `validity.data`, the validity words). They
 * are read only in {@link rawItems}, {@link rawBooleans} and {@link rawValidity}; if a library
 * update changes them, those return `undefined`, the conversion falls back to the public path
 * (slower, still correct), and `arrow.test.ts` fails loudly.
 */
import * as arrow from 'apache-arrow';
import {
  DuckDBTypeId, type DuckDBArrayType, type DuckDBArrayValue, type DuckDBDataChunk, type DuckDBListType, type DuckDBListValue,
  type DuckDBResult, type DuckDBType, type DuckDBValue, type DuckDBVector,
} from '@duckdb/node-api';
import { jsValue } from './values.ts';

// ---- The non-public fields ------------------------------------------------------------------

interface VectorInternals { items?: unknown; dataView?: unknown; validity?: { data?: unknown; offset?: unknown } }

/** The vector's values as a typed array of `ctor`, or undefined if the library's layout changed. */
export function rawItems<A extends ArrayBufferView>(vector: DuckDBVector, ctor: abstract new (...args: never[]) => A): A | undefined {
  const items = (vector as unknown as VectorInternals).items;
  return items instanceof ctor && (items as unknown as { length: number }).length === vector.itemCount ? items : undefined;
}

/** A boolean vector's bytes (one per value), or undefined if the layout changed. */
export function rawBooleans(vector: DuckDBVector): DataView | undefined {
  const view = (vector as unknown as VectorInternals).dataView;
  return view instanceof DataView && view.byteLength >= vector.itemCount ? view : undefined;
}

/**
 * The validity mask as Arrow wants it (bit i of byte i>>3, least significant first, which is
 * DuckDB's 64-bit words on a little-endian machine): `null` when every value is valid,
 * `undefined` when the layout changed.
 */
export function rawValidity(vector: DuckDBVector): Uint8Array | null | undefined {
  const validity = (vector as unknown as VectorInternals).validity;
  if (typeof validity !== 'object' || validity === null || !('data' in validity) || validity.offset !== 0) return undefined;
  if (validity.data === null) return null;
  if (!(validity.data instanceof BigUint64Array) || !LITTLE_ENDIAN) return undefined;
  const words = validity.data;
  return new Uint8Array(words.buffer, words.byteOffset, Math.ceil(vector.itemCount / 8)).slice();
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---- Types ----------------------------------------------------------------------------------

type Fixed = { arrow: arrow.DataType; array: abstract new (...args: never[]) => ArrayBufferView };
const UTC = 'UTC';

function fixedWidth(typeId: DuckDBTypeId): Fixed | undefined {
  switch (typeId) {
    case DuckDBTypeId.TINYINT: return { arrow: new arrow.Int8(), array: Int8Array };
    case DuckDBTypeId.SMALLINT: return { arrow: new arrow.Int16(), array: Int16Array };
    case DuckDBTypeId.INTEGER: return { arrow: new arrow.Int32(), array: Int32Array };
    case DuckDBTypeId.BIGINT: return { arrow: new arrow.Int64(), array: BigInt64Array };
    case DuckDBTypeId.UTINYINT: return { arrow: new arrow.Uint8(), array: Uint8Array };
    case DuckDBTypeId.USMALLINT: return { arrow: new arrow.Uint16(), array: Uint16Array };
    case DuckDBTypeId.UINTEGER: return { arrow: new arrow.Uint32(), array: Uint32Array };
    case DuckDBTypeId.UBIGINT: return { arrow: new arrow.Uint64(), array: BigUint64Array };
    case DuckDBTypeId.FLOAT: return { arrow: new arrow.Float32(), array: Float32Array };
    case DuckDBTypeId.DOUBLE: return { arrow: new arrow.Float64(), array: Float64Array };
    case DuckDBTypeId.DATE: return { arrow: new arrow.DateDay(), array: Int32Array };
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ: return { arrow: new arrow.Timestamp(arrow.TimeUnit.MICROSECOND, UTC), array: BigInt64Array };
    case DuckDBTypeId.TIMESTAMP_MS: return { arrow: new arrow.Timestamp(arrow.TimeUnit.MILLISECOND, UTC), array: BigInt64Array };
    case DuckDBTypeId.TIMESTAMP_S: return { arrow: new arrow.Timestamp(arrow.TimeUnit.SECOND, UTC), array: BigInt64Array };
    case DuckDBTypeId.TIMESTAMP_NS: return { arrow: new arrow.Timestamp(arrow.TimeUnit.NANOSECOND, UTC), array: BigInt64Array };
    default: return undefined;
  }
}

/** The Arrow type a DuckDB column is returned as. DECIMAL and HUGEINT become Float64; unknown types text. */
export function arrowTypeOf(type: DuckDBType): arrow.DataType {
  const fixed = fixedWidth(type.typeId);
  if (fixed) return fixed.arrow;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN: return new arrow.Bool();
    case DuckDBTypeId.DECIMAL:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT: return new arrow.Float64();
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const element = (type as DuckDBListType | DuckDBArrayType).valueType;
      return new arrow.List(new arrow.Field('item', arrowTypeOf(element), true));
    }
    default: return new arrow.Utf8();
  }
}

// ---- Conversion -----------------------------------------------------------------------------

/** How many columns took the fast path and how many the public one; for the guard test and the bench. */
export interface ArrowStats { fast: number; fallback: number }

function bitmapOf(validity: Uint8Array | null): { nullBitmap?: Uint8Array; nullCount: number } {
  return validity === null ? { nullCount: 0 } : { nullBitmap: validity, nullCount: -1 };
}

function fastData(vector: DuckDBVector, type: DuckDBType, target: arrow.DataType, stats?: ArrowStats): arrow.Data | undefined {
  const length = vector.itemCount;
  const validity = rawValidity(vector);
  if (validity === undefined) return undefined;
  const fixed = fixedWidth(type.typeId);
  if (fixed) {
    const items = rawItems(vector, fixed.array);
    if (!items) return undefined;
    if (stats) stats.fast++;
    const copy = (items as unknown as { slice(): ArrayBufferView }).slice();
    return arrow.makeData({ type: target as arrow.Int, length, data: copy as never, ...bitmapOf(validity) });
  }
  if (type.typeId === DuckDBTypeId.BOOLEAN) {
    const bytes = rawBooleans(vector);
    if (!bytes) return undefined;
    if (stats) stats.fast++;
    const bits = new Uint8Array(Math.ceil(length / 8));
    for (let i = 0; i < length; i++) if (bytes.getUint8(i) !== 0) bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
    return arrow.makeData({ type: target as arrow.Bool, length, data: bits, ...bitmapOf(validity) });
  }
  return undefined;
}

const encoder = new TextEncoder();

function utf8Data(values: readonly unknown[]): arrow.Data<arrow.Utf8> {
  const offsets = new Int32Array(values.length + 1);
  const bits = new Uint8Array(Math.ceil(values.length / 8));
  let bytes = new Uint8Array(Math.max(64, values.length * 8));
  let end = 0;
  let nulls = 0;
  values.forEach((value, i) => {
    if (value === null || value === undefined) { nulls++; offsets[i + 1] = end; return; }
    bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
    const text = typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : String(value);
    if (bytes.length - end < text.length * 3) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, end + text.length * 3));
      grown.set(bytes.subarray(0, end));
      bytes = grown;
    }
    end += encoder.encodeInto(text, bytes.subarray(end)).written;
    offsets[i + 1] = end;
  });
  return arrow.makeData({ type: new arrow.Utf8(), length: values.length, nullCount: nulls, nullBitmap: bits, valueOffsets: offsets, data: bytes.subarray(0, end) });
}

/** One vector as Arrow data of `target`. */
export function vectorToArrow(vector: DuckDBVector, type: DuckDBType, target: arrow.DataType, stats?: ArrowStats): arrow.Data {
  const fast = fastData(vector, type, target, stats);
  if (fast) return fast;
  if (stats) stats.fallback++;
  const values: unknown[] = new Array<unknown>(vector.itemCount);
  if (arrow.DataType.isUtf8(target)) {
    for (let i = 0; i < values.length; i++) values[i] = jsValue(vector.getItem(i), type);
    return utf8Data(values);
  }
  for (let i = 0; i < values.length; i++) values[i] = builderValue(vector.getItem(i), type, target);
  const builder = arrow.makeBuilder({ type: target, nullValues: [null, undefined] });
  for (const value of values) builder.append(value as never);
  return builder.finish().flush() as arrow.Data;
}

/** A DuckDB value in the form an Arrow builder of `target` takes: bigints for 64-bit ints, epoch ms for times. */
function builderValue(value: DuckDBValue, type: DuckDBType, target: arrow.DataType): unknown {
  if (value === null) return null;
  if (arrow.DataType.isList(target)) {
    const element = (type as DuckDBListType | DuckDBArrayType).valueType;
    const child = target.children[0]?.type as arrow.DataType;
    return (value as DuckDBListValue | DuckDBArrayValue).items.map((item) => builderValue(item, element, child));
  }
  if (arrow.DataType.isInt(target) && target.bitWidth === 64) return typeof value === 'bigint' ? value : BigInt(jsValue(value, type) as number);
  if (arrow.DataType.isTimestamp(target) || arrow.DataType.isDate(target)) {
    // Epoch milliseconds, fractional, so microseconds survive.
    const time = value as { micros?: bigint; millis?: bigint; seconds?: bigint; nanos?: bigint; days?: number };
    if (typeof time.micros === 'bigint') return Number(time.micros) / 1000;
    if (typeof time.millis === 'bigint') return Number(time.millis);
    if (typeof time.seconds === 'bigint') return Number(time.seconds) * 1000;
    if (typeof time.nanos === 'bigint') return Number(time.nanos) / 1_000_000;
    if (typeof time.days === 'number') return time.days * 86_400_000;
  }
  const js = jsValue(value, type);
  if (js instanceof Date) return js.getTime();
  return typeof js === 'bigint' ? Number(js) : js;
}

/** One chunk as a record batch of `schema`. */
export function chunkToBatch(chunk: DuckDBDataChunk, types: readonly DuckDBType[], schema: arrow.Schema, stats?: ArrowStats): arrow.RecordBatch {
  const children = types.map((type, i) => vectorToArrow(chunk.getColumnVector(i), type, (schema.fields[i] as arrow.Field).type, stats));
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length: chunk.rowCount, nullCount: 0, children });
  return new arrow.RecordBatch(schema, data);
}

/** Reads a streaming result to the end as an Arrow table. `onChunk` runs between chunks (abort checks). */
export async function resultToArrow(result: DuckDBResult, onChunk?: () => void, stats?: ArrowStats): Promise<arrow.Table> {
  const types = result.columnTypes();
  const names = result.columnNames();
  const schema = new arrow.Schema(types.map((t, i) => new arrow.Field(names[i] as string, arrowTypeOf(t), true)));
  const batches: arrow.RecordBatch[] = [];
  for (;;) {
    onChunk?.();
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    batches.push(chunkToBatch(chunk, types, schema, stats));
  }
  return new arrow.Table(schema, batches);
}

// ---- JS values (toRows, on-demand rows) -----------------------------------------------------

const MICROS_PER = { [DuckDBTypeId.TIMESTAMP]: 1000, [DuckDBTypeId.TIMESTAMP_TZ]: 1000, [DuckDBTypeId.TIMESTAMP_MS]: 1, [DuckDBTypeId.TIMESTAMP_S]: 0.001, [DuckDBTypeId.TIMESTAMP_NS]: 1_000_000 } as Partial<Record<DuckDBTypeId, number>>;

type NumberArray = ArrayBufferView & ArrayLike<number>;
const NUMBER_ARRAYS: Partial<Record<DuckDBTypeId, abstract new (...args: never[]) => NumberArray>> = {
  [DuckDBTypeId.TINYINT]: Int8Array, [DuckDBTypeId.SMALLINT]: Int16Array, [DuckDBTypeId.INTEGER]: Int32Array,
  [DuckDBTypeId.UTINYINT]: Uint8Array, [DuckDBTypeId.USMALLINT]: Uint16Array, [DuckDBTypeId.UINTEGER]: Uint32Array,
  [DuckDBTypeId.FLOAT]: Float32Array, [DuckDBTypeId.DOUBLE]: Float64Array,
};

function valid(validity: Uint8Array | null, i: number): boolean {
  return validity === null || (((validity[i >> 3] as number) >> (i & 7)) & 1) === 1;
}

/** A column of one chunk as JS values; typed-array fast path for numbers and timestamps. */
export function columnValues(vector: DuckDBVector, type: DuckDBType): unknown[] {
  const n = vector.itemCount;
  const out: unknown[] = new Array<unknown>(n);
  const validity = rawValidity(vector);
  if (validity !== undefined) {
    const numbers = NUMBER_ARRAYS[type.typeId];
    const items = numbers ? rawItems(vector, numbers) : undefined;
    if (items) {
      for (let i = 0; i < n; i++) out[i] = valid(validity, i) ? items[i] : null;
      return out;
    }
    const bigints = type.typeId === DuckDBTypeId.BIGINT ? rawItems(vector, BigInt64Array) : undefined;
    if (bigints) {
      for (let i = 0; i < n; i++) out[i] = valid(validity, i) ? Number(bigints[i]) : null;
      return out;
    }
    const per = MICROS_PER[type.typeId];
    const stamps = per === undefined ? undefined : rawItems(vector, BigInt64Array);
    if (stamps && per !== undefined) {
      for (let i = 0; i < n; i++) out[i] = valid(validity, i) ? new Date(Math.floor(Number(stamps[i]) / per)) : null;
      return out;
    }
  }
  for (let i = 0; i < n; i++) out[i] = jsValue(vector.getItem(i), type);
  return out;
}

/** Every column of a chunk as JS values. */
export function chunkColumns(chunk: DuckDBDataChunk, types: readonly DuckDBType[]): unknown[][] {
  return types.map((type, i) => columnValues(chunk.getColumnVector(i), type));
}
