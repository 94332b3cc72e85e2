/**
 * @module dtypes
 * Feature value types (`t.*`) and their modifiers. A dtype is a frozen description: its kind,
 * an optional serving default, a description and validation expectations. `$type` is a
 * phantom member that carries the TypeScript value type for row inference.
 */

export type ScalarKind = 'int64' | 'int32' | 'float64' | 'float32' | 'string' | 'bool' | 'timestamp';
export type DTypeKind = ScalarKind | 'array';

/** Validation expectations checked by the validation stage (DESIGN §6). */
export interface Expectations {
  readonly min?: number;
  readonly max?: number;
  readonly oneOf?: readonly (string | number | boolean)[];
  readonly regex?: string;
  readonly maxNullRate?: number;
}

export interface DType<T = unknown> {
  readonly kind: DTypeKind;
  /** Element type of an array dtype. */
  readonly element?: DType;
  readonly defaultValue?: T;
  readonly description?: string;
  readonly expectations?: Expectations;
  /** Phantom: the JavaScript type of a value. Never read at run time. */
  readonly $type: T;
  /** The value served when the feature is missing online (status `DEFAULTED`). */
  default(value: T): DType<T>;
  describe(text: string): DType<T>;
  expect(expectations: Expectations): DType<T>;
}

/** A plain-data copy of a dtype, as stored in the registry. */
export interface DTypeSpec {
  kind: DTypeKind;
  element?: DTypeSpec;
  default?: unknown;
  description?: string;
  expect?: Expectations;
}

type Fields = {
  kind: DTypeKind;
  element?: DType;
  defaultValue?: unknown;
  description?: string;
  expectations?: Expectations;
};

/** Copies what a caller handed in, so later edits to their arrays or objects cannot reach a dtype. */
function frozenCopy<V>(value: V): V {
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy)) as V;
  if (value instanceof Date) return new Date(value.getTime()) as V;
  if (typeof value === 'object' && value !== null) {
    return Object.freeze(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, frozenCopy(v)]))) as V;
  }
  return value;
}

function make<T>(fields: Fields): DType<T> {
  if (fields.defaultValue !== undefined) fields = { ...fields, defaultValue: frozenCopy(fields.defaultValue) };
  if (fields.expectations !== undefined) fields = { ...fields, expectations: frozenCopy(fields.expectations) };
  const dtype: DType<T> = {
    ...fields,
    default: (value: T) => make<T>({ ...fields, defaultValue: value }),
    describe: (text: string) => make<T>({ ...fields, description: text }),
    expect: (expectations: Expectations) =>
      make<T>({ ...fields, expectations: { ...fields.expectations, ...expectations } }),
  } as DType<T>;
  return Object.freeze(dtype);
}

/** dtype builders. */
export const t = {
  /** 64-bit integer; read into JavaScript as a number (exact up to 2^53). */
  int64: () => make<number>({ kind: 'int64' }),
  int32: () => make<number>({ kind: 'int32' }),
  float64: () => make<number>({ kind: 'float64' }),
  float32: () => make<number>({ kind: 'float32' }),
  string: () => make<string>({ kind: 'string' }),
  bool: () => make<boolean>({ kind: 'bool' }),
  /** A UTC instant. */
  timestamp: () => make<Date>({ kind: 'timestamp' }),
  /** A list of scalar values, e.g. `t.array(t.float32())` for an embedding. */
  array: <E>(element: DType<E>) => make<E[]>({ kind: 'array', element }),
} as const;

export function isDType(value: unknown): value is DType {
  return typeof value === 'object' && value !== null && typeof (value as DType).kind === 'string' &&
    typeof (value as DType).expect === 'function';
}

export function dtypeSpec(dtype: DType): DTypeSpec {
  const spec: DTypeSpec = { kind: dtype.kind };
  if (dtype.element) spec.element = dtypeSpec(dtype.element);
  if (dtype.defaultValue !== undefined) {
    spec.default = dtype.defaultValue instanceof Date ? dtype.defaultValue.toISOString() : dtype.defaultValue;
  }
  if (dtype.description !== undefined) spec.description = dtype.description;
  if (dtype.expectations !== undefined) spec.expect = dtype.expectations;
  return spec;
}

/** The DuckDB column type a dtype is stored as in datasets. */
export function duckdbTypeOf(dtype: DType | DTypeSpec): string {
  switch (dtype.kind) {
    case 'int64': return 'BIGINT';
    case 'int32': return 'INTEGER';
    case 'float64': return 'DOUBLE';
    case 'float32': return 'FLOAT';
    case 'string': return 'VARCHAR';
    case 'bool': return 'BOOLEAN';
    case 'timestamp': return 'TIMESTAMPTZ';
    case 'array': return `${duckdbTypeOf(dtype.element ?? { kind: 'float32' })}[]`;
  }
}

/** A readable name, e.g. `array<float32>`. */
export function dtypeName(dtype: DType | DTypeSpec): string {
  return dtype.kind === 'array' ? `array<${dtypeName(dtype.element ?? { kind: 'float32' })}>` : dtype.kind;
}

export type Infer<D> = D extends DType<infer T> ? T : never;
export type InferFields<F extends Record<string, DType>> = { [K in keyof F]: Infer<F[K]> | null };
