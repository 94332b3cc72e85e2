import { describe, expect, it } from 'vitest';
import { ByteWriter } from './bytes.ts';
import { layoutOf, row } from './online-store.suite.ts';
import { writeBatchCommand } from './redis-batch.ts';
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
  const encoded = encodeRows(viewCodec(layout), rows);
  const value = (i: number): string => encoded.bytes.subarray(i === 0 ? 0 : encoded.ends[i - 1], encoded.ends[i]).toString('latin1');
  const prefix = Buffer.from('larder:p:v:{');

  it('is one EVALSHA with the keys, flags, values and, with a ttl, the expiries', () => {
    const wire = writeBatchCommand(new ByteWriter(16), 'f'.repeat(40), prefix, rows, encoded, Float64Array.from([10, 20, 30]), { start: 0, end: 2 });
    const keyE = Buffer.from('larder:p:v:{é}');
    expect(wire.toString('latin1')).toBe([
      '*10', '$7', 'EVALSHA', '$40', 'f'.repeat(40), '$1', '2',
      '$14', 'larder:p:v:{a}', `$${keyE.length}`, keyE.toString('latin1'),
      '$1', 'x', `$${value(0).length}`, value(0), `$${value(1).length}`, value(1),
      '$2', '10', '$2', '20', '',
    ].join('\r\n'));
  });

  it('flags a batch whose keys repeat, so the script applies its rows one by one', () => {
    const wire = writeBatchCommand(new ByteWriter(16), 'f'.repeat(40), prefix, rows, encoded, null, { start: 0, end: 3 }).toString('latin1');
    expect(wire.startsWith('*10\r\n')).toBe(true);
    expect(wire).toContain('\r\n$1\r\nd\r\n');
    expect(writeBatchCommand(new ByteWriter(16), 'f'.repeat(40), prefix, rows, encoded, null, { start: 1, end: 3 }).toString('latin1')).toContain('\r\n$0\r\n\r\n');
  });
});
