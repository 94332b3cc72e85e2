import { describe, it, expect } from 'vitest';
import {
  entity, fileSource, sqlSource, requestSource, featureView, onDemandView, featureService,
  type AnyDefinition, type FeatureServiceDef, type OnDemandInput,
} from './definitions.ts';
import { t } from './dtypes.ts';
import { buildProject, collectDefinitions, viewEntities, type DefinitionIssue } from './project.ts';

/** `code path` pairs, sorted, so a test sees missing, extra and repeated issues alike. */
function summary(issues: readonly DefinitionIssue[]): string[] {
  return issues.map((i) => `${i.code} ${i.path}`).sort();
}

function validProject() {
  const origin = entity('origin', { joinKeys: { origin: t.string() } });
  const route = entity('route', { joinKeys: { origin_airport: t.string(), dest: t.string() } });
  const flights = fileSource('flights', { path: 'data/flights.parquet', timestamp: 'dep_time', createdTimestamp: 'ingested_at' });
  const daily = sqlSource('daily', { query: 'SELECT * FROM read_csv(\'data/daily.csv\')', timestamp: 'day' });
  const originDaily = featureView('origin_daily', {
    entities: [origin], source: daily, ttl: '2d',
    features: {
      avg_delay: t.float64().default(0).expect({ min: -60, max: 600, maxNullRate: 0.1 }),
      n_flights: t.int64().default(0),
      tier: t.string().expect({ oneOf: ['a', 'b'], regex: '^[ab]$' }),
      first_seen: t.timestamp().default(new Date(0)),
      embedding: t.array(t.float32()).default([0, 0]),
    },
  });
  const routeStats = featureView('route_stats', { entities: ['route'], source: flights, features: { n_routes: t.int32() } });
  const clock = requestSource('clock', { schema: { sched_dep: t.timestamp() } });
  const timeOfDay = onDemandView('time_of_day', {
    inputs: [clock, originDaily], features: { hour: t.int64(), busy: t.bool() },
    compute: (row) => ({ hour: row.sched_dep.getUTCHours(), busy: (row.n_flights ?? 0) > 300 }),
  });
  const service = featureService('delay_model', {
    features: [routeStats, originDaily.select('avg_delay'), 'origin_daily:n_flights', 'time_of_day', timeOfDay.select('hour')],
  });
  return { origin, route, flights, daily, originDaily, routeStats, clock, timeOfDay, service };
}

describe('collectDefinitions', () => {
  it('finds exported definitions and everything they reference, once each', () => {
    const p = validProject();
    // Only the service is exported: the rest is reached through it.
    const found = collectDefinitions([{ service: p.service }]);
    expect(new Set(found)).toEqual(new Set([
      p.service, p.routeStats, p.flights, p.originDaily, p.origin, p.daily, p.timeOfDay, p.clock,
    ]));
    expect(found).toHaveLength(8);
    // `route` is referenced by name only, so it must be exported to be found.
    expect(found).not.toContain(p.route);
  });

  it('dedups the same object exported from several modules and referenced from others', () => {
    const p = validProject();
    const found = collectDefinitions([
      { origin: p.origin, originDaily: p.originDaily },
      { default: p.origin, again: p.originDaily, view: p.originDaily },
      { timeOfDay: p.timeOfDay },
    ]);
    expect(found.filter((d) => d === p.origin)).toHaveLength(1);
    expect(found.filter((d) => d === p.originDaily)).toHaveLength(1);
    expect(new Set(found)).toEqual(new Set([p.origin, p.originDaily, p.daily, p.timeOfDay, p.clock]));
  });

  it('keeps two different objects with one name, for buildProject to report', () => {
    const a = entity('origin', { joinKeys: { origin: t.string() } });
    const b = entity('origin', { joinKeys: { origin: t.string() } });
    expect(collectDefinitions([{ a, b }])).toEqual([a, b]);
  });

  it('ignores exports that are not definitions', () => {
    const origin = entity('origin', { joinKeys: { origin: t.string() } });
    const found = collectDefinitions([
      { n: 1, s: 'origin', f: () => origin, nothing: null, plain: { kind: 'entity', name: 'fake' }, list: [origin], dtype: t.int64() },
      null, 'module', 42,
    ]);
    expect(found).toEqual([]);
  });
});

