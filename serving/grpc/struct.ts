/**
 * @module serving/grpc/struct
 * JS values ↔ `google.protobuf.Struct` / `Value` as `@grpc/proto-loader` represents them
 * (`{ fields: { k: { numberValue: 1 } } }`), mirroring what the HTTP API's JSON does with the
 * same values: Dates become RFC 3339 strings, bigints numbers, non-finite numbers and
 * `undefined` become null (JSON has none of them either).
 */

/** `google.protobuf.Value` as proto-loader reads and writes it. */
export interface ProtoValue {
  nullValue?: 'NULL_VALUE' | number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct | null;
  listValue?: { values?: ProtoValue[] | null } | null;
  /** The oneof member that is set (with `oneofs: true`). */
  kind?: string;
}

/** `google.protobuf.Struct`. */
export interface ProtoStruct {
  fields?: Record<string, ProtoValue> | null;
}

/** A JS value as a `google.protobuf.Value`. */
export function toProtoValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'number': return Number.isFinite(value) ? { numberValue: value } : { nullValue: 'NULL_VALUE' };
    case 'bigint': return { numberValue: Number(value) };
    case 'string': return { stringValue: value };
    case 'boolean': return { boolValue: value };
    default: break;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? { nullValue: 'NULL_VALUE' } : { stringValue: value.toISOString() };
  if (Array.isArray(value)) return { listValue: { values: value.map(toProtoValue) } };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return { listValue: { values: Array.from(value as unknown as ArrayLike<number | bigint>, toProtoValue) } };
  return { structValue: toProtoStruct(value as Record<string, unknown>) };
}

/** A plain object as a `google.protobuf.Struct`. */
export function toProtoStruct(record: Readonly<Record<string, unknown>>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, value] of Object.entries(record)) fields[key] = toProtoValue(value);
  return { fields };
}

/** A `google.protobuf.Value` as the JS value the HTTP API's JSON would have given. */
export function fromProtoValue(value: ProtoValue | null | undefined): unknown {
  if (value === null || value === undefined) return null;
  const kind = value.kind ?? firstSetKind(value);
  switch (kind) {
    case 'numberValue': return value.numberValue ?? 0;
    case 'stringValue': return value.stringValue ?? '';
    case 'boolValue': return value.boolValue ?? false;
    case 'structValue': return fromProtoStruct(value.structValue);
    case 'listValue': return (value.listValue?.values ?? []).map(fromProtoValue);
    default: return null;
  }
}

/** A `google.protobuf.Struct` as a plain object. */
export function fromProtoStruct(struct: ProtoStruct | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = fromProtoValue(value);
  return out;
}

function firstSetKind(value: ProtoValue): string | undefined {
  for (const kind of ['numberValue', 'stringValue', 'boolValue', 'structValue', 'listValue'] as const) {
    if (value[kind] !== undefined && value[kind] !== null) return kind;
  }
  return undefined;
}
