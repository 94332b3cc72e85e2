import { describe, expect, it } from 'vitest';
import { compareSemver, nextVersion, parseSemver, signatureKey } from './semver.ts';

describe('model versions', () => {
  it('starts at 1.0.0, bumps minor for the same inputs and major for changed inputs', () => {
    expect(nextVersion(undefined, false)).toEqual({ version: '1.0.0', bump: 'initial' });
    expect(nextVersion('1.0.0', false)).toEqual({ version: '1.1.0', bump: 'minor' });
    expect(nextVersion('1.9.3', false)).toEqual({ version: '1.10.0', bump: 'minor' });
    expect(nextVersion('1.9.3', true)).toEqual({ version: '2.0.0', bump: 'major' });
  });

  it('orders numerically, not as text', () => {
    const sorted = ['1.10.0', '1.2.0', '10.0.0', '2.0.0'].sort((a, b) => compareSemver(parseSemver(a) ?? [0, 0, 0], parseSemver(b) ?? [0, 0, 0]));
    expect(sorted).toEqual(['1.2.0', '1.10.0', '2.0.0', '10.0.0']);
    expect(parseSemver('01.0.0')).toBeUndefined();
    expect(parseSemver('1.0')).toBeUndefined();
  });

  it('treats names, order, types and shapes as the signature', () => {
    const base = [{ name: 'a', type: 'float32', shape: ['N', 1] }, { name: 'b', type: 'int64', shape: ['N', 1] }];
    expect(signatureKey(base)).toBe(signatureKey(base.map((i) => ({ ...i }))));
    expect(signatureKey(base)).not.toBe(signatureKey([...base].reverse()));
    expect(signatureKey(base)).not.toBe(signatureKey([base[0]!, { ...base[1]!, type: 'float64' }]));
    expect(signatureKey(base)).not.toBe(signatureKey([base[0]!, { ...base[1]!, shape: ['N', 2] }]));
  });
});
