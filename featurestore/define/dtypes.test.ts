import { describe, it, expect, expectTypeOf } from 'vitest';
import { t, dtypeSpec, duckdbTypeOf, dtypeName, isDType, type DType, type Infer, type InferFields } from './dtypes.ts';

describe('dtype builders', () => {
  it('give each builder its kind', () => {
    expect(t.int64().kind).toBe('int64');
    expect(t.int32().kind).toBe('int32');
    expect(t.float64().kind).toBe('float64');
    expect(t.float32().kind).toBe('float32');
    expect(t.string().kind).toBe('string');
    expect(t.bool().kind).toBe('bool');
    expect(t.timestamp().kind).toBe('timestamp');
    const embedding = t.array(t.float32());
    expect(embedding.kind).toBe('array');
    expect(embedding.element?.kind).toBe('float32');
  });

  it('return frozen dtypes with nothing optional set', () => {
    const dtype = t.float64();
    expect(Object.isFrozen(dtype)).toBe(true);
    expect(dtype.defaultValue).toBeUndefined();
    expect(dtype.description).toBeUndefined();
    expect(dtype.expectations).toBeUndefined();
    expect(isDType(dtype)).toBe(true);
    expect(isDType({ kind: 'int64' })).toBe(false);
    expect(isDType(null)).toBe(false);
  });
});

describe('dtype modifiers', () => {
  it('return a new frozen dtype and leave the original unchanged', () => {
    const base = t.float64();
    const withDefault = base.default(0.5);
    const described = withDefault.describe('share of offers accepted');
    const expected = described.expect({ min: 0, max: 1 });

    for (const d of [withDefault, described, expected]) expect(Object.isFrozen(d)).toBe(true);
    expect(new Set([base, withDefault, described, expected]).size).toBe(4);
    expect(base.defaultValue).toBeUndefined();
    expect(withDefault.description).toBeUndefined();
    expect(described.expectations).toBeUndefined();
    expect(expected).toMatchObject({
      kind: 'float64', defaultValue: 0.5, description: 'share of offers accepted', expectations: { min: 0, max: 1 },
    });
  });

  it('merge successive expectations, the later one winning', () => {
    const first = t.int64().expect({ min: 0, max: 10 });
    const second = first.expect({ max: 5, maxNullRate: 0.1 });
    expect(second.expectations).toEqual({ min: 0, max: 5, maxNullRate: 0.1 });
    expect(first.expectations).toEqual({ min: 0, max: 10 });
  });

  it('keep later modifiers from undoing earlier ones', () => {
    const d = t.string().default('basic').expect({ oneOf: ['basic', 'gold'] }).describe('tier');
    expect(d.defaultValue).toBe('basic');
    expect(d.expectations?.oneOf).toEqual(['basic', 'gold']);
    expect(d.describe('other').description).toBe('other');
    expect(d.description).toBe('tier');
  });

  it('freeze expectations and defaults, so editing what was passed in changes nothing', () => {
    const oneOf = ['basic', 'gold'];
    const rules = { oneOf };
    const tier = t.string().expect(rules);
    oneOf.push('plus');
    (rules as { regex?: string }).regex = '^x';
    expect(tier.expectations).toEqual({ oneOf: ['basic', 'gold'] });
    expect(Object.isFrozen(tier.expectations)).toBe(true);
    expect(Object.isFrozen(tier.expectations?.oneOf)).toBe(true);

    const zeros = [0, 0];
    const embedding = t.array(t.float32()).default(zeros);
    zeros[0] = 1;
    expect(embedding.defaultValue).toEqual([0, 0]);
    expect(Object.isFrozen(embedding.defaultValue)).toBe(true);
  });
});

