import { describe, it, expect, expectTypeOf } from 'vitest';
import { BRAND, isDefinition } from './brand.ts';
import {
  entity, fileSource, sqlSource, requestSource, featureView, onDemandView, featureService,
  type EntityDef, type FeatureViewDef, type FeatureViewProjection, type OnDemandRow,
} from './definitions.ts';
import { t, type DType } from './dtypes.ts';

const origin = entity('origin', { joinKeys: { origin: t.string() }, description: 'departure airport' });
const route = entity('route', { joinKeys: { origin: t.string(), dest: t.string() } });
const dailySource = fileSource('origin_daily', { path: 'data/origin_daily.parquet', timestamp: 'day' });
const originDaily = featureView('origin_daily', {
  entities: [origin], source: dailySource, ttl: '2d',
  features: { avg_delay: t.float64().default(0), n_flights: t.int64() },
});
const clock = requestSource('clock', { schema: { sched_dep: t.timestamp() } });
const timeOfDay = onDemandView('time_of_day', {
  inputs: [clock, originDaily],
  features: { hour: t.int64(), busy: t.bool() },
  compute: (row) => ({ hour: row.sched_dep.getUTCHours(), busy: (row.n_flights ?? 0) > 300 }),
});

describe('builders', () => {
  const service = featureService('delay_model', { features: [originDaily.select('avg_delay'), timeOfDay] });
  const sql = sqlSource('daily', { query: 'SELECT 1 AS x, now() AS day', timestamp: 'day' });
  const all = [
    ['entity', origin], ['source', dailySource], ['source', sql], ['source', clock],
    ['featureView', originDaily], ['onDemandView', timeOfDay], ['featureService', service],
  ] as const;

  it.each(all)('%s: frozen, branded and recognised by kind', (kind, def) => {
    expect(def.kind).toBe(kind);
    expect(Object.isFrozen(def)).toBe(true);
    expect((def as unknown as Record<symbol, unknown>)[BRAND]).toBe(kind);
    expect(isDefinition(def)).toBe(true);
    expect(isDefinition(def, kind)).toBe(true);
    for (const other of ['entity', 'source', 'featureView', 'onDemandView', 'featureService'] as const) {
      if (other !== kind) expect(isDefinition(def, other)).toBe(false);
    }
  });

  it('freeze what a definition holds, not just its top level', () => {
    expect(Object.isFrozen(originDaily.entities)).toBe(true);
    expect(Object.isFrozen(originDaily.features)).toBe(true);
    expect(Object.isFrozen(route.joinKeys)).toBe(true);
    expect(Object.isFrozen(service.features)).toBe(true);
    expect(() => { (originDaily as { name: string }).name = 'other'; }).toThrow(TypeError);
  });

  it('keep the brand off the enumerable keys, so a spread copy is not a definition', () => {
    expect(Object.keys(origin)).not.toContain(BRAND);
    expect(isDefinition({ ...origin })).toBe(false);
  });

  it('brand under the global symbol, so a definition from another copy of larder is recognised', () => {
    const foreign = { kind: 'entity', name: 'x', joinKeys: {}, [Symbol.for('larder.definition')]: 'entity' };
    expect(isDefinition(foreign)).toBe(true);
    expect(isDefinition(foreign, 'entity')).toBe(true);
    expect(isDefinition({ kind: 'entity', name: 'x', [Symbol('larder.definition')]: 'entity' })).toBe(false);
  });

  it('recognise only known kinds', () => {
    expect(isDefinition({ [Symbol.for('larder.definition')]: 'model' })).toBe(false);
    expect(isDefinition({ [Symbol.for('larder.definition')]: true })).toBe(false);
    expect(isDefinition({ kind: 'entity', name: 'origin' })).toBe(false);
    expect(isDefinition(null)).toBe(false);
    expect(isDefinition('entity')).toBe(false);
  });

  it('leave unset options absent rather than undefined', () => {
    expect(Object.hasOwn(route, 'description')).toBe(false);
    expect(Object.hasOwn(dailySource, 'createdTimestamp')).toBe(false);
    expect(Object.hasOwn(originDaily, 'tags')).toBe(false);
    expect(origin.description).toBe('departure airport');
  });

  it('never throw, even on bad input: problems are reported by buildProject', () => {
    expect(() => entity('Bad-Name', { joinKeys: {} })).not.toThrow();
    expect(() => featureView('1x', { entities: ['nope'], source: dailySource, ttl: 'soon', features: {} })).not.toThrow();
  });
});

