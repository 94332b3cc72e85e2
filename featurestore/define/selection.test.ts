import { describe, it, expect } from 'vitest';
import { isLarderError } from '../../errors.ts';
import {
  entity, fileSource, requestSource, featureView, onDemandView, featureService,
} from './definitions.ts';
import { t } from './dtypes.ts';
import { buildProject, collectDefinitions, type ProjectDefinitions } from './project.ts';
import { selectFeatures, type FeatureSelection, type SelectionRequest } from './selection.ts';

const origin = entity('origin', { joinKeys: { origin: t.string() } });
const carrier = entity('carrier', { joinKeys: { carrier: t.string() } });
const flights = fileSource('flights', { path: 'data/flights.parquet', timestamp: 'dep_time' });
const originDaily = featureView('origin_daily', {
  entities: [origin], source: flights,
  features: { avg_delay: t.float64(), n_flights: t.int64(), late_rate: t.float64() },
});
const carrierDaily = featureView('carrier_daily', {
  entities: [carrier], source: flights, features: { avg_delay: t.float64(), fleet: t.int32() },
});
const clock = requestSource('clock', { schema: { sched_dep: t.timestamp() } });
const timeOfDay = onDemandView('time_of_day', {
  inputs: [clock, originDaily], features: { hour: t.int64(), busy: t.bool() },
  compute: (row) => ({ hour: row.sched_dep.getUTCHours(), busy: (row.n_flights ?? 0) > 300 }),
});
const weekday = onDemandView('weekday', {
  inputs: [clock], features: { dow: t.int32() }, compute: (row) => ({ dow: row.sched_dep.getUTCDay() }),
});
const delayModel = featureService('delay_model', {
  features: ['carrier_daily:fleet', originDaily.select('avg_delay'), timeOfDay],
});
const clashing = featureService('clashing', { features: [originDaily, carrierDaily] });

function projectOf(...defs: unknown[]): ProjectDefinitions {
  const { project, issues } = buildProject(collectDefinitions([defs]));
  expect(issues).toEqual([]);
  return project;
}
const project = projectOf(originDaily, carrierDaily, timeOfDay, weekday, delayModel, clashing);

/** Columns as `ref→column`, and views as `view[features]`: what a reader of a failure wants to see. */
function shape(selection: FeatureSelection) {
  return {
    columns: selection.columns.map((c) => `${c.ref}→${c.column}`),
    views: selection.views.map((v) => `${v.view.name}[${v.features.join(',')}]`),
    onDemand: selection.onDemand.map((v) => v.name),
  };
}

function codeOf(request: SelectionRequest, p: ProjectDefinitions = project): string | undefined {
  try {
    selectFeatures(p, request);
  } catch (error) {
    return isLarderError(error) ? error.code : `not a LarderError: ${String(error)}`;
  }
  return undefined;
}