describe('dtypeSpec', () => {
  it('is plain data with only what was set', () => {
    expect(dtypeSpec(t.int64())).toEqual({ kind: 'int64' });
    expect(dtypeSpec(t.float64().default(0).describe('d').expect({ min: 0 }))).toEqual({
      kind: 'float64', default: 0, description: 'd', expect: { min: 0 },
    });
    expect(Object.keys(dtypeSpec(t.bool()))).toEqual(['kind']);
  });

  it('nests the element of an array and writes timestamp defaults as ISO text', () => {
    expect(dtypeSpec(t.array(t.int32()))).toEqual({ kind: 'array', element: { kind: 'int32' } });
    const epoch = new Date('2024-01-02T03:04:05.000Z');
    expect(dtypeSpec(t.timestamp().default(epoch))).toEqual({ kind: 'timestamp', default: '2024-01-02T03:04:05.000Z' });
    expect(JSON.parse(JSON.stringify(dtypeSpec(t.bool().default(false))))).toEqual({ kind: 'bool', default: false });
  });
});

describe('duckdbTypeOf and dtypeName', () => {
  const cases: [DType, string, string][] = [
    [t.int64(), 'BIGINT', 'int64'],
    [t.int32(), 'INTEGER', 'int32'],
    [t.float64(), 'DOUBLE', 'float64'],
    [t.float32(), 'FLOAT', 'float32'],
    [t.string(), 'VARCHAR', 'string'],
    [t.bool(), 'BOOLEAN', 'bool'],
    [t.timestamp(), 'TIMESTAMPTZ', 'timestamp'],
    [t.array(t.float32()), 'FLOAT[]', 'array<float32>'],
    [t.array(t.string()), 'VARCHAR[]', 'array<string>'],
  ];
  it.each(cases)('%#: maps %o', (dtype, duckdb, name) => {
    expect(duckdbTypeOf(dtype)).toBe(duckdb);
    expect(dtypeName(dtype)).toBe(name);
    // The registry only holds specs, so both must accept a spec too.
    expect(duckdbTypeOf(dtypeSpec(dtype))).toBe(duckdb);
    expect(dtypeName(dtypeSpec(dtype))).toBe(name);
  });
});

describe('dtype types', () => {
  it('carry the JavaScript value type', () => {
    expectTypeOf(t.int64()).toEqualTypeOf<DType<number>>();
    expectTypeOf(t.int32()).toEqualTypeOf<DType<number>>();
    expectTypeOf(t.float32()).toEqualTypeOf<DType<number>>();
    expectTypeOf(t.string()).toEqualTypeOf<DType<string>>();
    expectTypeOf(t.bool()).toEqualTypeOf<DType<boolean>>();
    expectTypeOf(t.timestamp()).toEqualTypeOf<DType<Date>>();
    expectTypeOf(t.array(t.float32())).toEqualTypeOf<DType<number[]>>();
    expectTypeOf(t.array(t.string())).toEqualTypeOf<DType<string[]>>();
    expectTypeOf<Infer<ReturnType<typeof t.timestamp>>>().toEqualTypeOf<Date>();
    expectTypeOf<InferFields<{ a: DType<number>; b: DType<string> }>>().toEqualTypeOf<{ a: number | null; b: string | null }>();
  });

  it('keep the value type through modifiers', () => {
    expectTypeOf(t.int64().describe('x').expect({ min: 0 }).default(1)).toEqualTypeOf<DType<number>>();
    expectTypeOf(t.int64().default).parameter(0).toEqualTypeOf<number>();
    expectTypeOf(t.timestamp().default).parameter(0).toEqualTypeOf<Date>();
  });

  it('let .default() take only the value type', () => {
    t.int64().default(0);
    t.string().default('');
    t.timestamp().default(new Date(0));
    t.array(t.float32()).default([0, 1]);
    // @ts-expect-error a string is not an int64 default
    t.int64().default('0');
    // @ts-expect-error null is not a default: a missing value is already null
    t.float64().default(null);
    // @ts-expect-error a timestamp default is a Date, not text
    t.timestamp().default('2024-01-01');
    // @ts-expect-error an array default is an array of the element type
    t.array(t.float32()).default(['a']);
    // @ts-expect-error a bool default is a boolean
    t.bool().default(1);
    // @ts-expect-error expectations take known keys only
    t.int64().expect({ minimum: 0 });
  });
});
