/**
 * EntityKeySet: exact answers while it holds every key, a bounded table and an unbiased repeat
 * rate once it samples.
 */
import { describe, expect, it } from 'vitest';
import { EntityKeySet, KeySeen } from './entity-key-set.ts';

describe('EntityKeySet', () => {
  it('tells new keys from repeats across growth, for numeric, unicode and composite-looking keys', () => {
    const set = new EntityKeySet();
    const keys = [...Array.from({ length: 20_000 }, (_, i) => String(i)), 'café', 'cafe\u0301', 'a|b', 'a', '|ab', ''];
    for (const key of keys) expect(set.add(key), key).toBe(KeySeen.New);
    for (const key of keys) expect(set.add(key), key).toBe(KeySeen.Repeat);
    expect(set.size).toBe(keys.length);
    set.clear();
    expect(set.size).toBe(0);
    expect(set.add('café')).toBe(KeySeen.New);
  });

  it('with maxKeys, holds a hash sample whose repeat rate estimates the whole stream', () => {
    const set = new EntityKeySet({ maxKeys: 1024 });
    let rows = 0;
    let repeats = 0;
    // 200 000 distinct keys, then every 10th of them again: 1/11 of the rows repeat.
    const stream = [...Array.from({ length: 200_000 }, (_, i) => `k${i}`), ...Array.from({ length: 20_000 }, (_, i) => `k${i * 10}`)];
    for (const key of stream) {
      const seen = set.add(key);
      if (seen === KeySeen.Outside) continue;
      rows += set.sampleWeight;
      if (seen === KeySeen.Repeat) repeats += set.sampleWeight;
    }
    expect(set.size).toBeLessThanOrEqual(2048);
    expect(set.sampleWeight).toBeGreaterThanOrEqual(64);
    expect(rows / stream.length).toBeGreaterThan(0.5);
    expect(rows / stream.length).toBeLessThan(2);
    expect(repeats / rows).toBeGreaterThan(0.5 / 11);
    expect(repeats / rows).toBeLessThan(2 / 11);
  });
});
