import { describe, expect, it } from 'vitest';
import { isLarderError } from '../../errors.ts';
import { layoutOf, row, seeded } from './online-store.suite.ts';
import { rowsOfColumns } from './store.ts';
import {
  CorruptValueError, FORMAT_VERSION, HEADER_BYTES, compareFreshness, decodeValue, encodeColumns, encodeRows, freshnessPrefix, layoutFingerprint, viewCodec,
} from './value-codec.ts';

const sign = (n: number): number => (n > 0 ? 1 : n < 0 ? -1 : 0);

/** The oracle: (eventTs, createdTs) ordered numerically, a null createdTs below any other. */
function oracle(a: [number, number | null], b: [number, number | null]): number {
  if (a[0] !== b[0]) return sign(a[0] - b[0]);
  return sign((a[1] ?? -Infinity) - (b[1] ?? -Infinity)) || 0;
}

/** What the Lua script does: four big-endian unsigned 32-bit words, compared in order. */
function luaCompare(a: Buffer, b: Buffer): number {
  for (let i = 0; i < 16; i += 4) {
    const x = a.readUInt32BE(i);
    const y = b.readUInt32BE(i);
    if (x !== y) return sign(x - y);
  }
  return 0;
}

describe('freshness prefix', () => {
  const random = seeded(2024);
  const times = [0, -0, 1, -1, 2 ** 32, -(2 ** 32), 2 ** 32 - 1, -(2 ** 32) + 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 8.64e15, -8.64e15, 1_700_000_000_000, -62_135_596_800_000];
  const pick = (): number => {
    const r = random();
    if (r < 0.3) return times[Math.floor(random() * times.length)] as number;
    if (r < 0.6) return Math.floor((random() - 0.5) * 2 * 4e12); // around 1970, both sides
    if (r < 0.8) return 1_700_000_000_000 + Math.floor(random() * 5); // near-equal
    return Math.floor((random() - 0.5) * 2 * Number.MAX_SAFE_INTEGER);
  };

  it('orders byte-wise, and as the Lua script reads it, like (eventTs, createdTs) numerically', () => {
    for (let i = 0; i < 5000; i++) {
      const a: [number, number | null] = [pick(), random() < 0.2 ? null : pick()];
      const b: [number, number | null] = random() < 0.2 ? [a[0], a[1]] : [random() < 0.3 ? a[0] : pick(), random() < 0.2 ? null : pick()];
      const pa = freshnessPrefix(...a);
      const pb = freshnessPrefix(...b);
      const want = oracle(a, b);
      expect(sign(Buffer.compare(pa, pb)), `${a} vs ${b}`).toBe(want);
      expect(luaCompare(pa, pb), `${a} vs ${b}`).toBe(want);
    }
  });

  it('sits at the start of every encoded value, with the format and layout after it', () => {
    const layout = layoutOf('p', 'v', { x: 'float64' });
    const { bytes } = encodeRows(viewCodec(layout), [row('k', [1], -123_456, 789)]);
    expect(bytes.subarray(0, 16).equals(freshnessPrefix(-123_456, 789))).toBe(true);
    expect(bytes[16]).toBe(FORMAT_VERSION);
    expect(bytes.readUInt32BE(17)).toBe(layoutFingerprint(layout));
    expect(compareFreshness(bytes, freshnessPrefix(-123_456, 790))).toBeLessThan(0);
  });
});