describe('buildProject', () => {
  it('resolves a valid project with no issues', () => {
    const p = validProject();
    const { project, issues } = buildProject(collectDefinitions([p]));
    expect(issues).toEqual([]);
    expect([...project.entities.keys()].sort()).toEqual(['origin', 'route']);
    expect([...project.sources.keys()].sort()).toEqual(['clock', 'daily', 'flights']);
    expect([...project.views.keys()].sort()).toEqual(['origin_daily', 'route_stats']);
    expect([...project.onDemandViews.keys()]).toEqual(['time_of_day']);
    expect([...project.services.keys()]).toEqual(['delay_model']);
    expect(project.views.get('origin_daily')).toBe(p.originDaily);
    expect(viewEntities(p.routeStats, project.entities)).toEqual([p.route]);
    expect(viewEntities(p.originDaily, project.entities)).toEqual([p.origin]);
  });

  it('lists every problem at once', () => {
    const origin = entity('origin', { joinKeys: { origin: t.string() } });
    const badEntity = entity('Bad-Name', { joinKeys: { '1x': t.string() } });
    const flights = fileSource('flights', { path: 'data/flights.parquet', timestamp: 'dep_time' });
    const untimed = fileSource('untimed', { path: 'data/untimed.parquet', timestamp: '' });
    const features = { n: t.int64() };
    const badNames = featureView('1x', { entities: [badEntity], source: flights, features: { 'Bad-Name': t.int64(), ok_name: t.int64() } });
    const daily = featureView('daily', { entities: [origin], source: flights, features: { avg_delay: t.float64() } });
    const dailyAgain = featureView('daily', { entities: [origin], source: flights, features: { other: t.float64() } });
    const byCarrier = featureView('by_carrier', { entities: [origin, 'carrier'], source: flights, features });
    const keyed = featureView('keyed', { entities: [origin], source: flights, features: { origin: t.string(), n: t.int64() } });
    const stale = featureView('stale', { entities: [origin], source: flights, ttl: '2 days', features });
    const instant = featureView('instant', { entities: [origin], source: flights, ttl: '0s', features });
    const noTimestamp = featureView('no_timestamp', { entities: [origin], source: untimed, features });
    const otherOnDemand = onDemandView('other_od', {
      inputs: [daily], features: { x: t.float64() }, compute: (row) => ({ x: row.avg_delay }),
    });
    const badInput = onDemandView('bad_input', {
      inputs: [daily, otherOnDemand as unknown as OnDemandInput], features: { y: t.float64() }, compute: () => ({ y: null }),
    });
    const service = featureService('svc', { features: ['ghost:x', 'daily:zzz', 'nowhere', daily, daily.select('avg_delay')] });

    const { issues } = buildProject(collectDefinitions([{
      origin, badEntity, flights, untimed, badNames, daily, dailyAgain, byCarrier, keyed, stale, instant, noTimestamp,
      otherOnDemand, badInput, service,
    }]));
    expect(summary(issues)).toEqual([
      'bad_input onDemandView:bad_input.inputs',
      'bad_name entity:Bad-Name',
      'bad_name entity:Bad-Name.joinKeys.1x',
      'bad_name featureView:1x',
      'bad_name featureView:1x.features.Bad-Name',
      'bad_ttl featureView:instant.ttl',
      'bad_ttl featureView:stale.ttl',
      'duplicate_name featureView:daily',
      'feature_is_join_key featureView:keyed.features.origin',
      'no_timestamp source:untimed',
      'unknown_entity featureView:by_carrier.entities',
      'unknown_feature featureService:svc.features',
      'unknown_view featureService:svc.features',
      'unknown_view featureService:svc.features',
    ]);
    for (const issue of issues) {
      expect(issue.severity).toBe('error');
      expect(issue.message.length).toBeGreaterThan(10);
    }
    const messages = issues.map((i) => i.message).join('\n');
    expect(messages).toContain('unknown entity carrier');
    expect(messages).toContain('unknown view ghost');
    expect(messages).toContain('unknown view nowhere');
    expect(messages).toContain('unknown feature daily:zzz');
    expect(messages).toContain('"2 days"');
  });

  it('registers the first of two same-named definitions and reports the second', () => {
    const origin = entity('origin', { joinKeys: { origin: t.string() } });
    const src = fileSource('flights', { path: 'f.parquet', timestamp: 'ts' });
    const first = featureView('daily', { entities: [origin], source: src, features: { a: t.int64() } });
    const second = featureView('daily', { entities: [origin], source: src, features: { b: t.int64() } });
    const { project, issues } = buildProject([origin, src, first, second]);
    expect(project.views.get('daily')).toBe(first);
    expect(summary(issues)).toEqual(['duplicate_name featureView:daily']);
  });

  it('reports a feature view and an on-demand view sharing a name', () => {
    const p = validProject();
    const clash = onDemandView('origin_daily', { inputs: [p.clock], features: { h: t.int64() }, compute: () => ({ h: 1 }) });
    expect(summary(buildProject(collectDefinitions([p, { clash }])).issues)).toEqual(['duplicate_name onDemandView:origin_daily']);
  });

  it('reports a definition listed twice only once', () => {
    const bad = entity('Bad', { joinKeys: { k: t.string() } });
    expect(summary(buildProject([bad, bad]).issues)).toEqual(['bad_name entity:Bad']);
  });

  it('checks entities: keys, key names and key types', () => {
    const defs = [
      entity('none', { joinKeys: {} }),
      entity('floaty', { joinKeys: { score: t.float64(), vec: t.array(t.int64()), ok: t.int64() } }),
      entity('untyped', { joinKeys: { k: 'string' as never } }),
    ];
    expect(summary(buildProject(defs).issues)).toEqual([
      'bad_dtype entity:untyped.joinKeys.k',
      'bad_join_key_type entity:floaty.joinKeys.score',
      'bad_join_key_type entity:floaty.joinKeys.vec',
      'no_join_keys entity:none',
    ]);
  });

  it('checks sources', () => {
    const defs = [
      requestSource('empty', { schema: {} }),
      requestSource('odd_fields', { schema: { 'Sched-Dep': t.timestamp(), when: 'now' as never } }),
      fileSource('no_path', { path: '', timestamp: 'ts' }),
      fileSource('bad_format', { path: 'x.json', timestamp: 'ts', format: 'json' as never }),
      sqlSource('no_query', { query: '  ', timestamp: 'ts' }),
    ];
    expect(summary(buildProject(defs).issues)).toEqual([
      'bad_dtype source:odd_fields.schema.when',
      'bad_format source:bad_format',
      'bad_name source:odd_fields.schema.Sched-Dep',
      'empty_schema source:empty',
      'no_path source:no_path',
      'no_query source:no_query',
    ]);
  });

  it('checks feature views: features, entities, key clashes, source and timestamp', () => {
    const origin = entity('origin', { joinKeys: { origin: t.string() } });
    const airport = entity('airport', { joinKeys: { origin: t.string() } });
    const src = fileSource('flights', { path: 'f.parquet', timestamp: 'dep_time' });
    const clock = requestSource('clock', { schema: { now: t.timestamp() } });
    const defs: AnyDefinition[] = [
      origin, airport, src, clock,
      featureView('empty', { entities: [origin], source: src, features: {} }),
      featureView('keyless', { entities: [], source: src, features: { a: t.int64() } }),
      featureView('two_keys', { entities: [origin, airport], source: src, features: { a: t.int64() } }),
      featureView('ts_feature', { entities: [origin], source: src, features: { dep_time: t.timestamp() } }),
      featureView('request_backed', { entities: [origin], source: clock as never, features: { a: t.int64() } }),
      featureView('not_entity', { entities: [src as never], source: src, features: { a: t.int64(), b: 'int' as never } }),
      featureView('single', { entities: origin as never, source: src, features: { a: t.int64() } }),
    ];
    expect(summary(buildProject(defs).issues)).toEqual([
      'bad_dtype featureView:not_entity.features.b',
      'bad_source featureView:request_backed.source',
      'feature_is_timestamp featureView:ts_feature.features.dep_time',
      'join_key_clash featureView:two_keys.entities',
      'no_entities featureView:keyless',
      'no_entities featureView:single',
      'no_features featureView:empty',
      'unknown_entity featureView:not_entity.entities',
    ]);
  });

  it('checks defaults and expectations that TypeScript cannot', () => {
    const origin = entity('origin', { joinKeys: { origin: t.string() } });
    const src = fileSource('flights', { path: 'f.parquet', timestamp: 'ts' });
    const view = featureView('v', {
      entities: [origin], source: src, features: {
        int_default: t.int64().default(1.5),
        small_default: t.int32().default(2 ** 31),
        date_default: t.timestamp().default(new Date('not a date')),
        array_default: t.array(t.int64()).default([1, 0.5]),
        range: t.float64().expect({ min: 5, max: 1 }),
        null_rate: t.float64().expect({ maxNullRate: 1.5 }),
        regex: t.string().expect({ regex: '([a-z' }),
        one_of: t.string().expect({ oneOf: [] }),
        fine: t.int32().default(-(2 ** 31)).expect({ min: 0, max: 0, maxNullRate: 0, regex: '^\\d+$' }),
      },
    });
    expect(summary(buildProject([origin, src, view]).issues)).toEqual([
      'bad_default featureView:v.features.array_default',
      'bad_default featureView:v.features.date_default',
      'bad_default featureView:v.features.int_default',
      'bad_default featureView:v.features.small_default',
      'bad_expectation featureView:v.features.null_rate',
      'bad_expectation featureView:v.features.one_of',
      'bad_expectation featureView:v.features.range',
      'bad_expectation featureView:v.features.regex',
    ]);
  });

  it('checks on-demand views: inputs, compute and clashing input fields', () => {
    const p = validProject();
    const strayView = featureView('stray', { entities: [p.origin], source: p.daily, features: { hour: t.int64() } });
    const defs = [
      ...collectDefinitions([p]),
      onDemandView('no_inputs', { inputs: [], features: { a: t.int64() }, compute: () => ({ a: 1 }) }),
      onDemandView('no_compute', { inputs: [p.clock], features: { a: t.int64() }, compute: undefined as never }),
      onDemandView('clash', {
        inputs: [p.clock, p.originDaily, requestSource('clock2', { schema: { sched_dep: t.timestamp() } })],
        features: { a: t.int64() }, compute: () => ({ a: 1 }),
      }),
      // `stray` is not part of the project (not in the list), so its data cannot be read.
      onDemandView('unlisted', { inputs: [strayView], features: { a: t.int64() }, compute: () => ({ a: 1 }) }),
    ];
    expect(summary(buildProject(defs).issues)).toEqual([
      'bad_input onDemandView:clash.inputs',
      'bad_input onDemandView:unlisted.inputs',
      'no_compute onDemandView:no_compute',
      'no_inputs onDemandView:no_inputs',
    ]);
    const clashing = onDemandView('clash', {
      inputs: [p.clock, p.originDaily, p.routeStats, featureView('more', { entities: [p.origin], source: p.daily, features: { avg_delay: t.float64() } })],
      features: { a: t.int64() }, compute: () => ({ a: 1 }),
    });
    const result = buildProject(collectDefinitions([p, { clashing }]));
    expect(summary(result.issues)).toEqual(['input_field_clash onDemandView:clash.inputs']);
    expect(result.issues[0]?.message).toContain('avg_delay');
  });

  it('checks feature services: empty lists, odd items, empty selections and refs', () => {
    const p = validProject();
    const defs = [
      ...collectDefinitions([p]),
      featureService('empty', { features: [] }),
      featureService('odd', { features: [p.origin as never, null as never, p.originDaily.select()] }),
      // The first colon splits view from feature, the same as selectFeatures.
      featureService('colons', { features: ['origin_daily:avg_delay:x', 'time_of_day:'] }),
    ];
    expect(summary(buildProject(defs).issues)).toEqual([
      'bad_feature_ref featureService:odd.features',
      'bad_feature_ref featureService:odd.features',
      'no_features featureService:empty',
      'no_features featureService:odd.features',
      'unknown_feature featureService:colons.features',
      'unknown_feature featureService:colons.features',
    ]);
  });

  it('does not crash on lists that are not arrays, as plain JavaScript may write', () => {
    const p = validProject();
    const service = featureService('weird', { features: 'origin_daily' as never }) as FeatureServiceDef;
    const view = featureView('weird_view', { entities: { 0: p.origin } as never, source: p.flights, features: { a: t.int64() } });
    const od = onDemandView('weird_od', { inputs: { 0: p.clock } as never, features: { a: t.int64() }, compute: () => ({ a: 1 }) });
    expect(summary(buildProject([...collectDefinitions([p]), service, view, od]).issues)).toEqual([
      'no_entities featureView:weird_view',
      'no_features featureService:weird',
      'no_inputs onDemandView:weird_od',
    ]);
  });
});
