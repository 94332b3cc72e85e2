import { describe, expect, it } from 'vitest';
import { entity, fileSource, featureView, type EntityDef } from './define/definitions.ts';
import { t } from './define/dtypes.ts';
import { entityKeyOf, onlineLayout } from './online-layout.ts';

const origin = entity('origin', { joinKeys: { origin: t.string() } });
const route = entity('route', { joinKeys: { dest: t.string(), carrier: t.int64() } });
const source = fileSource('flights', { path: 'data/f.parquet', timestamp: 'ts' });
const view = featureView('route_daily', {
  entities: [origin, route], source, ttl: '2d',
  features: { avg_delay: t.float64().default(0), n: t.int64(), at: t.timestamp() },
});
const entities = new Map<string, EntityDef>([['origin', origin], ['route', route]]);

describe('onlineLayout', () => {
  it('lists features in declared order with their dtype specs and the ttl in ms', () => {
    const layout = onlineLayout('flights', view);
    expect(layout).toEqual({
      project: 'flights', view: 'route_daily', ttlMs: 2 * 86_400_000,
      features: [
        { name: 'avg_delay', dtype: { kind: 'float64', default: 0 } },
        { name: 'n', dtype: { kind: 'int64' } },
        { name: 'at', dtype: { kind: 'timestamp' } },
      ],
    });
  });

  it('gives the same object for the same view and project, so store codecs are cached', () => {
    expect(onlineLayout('flights', view)).toBe(onlineLayout('flights', view));
    expect(onlineLayout('other', view)).not.toBe(onlineLayout('flights', view));
    expect(onlineLayout('other', view).project).toBe('other');
  });

  it('has a null ttl for views without one', () => {
    const forever = featureView('forever', { entities: [origin], source, features: { x: t.bool() } });
    expect(onlineLayout('p', forever).ttlMs).toBeNull();
  });
});

describe('entityKeyOf', () => {
  it('encodes every entity\'s join keys in declared order', () => {
    expect(entityKeyOf(view, entities, { carrier: 7, dest: 'JFK', origin: 'SFO', other: 1 })).toBe('SFO|JFK|7');
  });

  it('is null when a join key is missing or null', () => {
    expect(entityKeyOf(view, entities, { origin: 'SFO', dest: 'JFK' })).toBeNull();
    expect(entityKeyOf(view, entities, { origin: null, dest: 'JFK', carrier: 1 })).toBeNull();
  });

  it('resolves entities named by string through the map', () => {
    const byName = featureView('by_name', { entities: ['origin'], source, features: { x: t.bool() } });
    expect(entityKeyOf(byName, entities, { origin: 'a|b' })).toBe('a%7Cb');
  });
});
