/**
 * @module registry/models/protobuf
 * Just enough of the protobuf wire format to read and write ONNX ModelProto without a
 * dependency: varints, 32/64-bit fixed fields and length-delimited fields. Groups (wire types 3
 * and 4) are deprecated and never used by ONNX, so they are refused. Readers throw a plain
 * {@link ProtobufError}; the ONNX layer turns it into LARDER_E_MODEL_INVALID with context.
 */

export class ProtobufError extends Error {}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** One field of a message: its number, wire type and raw value. */
export type Field =
  | { readonly field: number; readonly wire: typeof WIRE_VARINT; readonly value: bigint }
  | { readonly field: number; readonly wire: typeof WIRE_FIXED64 | typeof WIRE_FIXED32 | typeof WIRE_BYTES; readonly value: Uint8Array };

function readVarint(bytes: Uint8Array, start: number): [value: bigint, next: number] {
  let result = 0n;
  let shift = 0n;
  for (let i = start; i < bytes.length && i < start + 10; i += 1) {
    const byte = bytes[i] as number;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [BigInt.asUintN(64, result), i + 1];
    shift += 7n;
  }
  throw new ProtobufError(`truncated or overlong varint at byte ${start}`);
}

/**
 * Splits a message into its fields, checking that every length stays inside the buffer.
 * @throws ProtobufError when the bytes are not a well-formed message
 */
export function readFields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  while (at < bytes.length) {
    const [key, afterKey] = readVarint(bytes, at);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0 || key >> 3n > 0x1fffffffn) throw new ProtobufError(`invalid field number at byte ${at}`);
    at = afterKey;
    if (wire === WIRE_VARINT) {
      const [value, next] = readVarint(bytes, at);
      fields.push({ field, wire, value });
      at = next;
    } else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      const size = wire === WIRE_FIXED64 ? 8 : 4;
      if (at + size > bytes.length) throw new ProtobufError(`truncated fixed field ${field}`);
      fields.push({ field, wire, value: bytes.subarray(at, at + size) });
      at += size;
    } else if (wire === WIRE_BYTES) {
      const [length, next] = readVarint(bytes, at);
      if (length > BigInt(bytes.length - next)) throw new ProtobufError(`field ${field} claims ${length} bytes, only ${bytes.length - next} left`);
      fields.push({ field, wire, value: bytes.subarray(next, next + Number(length)) });
      at = next + Number(length);
    } else {
      throw new ProtobufError(`unsupported wire type ${wire} for field ${field}`);
    }
  }
  return fields;
}

/** The bytes of a length-delimited field (sub-message or string). */
export function bytesOf(f: Field): Uint8Array {
  if (f.wire !== WIRE_BYTES) throw new ProtobufError(`field ${f.field} should be length-delimited, has wire type ${f.wire}`);
  return f.value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function stringOf(f: Field): string {
  try {
    return utf8.decode(bytesOf(f));
  } catch (error) {
    if (error instanceof ProtobufError) throw error;
    throw new ProtobufError(`field ${f.field} is not valid UTF-8`);
  }
}

/** A varint read as a signed 64-bit integer (protobuf int64/int32), as a number. */
export function intOf(f: Field): number {
  if (f.wire !== WIRE_VARINT) throw new ProtobufError(`field ${f.field} should be a varint, has wire type ${f.wire}`);
  const value = BigInt.asIntN(64, f.value);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ProtobufError(`field ${f.field} holds ${value}, beyond the safe integer range`);
  }
  return Number(value);
}

/** Packed or unpacked repeated int64 values of one field number. */
export function repeatedInts(fields: readonly Field[], field: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wire === WIRE_VARINT) out.push(intOf(f));
    else for (const packed of readPackedVarints(bytesOf(f), field)) out.push(packed);
  }
  return out;
}

function readPackedVarints(bytes: Uint8Array, field: number): number[] {
  const out: number[] = [];
  let at = 0;
  while (at < bytes.length) {
    const [value, next] = readVarint(bytes, at);
    out.push(intOf({ field, wire: WIRE_VARINT, value }));
    at = next;
  }
  return out;
}

/** Builds a message field by field; `finish()` returns its bytes. */
export class MessageWriter {
  readonly #chunks: Uint8Array[] = [];

  #varint(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.#chunks.push(Uint8Array.from(out));
  }

  #key(field: number, wire: number): void {
    this.#varint((BigInt(field) << 3n) | BigInt(wire));
  }

  /** An int32/int64/enum field (negative values take ten bytes, as protobuf specifies). */
  int(field: number, value: number | bigint): this {
    this.#key(field, WIRE_VARINT);
    this.#varint(BigInt(value));
    return this;
  }

  /** A `float` field (fixed32, little-endian). */
  float32(field: number, value: number): this {
    this.#key(field, WIRE_FIXED32);
    const buffer = new Uint8Array(4);
    new DataView(buffer.buffer).setFloat32(0, value, true);
    this.#chunks.push(buffer);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.#key(field, WIRE_BYTES);
    this.#varint(BigInt(value.length));
    this.#chunks.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (m: MessageWriter) => void): this {
    const inner = new MessageWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated int64 field. */
  packedInts(field: number, values: readonly number[]): this {
    const inner = new MessageWriter();
    for (const v of values) inner.#varint(BigInt(v));
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const total = this.#chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