describe('value codec', () => {
  it('round-trips many features (a null bitmap over several bytes) and nested arrays', () => {
    const features = Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`f${i}`, i % 2 === 0 ? 'float64' as const : 'string' as const]));
    const layout = layoutOf('p', 'v', { ...features, nested: { kind: 'array', element: { kind: 'array', element: { kind: 'int32' } } }, sparse: { kind: 'array', element: { kind: 'float64' } } });
    const values = [...Array.from({ length: 19 }, (_, i) => (i % 3 === 0 ? null : i % 2 === 0 ? i * 1.5 : `s${i}`)), [[1, 2], [], null, [3]],
      Array.from({ length: 20 }, (_, i) => (i % 7 === 0 ? null : i))];
    const codec = viewCodec(layout);
    const { bytes } = encodeRows(codec, [row('k', values, 1, 2)]);
    expect(decodeValue(codec, bytes)).toEqual({ values, eventTs: 1, createdTs: 2 });
  });

  it('encodes compactly: 10 float64 features take 21 + 2 + 80 bytes', () => {
    const layout = layoutOf('p', 'v', Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}`, 'float64' as const])));
    const { bytes, ends } = encodeRows(viewCodec(layout), [row('a', Array.from({ length: 10 }, (_, i) => i), 1), row('b', Array(10).fill(null), 1)]);
    expect([...ends]).toEqual([HEADER_BYTES + 2 + 80, 2 * (HEADER_BYTES + 2) + 80]);
    expect(bytes.length).toBe(ends[1]);
  });

  it('reads a value of another layout or format as absent, and refuses truncated or padded bytes', () => {
    const codec = viewCodec(layoutOf('p', 'v', { a: 'string', b: 'int32' }));
    const { bytes } = encodeRows(codec, [row('k', ['hello', 7], 1)]);
    expect(decodeValue(viewCodec(layoutOf('p', 'v', { a: 'string', b: 'int64' })), bytes)).toBeNull();
    expect(decodeValue(viewCodec(layoutOf('p', 'v', { b: 'int32', a: 'string' })), bytes)).toBeNull();
    const otherFormat = Buffer.from(bytes);
    otherFormat[16] = FORMAT_VERSION + 1;
    expect(decodeValue(codec, otherFormat)).toBeNull();
    expect(decodeValue(codec, bytes.subarray(0, 10))).toBeNull();
    expect(() => decodeValue(codec, bytes.subarray(0, bytes.length - 1))).toThrow(CorruptValueError);
    expect(() => decodeValue(codec, Buffer.concat([bytes, Buffer.from([0])]))).toThrow(CorruptValueError);
  });

  it('counts every bad row and lists the first twenty', () => {
    const codec = viewCodec(layoutOf('p', 'v', { x: 'bool' }));
    const rows = Array.from({ length: 30 }, (_, i) => row(`k${i}`, [i % 3 === 0 ? true : 'yes'], 1));
    try {
      encodeRows(codec, rows);
      expect.unreachable();
    } catch (error) {
      expect(isLarderError(error) && error.code).toBe('LARDER_E_INVALID_REQUEST');
      const details = (error as { details: { count: number; problems: { row: number; message: string }[] } }).details;
      expect(details.count).toBe(20);
      expect(details.problems[0]).toEqual({ row: 1, feature: 'x', message: 'x (bool): expected a boolean, got the string "yes"' });
    }
  });

  it('encodes columns to the same bytes as the same rows, typed-array columns included', () => {
    const layout = layoutOf('p', 'v', { x: 'float64', y: 'float32', s: 'string', n: 'int64', when: 'timestamp' });
    const columns = {
      length: 3, entityKeys: ['a', 'b', 'c'],
      features: [Float64Array.from([1.5, -0, Number.NaN]), Float64Array.from([0.1, 2, 3]), ['x', null, ''], [1, null, 2 ** 53 - 1], [new Date(5), 6, null]],
      eventTs: Float64Array.from([1, -2, 3]), createdTs: [7, 4, 5],
    };
    const codec = viewCodec(layout);
    const viaColumns = encodeColumns(codec, columns);
    const viaRows = encodeRows(codec, rowsOfColumns(columns));
    expect(viaColumns.bytes.equals(viaRows.bytes)).toBe(true);
    expect([...viaColumns.ends]).toEqual([...viaRows.ends]);
    const bad = { ...columns, features: [['1', 2, 3], ...columns.features.slice(1)] };
    expect(() => encodeColumns(codec, bad)).toThrow(/1 bad row\(s\).*row 0: x \(float64\): expected a number/);
  });

  it('fingerprints names, order and dtypes, not descriptions or defaults', () => {
    const base = layoutFingerprint(layoutOf('p', 'v', { a: 'float64', b: 'string' }));
    expect(layoutFingerprint(layoutOf('other', 'w', { a: { kind: 'float64', description: 'x', default: 1 }, b: 'string' }))).toBe(base);
    expect(layoutFingerprint(layoutOf('p', 'v', { b: 'string', a: 'float64' }))).not.toBe(base);
    expect(layoutFingerprint(layoutOf('p', 'v', { a: 'float32', b: 'string' }))).not.toBe(base);
    expect(layoutFingerprint(layoutOf('p', 'v', { a: { kind: 'array', element: { kind: 'float32' } } }))).not.toBe(layoutFingerprint(layoutOf('p', 'v', { a: { kind: 'array', element: { kind: 'float64' } } })));
  });
});
