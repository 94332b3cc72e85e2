import { describe, expect, expectTypeOf, it } from 'vitest';
import { viewFromSpec } from '../from-spec.ts';
import { agg, type AggregationDef } from './aggregations.ts';
import { entity, featureView, fileSource, onDemandView, requestSource, type FeatureViewDef } from './definitions.ts';
import { t } from './dtypes.ts';
import { buildProject, type DefinitionIssue } from './project.ts';
import { canonicalJson, specOf } from './spec.ts';

const origin = entity('origin', { joinKeys: { origin: t.string() } });
const flights = fileSource('flights', { path: 'data/flights.parquet', timestamp: 'date' });

function delays() {
  return featureView('origin_delays', {
    entities: [origin], source: flights, ttl: '1d',
    aggregations: {
      avg_delay_7d: agg.avg('delay', '7d', { lag: '1d' }),
      late_rate_7d: agg.avg('CAST(delay > 15 AS DOUBLE)', '7d', { lag: '1d', type: t.float64().default(0) }),
      departures_1h: agg.count('1h'),
      max_delay_28d: agg.max('delay', '28d', { lag: '1d', type: t.int64() }),
      last_dest: agg.last('destination', { type: t.string() }),
      dests_7d: agg.countDistinct('destination', '7d'),
    },
  });
}

function summary(issues: readonly DefinitionIssue[]): string[] {
  return issues.map((i) => `${i.code} ${i.path}`).sort();
}

describe('aggregation views', () => {
  it('expose one feature per aggregation, with its output dtype', () => {
    const view = delays();
    expect(Object.keys(view.features)).toEqual(['avg_delay_7d', 'late_rate_7d', 'departures_1h', 'max_delay_28d', 'last_dest', 'dests_7d']);
    expect(Object.values(view.features).map((d) => d.kind)).toEqual(['float64', 'float64', 'int64', 'int64', 'string', 'int64']);
    expect(view.features.late_rate_7d.defaultValue).toBe(0);
    expect(view.aggregations?.['avg_delay_7d']).toMatchObject({ fn: 'avg', expr: 'delay', window: '7d', lag: '1d' });
    expect(view.aggregations?.['last_dest']).toEqual({ kind: 'aggregation', fn: 'last', expr: 'destination', dtype: view.features.last_dest });
    expect(Object.isFrozen(view.aggregations)).toBe(true);
    expectTypeOf(view).toMatchTypeOf<FeatureViewDef>();
    expectTypeOf(view.$inferRow).toEqualTypeOf<{
      avg_delay_7d: number | null; late_rate_7d: number | null; departures_1h: number | null;
      max_delay_28d: number | null; last_dest: string | null; dests_7d: number | null;
    }>();
    expectTypeOf(agg.last('x', '1h', { type: t.bool() })).toEqualTypeOf<AggregationDef<ReturnType<typeof t.bool>>>();
  });

  it('are valid in a project and usable as on-demand inputs', () => {
    const view = delays();
    const clock = requestSource('clock', { schema: { hour: t.int64() } });
    const od = onDemandView('od', { inputs: [clock, view], features: { busy: t.bool() }, compute: (row) => ({ busy: (row.departures_1h ?? 0) > row.hour }) });
    const result = buildProject([origin, flights, view, clock, od]);
    expect(summary(result.issues)).toEqual([]);
  });

  it('round-trip through the registry spec', () => {
    const view = delays();
    const spec = specOf(view);
    expect(spec['aggregations']).toMatchObject({ avg_delay_7d: { fn: 'avg', expr: 'delay', window: '7d', windowMs: 7 * 86_400_000, lag: '1d', lagMs: 86_400_000 }, departures_1h: { fn: 'count', window: '1h' } });
    const back = viewFromSpec(JSON.parse(canonicalJson(spec)), flights, [origin]);
    expect(canonicalJson(specOf(back))).toBe(canonicalJson(spec));
  });

  it('report every problem with a code and path', () => {
    const bad = featureView('bad', {
      entities: [origin], source: flights,
      aggregations: {
        no_window: agg.avg('delay', undefined as unknown as string),
        bad_window: agg.sum('delay', '7 days'),
        zero_window: agg.count('0s'),
        neg_lag: agg.count('1h', { lag: '-1h' }),
        no_expr: agg.min('', '1h'),
        avg_string: agg.avg('delay', '1h', { type: t.string() }),
        count_bool: agg.count('1h', { type: t.bool() }),
        not_agg: t.float64() as unknown as AggregationDef,
        last_ok: agg.last('delay'),
      },
    });
    const both = featureView('both', { entities: [origin], source: flights, features: { x: t.float64() }, aggregations: { y: agg.count('1h') } } as never);
    const result = buildProject([origin, flights, bad, both]);
    expect(summary(result.issues)).toEqual([
      'bad_aggregation featureView:bad.aggregations.avg_string',
      'bad_aggregation featureView:bad.aggregations.bad_window',
      'bad_aggregation featureView:bad.aggregations.count_bool',
      'bad_aggregation featureView:bad.aggregations.neg_lag',
      'bad_aggregation featureView:bad.aggregations.no_expr',
      'bad_aggregation featureView:bad.aggregations.no_window',
      'bad_aggregation featureView:bad.aggregations.not_agg',
      'bad_aggregation featureView:bad.aggregations.zero_window',
      'bad_dtype featureView:bad.features.not_agg',
      'features_and_aggregations featureView:both',
    ]);
  });
});