describe('selectFeatures', () => {
  it('resolves view:feature refs in request order, reading each view once', () => {
    const selection = selectFeatures(project, {
      features: ['origin_daily:late_rate', 'carrier_daily:fleet', 'origin_daily:avg_delay'],
    });
    expect(shape(selection)).toEqual({
      columns: ['origin_daily:late_rate→late_rate', 'carrier_daily:fleet→fleet', 'origin_daily:avg_delay→avg_delay'],
      views: ['origin_daily[avg_delay,late_rate]', 'carrier_daily[fleet]'],
      onDemand: [],
    });
    expect(selection.fullFeatureNames).toBe(false);
    expect(selection.columns[0]).toEqual({
      ref: 'origin_daily:late_rate', view: 'origin_daily', feature: 'late_rate', column: 'late_rate',
      dtype: originDaily.features.late_rate,
    });
    expect(selection.views[0]?.view).toBe(originDaily);
  });

  it('reads a bare view name, a view object and a projection as that view’s features', () => {
    const all = ['origin_daily:avg_delay→avg_delay', 'origin_daily:n_flights→n_flights', 'origin_daily:late_rate→late_rate'];
    expect(shape(selectFeatures(project, { features: ['origin_daily'] })).columns).toEqual(all);
    expect(shape(selectFeatures(project, { features: [originDaily] })).columns).toEqual(all);
    expect(shape(selectFeatures(project, { features: [originDaily.select('late_rate', 'avg_delay')] }))).toEqual({
      columns: ['origin_daily:late_rate→late_rate', 'origin_daily:avg_delay→avg_delay'],
      views: ['origin_daily[avg_delay,late_rate]'],
      onDemand: [],
    });
  });

  it('resolves a service in its listed order', () => {
    expect(shape(selectFeatures(project, { service: 'delay_model' }))).toEqual({
      columns: ['carrier_daily:fleet→fleet', 'origin_daily:avg_delay→avg_delay', 'time_of_day:hour→hour', 'time_of_day:busy→busy'],
      // time_of_day reads all of origin_daily, though only avg_delay is an output column.
      views: ['carrier_daily[fleet]', 'origin_daily[avg_delay,n_flights,late_rate]'],
      onDemand: ['time_of_day'],
    });
  });

  it('pulls an on-demand view’s input views into views but not into columns', () => {
    expect(shape(selectFeatures(project, { features: ['time_of_day:busy'] }))).toEqual({
      columns: ['time_of_day:busy→busy'],
      views: ['origin_daily[avg_delay,n_flights,late_rate]'],
      onDemand: ['time_of_day'],
    });
    expect(shape(selectFeatures(project, { features: [timeOfDay.select('hour'), 'weekday', 'time_of_day:busy'] }))).toEqual({
      columns: ['time_of_day:hour→hour', 'weekday:dow→dow', 'time_of_day:busy→busy'],
      views: ['origin_daily[avg_delay,n_flights,late_rate]'],
      onDemand: ['time_of_day', 'weekday'],
    });
    // Request fields alone need no batch view.
    expect(shape(selectFeatures(project, { features: ['weekday:dow'] }))).toEqual({
      columns: ['weekday:dow→dow'], views: [], onDemand: ['weekday'],
    });
  });

  it('reads input views from the project by name, as a rebuilt project swaps them', () => {
    const recorded = featureView('origin_daily', { entities: [origin], source: flights, features: { n_flights: t.int64() } });
    const rebuilt: ProjectDefinitions = { ...project, views: new Map([['origin_daily', recorded]]) };
    const selection = selectFeatures(rebuilt, { features: ['time_of_day:hour'] });
    expect(selection.views).toEqual([{ view: recorded, features: ['n_flights'] }]);
    expect(selection.views[0]?.view).toBe(recorded);
    // A project without the input view cannot compute the on-demand view: say which view is missing.
    const partial: ProjectDefinitions = { ...project, views: new Map() };
    expect(codeOf({ features: ['time_of_day:hour'] }, partial)).toBe('LARDER_E_UNKNOWN_VIEW');
  });

  it('lists a feature asked for twice once, where it was first asked for', () => {
    expect(shape(selectFeatures(project, {
      features: ['origin_daily:late_rate', 'origin_daily', originDaily.select('late_rate'), 'origin_daily:late_rate'],
    })).columns).toEqual([
      'origin_daily:late_rate→late_rate', 'origin_daily:avg_delay→avg_delay', 'origin_daily:n_flights→n_flights',
    ]);
  });

  it('refuses two features that would share a column, unless columns carry the view name', () => {
    expect(codeOf({ features: ['origin_daily:avg_delay', 'carrier_daily:avg_delay'] })).toBe('LARDER_E_FEATURE_NAME_CLASH');
    expect(codeOf({ service: 'clashing' })).toBe('LARDER_E_FEATURE_NAME_CLASH');
    expect(() => selectFeatures(project, { service: 'clashing' }))
      .toThrow('Output column avg_delay would come from both origin_daily:avg_delay and carrier_daily:avg_delay');

    const full = selectFeatures(project, { service: 'clashing', fullFeatureNames: true });
    expect(full.fullFeatureNames).toBe(true);
    expect(full.columns.map((c) => c.column)).toEqual([
      'origin_daily__avg_delay', 'origin_daily__n_flights', 'origin_daily__late_rate',
      'carrier_daily__avg_delay', 'carrier_daily__fleet',
    ]);
    expect(full.columns.map((c) => c.feature)).toEqual(['avg_delay', 'n_flights', 'late_rate', 'avg_delay', 'fleet']);
  });

  it('reports unknown views, features and services with their codes', () => {
    expect(codeOf({ features: ['nope:avg_delay'] })).toBe('LARDER_E_UNKNOWN_VIEW');
    expect(codeOf({ features: ['origin_daily:nope'] })).toBe('LARDER_E_UNKNOWN_FEATURE');
    expect(codeOf({ features: ['origin_daily:'] })).toBe('LARDER_E_UNKNOWN_FEATURE');
    expect(codeOf({ features: [originDaily.select('nope' as never)] })).toBe('LARDER_E_UNKNOWN_FEATURE');
    expect(codeOf({ service: 'nope' })).toBe('LARDER_E_UNKNOWN_SERVICE');
    // A bare name that is no view is most likely a feature written without its view.
    expect(codeOf({ features: ['avg_delay'] })).toBe('LARDER_E_UNKNOWN_FEATURE');
    expect(() => selectFeatures(project, { features: ['avg_delay'] })).toThrow('(write view:feature)');

    const outsider = featureView('outsider', { entities: [origin], source: flights, features: { x: t.int64() } });
    expect(codeOf({ features: [outsider] })).toBe('LARDER_E_UNKNOWN_VIEW');
    expect(codeOf({ features: [outsider.select('x')] })).toBe('LARDER_E_UNKNOWN_VIEW');
    expect(() => selectFeatures(project, { features: [outsider] })).toThrow('Unknown feature view outsider');
  });

  it('needs a service or features, not both and not neither', () => {
    expect(codeOf({})).toBe('LARDER_E_INVALID_REQUEST');
    expect(codeOf({ features: [] })).toBe('LARDER_E_INVALID_REQUEST');
    expect(codeOf({ service: 'delay_model', features: ['origin_daily:avg_delay'] })).toBe('LARDER_E_INVALID_REQUEST');
    expect(codeOf({ service: 'delay_model', features: [] })).toBeUndefined();
  });
});
