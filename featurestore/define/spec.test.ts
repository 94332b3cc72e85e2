import { describe, it, expect } from 'vitest';
import {
  entity, fileSource, sqlSource, requestSource, featureView, onDemandView, featureService,
} from './definitions.ts';
import { t } from './dtypes.ts';
import { specOf, canonicalJson } from './spec.ts';

const origin = entity('origin', { joinKeys: { origin: t.string() }, description: 'departure airport' });
const flights = fileSource('flights', { path: 'data/*.csv', timestamp: 'dep_time', createdTimestamp: 'ingested_at' });
const daily = sqlSource('daily', { query: 'SELECT * FROM t', timestamp: 'day' });
const clock = requestSource('clock', { schema: { sched_dep: t.timestamp() } });
const originDaily = featureView('origin_daily', {
  entities: [origin, 'route'], source: daily, ttl: '1h30m', tags: { team: 'ops' },
  features: { avg_delay: t.float64().default(0).expect({ min: 0 }), n_flights: t.int64().describe('count') },
});
const timeOfDay = onDemandView('time_of_day', {
  inputs: [clock, originDaily], features: { hour: t.int64() },
  compute: (row) => ({ hour: row.sched_dep.getUTCHours() }),
});

describe('specOf', () => {
  it('writes an entity with its key dtypes', () => {
    expect(specOf(origin)).toEqual({
      kind: 'entity', name: 'origin', joinKeys: { origin: { kind: 'string' } }, joinKeyOrder: ['origin'], description: 'departure airport',
    });
  });

  it('writes each kind of source', () => {
    expect(specOf(flights)).toEqual({
      kind: 'source', name: 'flights', type: 'file', path: 'data/*.csv', format: 'csv',
      timestamp: 'dep_time', createdTimestamp: 'ingested_at',
    });
    expect(specOf(daily)).toEqual({ kind: 'source', name: 'daily', type: 'sql', query: 'SELECT * FROM t', timestamp: 'day' });
    expect(specOf(clock)).toEqual({ kind: 'source', name: 'clock', type: 'request', schema: { sched_dep: { kind: 'timestamp' } } });
  });

  it('writes a feature view with references by name and the ttl in milliseconds', () => {
    expect(specOf(originDaily)).toEqual({
      kind: 'featureView', name: 'origin_daily', entities: ['origin', 'route'], source: 'daily',
      ttl: '1h30m', ttlMs: 5_400_000, tags: { team: 'ops' },
      features: {
        avg_delay: { kind: 'float64', default: 0, expect: { min: 0 } },
        n_flights: { kind: 'int64', description: 'count' },
      },
      featureOrder: ['avg_delay', 'n_flights'],
    });
    const forever = featureView('forever', { entities: [origin], source: daily, features: { x: t.bool() } });
    expect(Object.keys(specOf(forever)).sort()).toEqual(['entities', 'featureOrder', 'features', 'kind', 'name', 'source']);
  });

  it('writes an on-demand view with its inputs and the source text of compute', () => {
    const spec = specOf(timeOfDay);
    expect(spec).toMatchObject({
      kind: 'onDemandView', name: 'time_of_day',
      inputs: ['source:clock', 'featureView:origin_daily'],
      features: { hour: { kind: 'int64' } },
      featureOrder: ['hour'],
    });
    expect(spec.compute).toEqual(expect.stringContaining('getUTCHours'));
  });

  it('writes a feature service’s items as names, projections and refs', () => {
    const service = featureService('delay_model', {
      features: [originDaily, originDaily.select('avg_delay'), 'time_of_day:hour', timeOfDay], description: 'model',
    });
    expect(specOf(service)).toEqual({
      kind: 'featureService', name: 'delay_model', description: 'model',
      features: ['origin_daily', { view: 'origin_daily', features: ['avg_delay'] }, 'time_of_day:hour', 'time_of_day'],
    });
  });

  it('is plain JSON for every kind', () => {
    for (const def of [origin, flights, daily, clock, originDaily, timeOfDay, featureService('s', { features: [originDaily.select('avg_delay')] })]) {
      const spec = specOf(def);
      expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
    }
  });

  it('changes when an on-demand compute body changes, and only then', () => {
    const make = (compute: (row: { sched_dep: Date }) => { hour: number | null }) =>
      onDemandView('hour_of_day', { inputs: [clock], features: { hour: t.int64() }, compute });
    const a = make((row) => ({ hour: row.sched_dep.getUTCHours() }));
    const same = make((row) => ({ hour: row.sched_dep.getUTCHours() }));
    const edited = make((row) => ({ hour: (row.sched_dep.getUTCHours() + 1) % 24 }));
    expect(canonicalJson(specOf(same))).toBe(canonicalJson(specOf(a)));
    expect(canonicalJson(specOf(edited))).not.toBe(canonicalJson(specOf(a)));
  });

  it('changes when a dtype modifier changes', () => {
    const view = (avg: ReturnType<typeof t.float64>) =>
      canonicalJson(specOf(featureView('v', { entities: [origin], source: daily, features: { avg } })));
    const base = view(t.float64());
    expect(view(t.float64())).toBe(base);
    expect(view(t.float64().default(0))).not.toBe(base);
    expect(view(t.float64().describe('x'))).not.toBe(base);
    expect(view(t.float64().expect({ max: 1 }))).not.toBe(base);
    expect(view(t.float32())).not.toBe(base);
  });
});

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson([2, 1])).toBe('[2,1]');
  });

  it('gives the same text for the same definition written with options in another order', () => {
    const a = featureView('v', { entities: [origin], source: daily, ttl: '2d', features: { x: t.int64(), y: t.bool() }, tags: { b: '2', a: '1' } });
    const b = featureView('v', { tags: { a: '1', b: '2' }, features: { x: t.int64(), y: t.bool() }, ttl: '2d', source: daily, entities: [origin] });
    expect(JSON.stringify(specOf(a))).not.toBe(JSON.stringify(specOf(b)));
    expect(canonicalJson(specOf(a))).toBe(canonicalJson(specOf(b)));
  });

  it('still tells feature and key order apart, which is column and key encoding order', () => {
    const a = featureView('v', { entities: [origin], source: daily, features: { x: t.int64(), y: t.bool() } });
    const b = featureView('v', { entities: [origin], source: daily, features: { y: t.bool(), x: t.int64() } });
    expect(canonicalJson(specOf(a))).not.toBe(canonicalJson(specOf(b)));
    expect(JSON.parse(canonicalJson(specOf(b))).featureOrder).toEqual(['y', 'x']);
    const hour = (features: Record<string, ReturnType<typeof t.int64>>) =>
      canonicalJson(specOf(onDemandView('od', { inputs: [clock], features, compute: () => ({ a: 1, b: 2 }) })));
    expect(hour({ a: t.int64(), b: t.int64() })).not.toBe(hour({ b: t.int64(), a: t.int64() }));
    const route = entity('route', { joinKeys: { origin: t.string(), dest: t.string() } });
    const routeSwapped = entity('route', { joinKeys: { dest: t.string(), origin: t.string() } });
    expect(canonicalJson(specOf(route))).not.toBe(canonicalJson(specOf(routeSwapped)));
  });
});
