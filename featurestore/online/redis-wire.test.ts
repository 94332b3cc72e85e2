import { describe, expect, it } from 'vitest';
import { ByteWriter } from './bytes.ts';
import { layoutOf, row } from './online-store.suite.ts';
import { distinctKeys, repeatsKey, writeBatchCommand } from './redis-batch.ts';
import { checkKeyPrefix, keySegment, projectKeyPrefix, valueKey } from './redis-keys.ts';
import { encodeRows, viewCodec } from './value-codec.ts';

describe('redis key names', () => {
  it('escape project and view names so that : only separates segments and globs match literally', () => {
    expect(keySegment('flights')).toBe('flights');
    expect(keySegment('test-1.a_b')).toBe('test-1.a_b');
    expect(keySegment('a:b*c?{d}')).toBe('a%3Ab%2Ac%3F%7Bd%7D');
    expect(keySegment('東')).toBe('%E6%9D%B1');
    expect(valueKey('larder', 'p:x', 'daily', 'SFO|JFK')).toBe('larder:p%3Ax:daily:{SFO|JFK}');
    expect(projectKeyPrefix('app:larder', 'p')).toBe('app:larder:p:');
  });

  it('refuse a key prefix that opens a hash tag or holds glob characters', () => {
    expect(checkKeyPrefix('app:larder')).toBe('app:larder');
    for (const bad of ['', 'a{b', 'a}', 'a*', 'a?', 'a[b]', 'a\\b']) expect(() => checkKeyPrefix(bad), bad).toThrow(/keyPrefix/);
  });
});

describe('write batch wire format', () => {
  const layout = layoutOf('p', 'v', { s: 'string' });
  const rows = [row('a', ['x'], 1), row('é', ['y'], 2), row('a', ['z'], 3)];
  const keys = rows.map((r) => r.entityKey);
  const encoded = encodeRows(viewCodec(layout), rows);
  const value = (i: number): string => encoded.bytes.subarray(i === 0 ? 0 : encoded.ends[i - 1], encoded.ends[i]).toString('latin1');
  const prefix = Buffer.from('larder:p:v:{');
  const keyE = Buffer.from('larder:p:v:{é}');
  const script = (flags: string) => ({ kind: 'evalsha', sha: 'f'.repeat(40), flags }) as const;

  it('is one EVALSHA with the keys, flags, values and, with a ttl, the expiries', () => {
    const wire = writeBatchCommand(new ByteWriter(16), script('x'), prefix, keys, encoded, Float64Array.from([10, 20, 30]), { start: 0, end: 2 });
    expect(wire.toString('latin1')).toBe([
      '*10', '$7', 'EVALSHA', '$40', 'f'.repeat(40), '$1', '2',
      '$14', 'larder:p:v:{a}', `$${keyE.length}`, keyE.toString('latin1'),
      '$1', 'x', `$${value(0).length}`, value(0), `$${value(1).length}`, value(1),
      '$2', '10', '$2', '20', '',
    ].join('\r\n'));
  });

  it('is a plain MSETNX of keys and values on the fast path', () => {
    const wire = writeBatchCommand(new ByteWriter(16), { kind: 'msetnx' }, prefix, keys, encoded, null, { start: 0, end: 2 });
    expect(wire.toString('latin1')).toBe([
      '*5', '$6', 'MSETNX',
      '$14', 'larder:p:v:{a}', `$${value(0).length}`, value(0),
      `$${keyE.length}`, keyE.toString('latin1'), `$${value(1).length}`, value(1), '',
    ].join('\r\n'));
  });

  it('finds keys that repeat in a slice, so the script applies their rows one by one', () => {
    expect(repeatsKey(keys, 0, 3)).toBe(true);
    expect(repeatsKey(keys, 1, 3)).toBe(false);
    const wire = writeBatchCommand(new ByteWriter(16), script('d'), prefix, keys, encoded, null, { start: 0, end: 3 }).toString('latin1');
    expect(wire.startsWith('*10\r\n')).toBe(true);
    expect(wire).toContain('\r\n$1\r\nd\r\n');
  });

  it('tells whether a whole call\'s keys are distinct, however far apart a repeat is', () => {
    const many = Array.from({ length: 100_000 }, (_, i) => String(i));
    expect(distinctKeys(many, many.length)).toBe(true);
    expect(distinctKeys([...many, '0'], many.length + 1)).toBe(false);
    expect(distinctKeys([...many, '0'], many.length)).toBe(true); // only the first `count` keys count
    expect(distinctKeys(['é', 'e\u0301', 'a|b', 'a%7Cb'], 4)).toBe(true);
    expect(distinctKeys(['x', 'y', 'x'], 3)).toBe(false);
    expect(distinctKeys([], 0)).toBe(true);
  });

  it('writes bulk lengths of any number of digits', () => {
    const big = encodeRows(viewCodec(layout), [row('k', ['x'.repeat(12345)], 1)]);
    const wire = writeBatchCommand(new ByteWriter(16), { kind: 'msetnx' }, prefix, ['k'], big, null, { start: 0, end: 1 }).toString('latin1');
    expect(wire).toContain(`\r\n$${big.bytes.length}\r\n`);
    expect(wire.length).toBe(`*3\r\n$6\r\nMSETNX\r\n$14\r\nlarder:p:v:{k}\r\n$${big.bytes.length}\r\n`.length + big.bytes.length + 2);
  });
});