describe('entity', () => {
  it('holds a composite key in declaration order', () => {
    expect(Object.keys(route.joinKeys)).toEqual(['origin', 'dest']);
    expect(route.joinKeys.dest.kind).toBe('string');
    expectTypeOf(route.$inferKeys).toEqualTypeOf<{ origin: string; dest: string }>();
    const flight = entity('flight', { joinKeys: { carrier: t.string(), number: t.int32() } });
    expectTypeOf(flight.$inferKeys).toEqualTypeOf<{ carrier: string; number: number }>();
  });
});

describe('sources', () => {
  it.each([
    ['data/flights.parquet', 'parquet'],
    ['data/*.parquet', 'parquet'],
    ['data/flights.csv', 'csv'],
    ['data/FLIGHTS.CSV', 'csv'],
    ['data/**/*.csv', 'csv'],
    ['data/flights.csv.gz', 'csv'],
    ['data/flights', 'parquet'],
    ['data/csv/flights.parquet', 'parquet'],
  ])('fileSource infers the format of %s as %s', (path, format) => {
    expect(fileSource('s', { path, timestamp: 'ts' }).format).toBe(format);
  });

  it('fileSource keeps an explicit format and the created timestamp', () => {
    const s = fileSource('s', { path: 'data/export.txt', timestamp: 'ts', createdTimestamp: 'ingested_at', format: 'csv' });
    expect(s).toMatchObject({ type: 'file', format: 'csv', timestamp: 'ts', createdTimestamp: 'ingested_at' });
  });

  it('sqlSource and requestSource keep what they were given', () => {
    expect(sqlSource('q', { query: 'SELECT 1', timestamp: 'ts' })).toMatchObject({ type: 'sql', query: 'SELECT 1', timestamp: 'ts' });
    expect(clock).toMatchObject({ type: 'request', name: 'clock' });
    expect(clock.schema.sched_dep.kind).toBe('timestamp');
    expectTypeOf(clock.$inferRow).toEqualTypeOf<{ sched_dep: Date }>();
  });
});

describe('featureView', () => {
  it('holds entities, source, ttl and features', () => {
    expect(originDaily.entities).toEqual([origin]);
    expect(originDaily.source).toBe(dailySource);
    expect(originDaily.ttl).toBe('2d');
    expect(Object.keys(originDaily.features)).toEqual(['avg_delay', 'n_flights']);
    expect(featureView('by_name', { entities: ['origin'], source: dailySource, features: { x: t.int64() } }).entities).toEqual(['origin']);
  });

  it('select() makes a frozen projection of the view', () => {
    const p = originDaily.select('avg_delay');
    expect(p).toEqual({ kind: 'projection', view: originDaily, features: ['avg_delay'] });
    expect(p.view).toBe(originDaily);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.features)).toBe(true);
    expect(originDaily.select('n_flights', 'avg_delay').features).toEqual(['n_flights', 'avg_delay']);
    expect(Object.keys(originDaily)).not.toContain('select');
  });

  it('select() still knows its view when taken off the object', () => {
    const { select } = originDaily;
    expect(select('n_flights').view).toBe(originDaily);
    const { select: selectOnDemand } = timeOfDay;
    expect(selectOnDemand('hour').view).toBe(timeOfDay);
  });

  it('infers the row type and checks select() names', () => {
    expectTypeOf(originDaily.$inferRow).toEqualTypeOf<{ avg_delay: number | null; n_flights: number | null }>();
    expectTypeOf(originDaily.select('avg_delay')).toEqualTypeOf<FeatureViewProjection<'avg_delay'>>();
    expectTypeOf(originDaily.features.avg_delay).toEqualTypeOf<DType<number>>();
    expectTypeOf(originDaily.entities).toEqualTypeOf<readonly [typeof origin]>();
    // @ts-expect-error not a feature of origin_daily
    originDaily.select('nope');
    // @ts-expect-error selects features, not the view's name
    originDaily.select('origin_daily');
  });
});

