import { describe, expect, it } from 'vitest';
import { isLarderError } from '../../errors.ts';
import { checkEntityKey, decodeEntityKey, encodeEntityKey } from './entity-key.ts';
import { seeded } from './online-store.suite.ts';

const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('encodeEntityKey', () => {
  it('writes scalars as text: numbers and the numeric strings that print the same are one key', () => {
    expect(encodeEntityKey(['id'], { id: 'SFO' })).toBe('SFO');
    expect(encodeEntityKey(['id'], { id: 42 })).toBe('42');
    expect(encodeEntityKey(['id'], { id: 42n })).toBe('42');
    expect(encodeEntityKey(['id'], { id: '42' })).toBe('42');
    expect(encodeEntityKey(['id'], { id: -0 })).toBe('0');
    expect(encodeEntityKey(['id'], { id: 0.1 })).toBe('0.1');
    expect(encodeEntityKey(['id'], { id: '042' })).not.toBe(encodeEntityKey(['id'], { id: 42 }));
    expect(encodeEntityKey(['id'], { id: true })).toBe('true');
    expect(encodeEntityKey(['id'], { id: new Date(Date.UTC(2024, 0, 2)) })).toBe('2024-01-02T00:00:00.000Z');
    expect(encodeEntityKey(['origin', 'dest'], { dest: 'JFK', origin: 'SFO', extra: 1 })).toBe('SFO|JFK');
    expect(encodeEntityKey([], {})).toBe('');
  });

  it('escapes %, |, {, } and lone surrogates, and nothing else', () => {
    expect(encodeEntityKey(['a', 'b'], { a: 'x|y{z}%', b: 'a:b c\u0000' })).toBe('x%7Cy%7Bz%7D%25|a:b c\u0000');
    expect(encodeEntityKey(['a'], { a: 'bad\uD800!' })).toBe('bad%uD800!');
    expect(encodeEntityKey(['a'], { a: '🚀 e\u0301' })).toBe('🚀 e\u0301');
  });

  it('is injective and reversible on random values full of separators, and always well-formed without braces', () => {
    const random = seeded(11);
    const alphabet = ['a', '|', '%', '{', '}', ':', ' ', '\u0000', '7', 'C', '%7C', '\uD83D', '\uDE80', '🚀', 'é', ''];
    const text = (): string => Array.from({ length: Math.floor(random() * 5) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const seen = new Map<string, string>();
    for (let i = 0; i < 5000; i++) {
      const values = Array.from({ length: 1 + Math.floor(random() * 3) }, text);
      const names = values.map((_, j) => `k${j}`);
      const key = encodeEntityKey(names, Object.fromEntries(names.map((n, j) => [n, values[j]])));
      expect(LONE.test(key)).toBe(false);
      expect(/[{}]/.test(key)).toBe(false);
      expect(decodeEntityKey(key)).toEqual(values);
      const tuple = JSON.stringify(values);
      const previous = seen.get(key);
      if (previous !== undefined) expect(previous).toBe(tuple);
      seen.set(key, tuple);
    }
  });

  it('refuses missing, null, non-finite and non-scalar values', () => {
    for (const value of [undefined, null, Number.NaN, Number.POSITIVE_INFINITY, {}, ['a'], new Date(Number.NaN)]) {
      let error: unknown;
      try { encodeEntityKey(['id'], { id: value }); } catch (e) { error = e; }
      expect(isLarderError(error) && error.code, String(value)).toBe('LARDER_E_INVALID_ENTITIES');
    }
  });

  it('checkEntityKey accepts encoded keys and refuses malformed ones', () => {
    expect(checkEntityKey('a|b')).toBe('a|b');
    expect(() => checkEntityKey('\uDE80')).toThrow(/well-formed/);
    expect(() => checkEntityKey(42)).toThrow(/well-formed/);
  });
});
