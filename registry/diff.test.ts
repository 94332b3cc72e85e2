import { describe, expect, it } from 'vitest';
import { diffSpecs } from './diff.ts';

describe('diffSpecs', () => {
  it('is empty for equal values, whatever the key order', () => {
    expect(diffSpecs({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual([]);
  });

  it('gives one change per differing leaf with dotted paths, in key order', () => {
    const before = { kind: 'featureView', name: 'v', ttl: '1d', features: { avg_delay: { kind: 'float32' }, n: { kind: 'int64' } } };
    const after = { kind: 'featureView', name: 'v', ttl: '2d', features: { avg_delay: { kind: 'float64', default: 0 }, n: { kind: 'int64' } } };
    expect(diffSpecs(before, after)).toEqual([
      { path: 'features.avg_delay.default', before: undefined, after: 0 },
      { path: 'features.avg_delay.kind', before: 'float32', after: 'float64' },
      { path: 'ttl', before: '1d', after: '2d' },
    ]);
  });

  it('reports added and removed keys, including whole objects', () => {
    expect(diffSpecs({ a: 1, gone: { x: 1 } }, { a: 1, added: [1] })).toEqual([
      { path: 'added', before: undefined, after: [1] },
      { path: 'gone', before: { x: 1 }, after: undefined },
    ]);
  });

  it('compares equal-length arrays by index and reports a length change as one whole-array change', () => {
    expect(diffSpecs({ entities: ['a', 'b'] }, { entities: ['a', 'c'] })).toEqual([{ path: 'entities[1]', before: 'b', after: 'c' }]);
    expect(diffSpecs({ features: [{ view: 'v', features: ['x'] }] }, { features: [{ view: 'v', features: ['y'] }] }))
      .toEqual([{ path: 'features[0].features[0]', before: 'x', after: 'y' }]);
    expect(diffSpecs({ entities: ['a'] }, { entities: ['b', 'a'] })).toEqual([{ path: 'entities', before: ['a'], after: ['b', 'a'] }]);
  });

  it('quotes keys that are not identifiers and reports type changes at the node', () => {
    expect(diffSpecs({ tags: { 'team name': 'a' } }, { tags: { 'team name': 'b' } })).toEqual([{ path: 'tags["team name"]', before: 'a', after: 'b' }]);
    expect(diffSpecs({ x: { y: 1 } }, { x: [1] })).toEqual([{ path: 'x', before: { y: 1 }, after: [1] }]);
    expect(diffSpecs({ x: null }, { x: { y: 1 } })).toEqual([{ path: 'x', before: null, after: { y: 1 } }]);
    expect(diffSpecs(1, 2)).toEqual([{ path: '', before: 1, after: 2 }]);
  });
});