describe('onDemandView', () => {
  it('holds inputs, features and the compute function, which runs on a row', () => {
    expect(timeOfDay.inputs).toEqual([clock, originDaily]);
    expect(Object.keys(timeOfDay.features)).toEqual(['hour', 'busy']);
    expect(timeOfDay.compute({ sched_dep: new Date('2024-05-01T17:30:00Z'), avg_delay: null, n_flights: 400 }))
      .toEqual({ hour: 17, busy: true });
    expect(timeOfDay.select('busy')).toEqual({ kind: 'projection', view: timeOfDay, features: ['busy'] });
  });

  it('types compute: the row is request fields and input view features, the result is the features', () => {
    type Row = Parameters<typeof timeOfDay.compute>[0];
    expectTypeOf<Row>().toEqualTypeOf<{ sched_dep: Date } & { avg_delay: number | null; n_flights: number | null }>();
    expectTypeOf<OnDemandRow<[typeof clock]>>().toEqualTypeOf<{ sched_dep: Date }>();
    expectTypeOf(timeOfDay.compute).returns.toEqualTypeOf<{ hour: number | null; busy: boolean | null }>();
    expectTypeOf(timeOfDay.$inferRow).toEqualTypeOf<{ hour: number | null; busy: boolean | null }>();
  });

  it('rejects a compute that does not return the features', () => {
    const inputs = [clock, originDaily] as const;
    const features = { hour: t.int64(), busy: t.bool() };
    onDemandView('ok_nulls', { inputs, features, compute: () => ({ hour: null, busy: null }) });
    onDemandView('wrong_type', {
      inputs, features,
      // @ts-expect-error hour is an int64, not text
      compute: (row) => ({ hour: String(row.sched_dep.getUTCHours()), busy: false }),
    });
    onDemandView('wrong_name', {
      inputs, features,
      // @ts-expect-error `hours` is not a feature, and `hour` is missing
      compute: (row) => ({ hours: row.sched_dep.getUTCHours(), busy: false }),
    });
    onDemandView('missing', {
      inputs, features,
      // @ts-expect-error busy is missing: return null for no value
      compute: (row) => ({ hour: row.sched_dep.getUTCHours() }),
    });
    onDemandView('unknown_input_field', {
      inputs, features,
      // @ts-expect-error the row has no field `arr_time`
      compute: (row) => ({ hour: row.arr_time, busy: false }),
    });
    onDemandView('nullable_input', {
      inputs, features,
      // @ts-expect-error n_flights may be null
      compute: (row) => ({ hour: 0, busy: row.n_flights > 300 }),
    });
  });
});

describe('featureService', () => {
  it('keeps views, projections and view:feature strings in order', () => {
    const service = featureService('delay_model', {
      features: [originDaily, originDaily.select('avg_delay'), 'time_of_day:hour', timeOfDay], description: 'delays',
    });
    expect(service.features).toHaveLength(4);
    expect(service.features[0]).toBe(originDaily);
    expect(service.features[1]).toEqual({ kind: 'projection', view: originDaily, features: ['avg_delay'] });
    expect(service.features[2]).toBe('time_of_day:hour');
    expect(service.features[3]).toBe(timeOfDay);
    expect(service.description).toBe('delays');
  });

  it('accepts typed views and rejects what is not a feature list', () => {
    const typed: FeatureViewDef<{ a: DType<number> }, readonly [EntityDef]> = featureView('v', {
      entities: [origin] as readonly [EntityDef], source: dailySource, features: { a: t.int64() },
    });
    featureService('s', { features: [typed, typed.select('a')] });
    // @ts-expect-error an entity is not a feature
    featureService('s', { features: [origin] });
    // @ts-expect-error a source is not a feature
    featureService('s', { features: [dailySource] });
  });
});
