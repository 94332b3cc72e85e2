/** Aggregation views through the rest of a dataset request: on-demand inputs, full feature names, the SQL text. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agg } from '../define/aggregations.ts';
import { entity, featureView, fileSource, onDemandView, requestSource } from '../define/definitions.ts';
import { t } from '../define/dtypes.ts';
import { buildProject } from '../define/project.ts';
import { selectFeatures } from '../define/selection.ts';
import { createDuckDBOfflineStore } from './duckdb-store.ts';
import type { OfflineStore } from './store.ts';
import { createFixture, type Fixture } from './test-support.ts';

let fixture: Fixture;
let store: OfflineStore;

beforeAll(async () => {
  fixture = await createFixture('larder-agg-retrieval-');
  store = await createDuckDBOfflineStore({ path: ':memory:', projectDir: fixture.dir });
  await fixture.write('flights.csv', [{ name: 'origin', type: 'VARCHAR' }, { name: 'dep', type: 'TIMESTAMP' }, { name: 'delay', type: 'BIGINT' }], [
    ['007', '2024-01-01 00:00:00', 10], ['007', '2024-01-01 01:00:00', 20], ['007', '2024-01-01 02:00:00', null], ['SFO', '2024-01-01 01:30:00', 5],
  ]);
});
afterAll(async () => {
  await store?.close();
  fixture?.cleanup();
});

describe('aggregation views in a dataset request', () => {
  const origin = entity('origin', { joinKeys: { origin: t.string() } });
  const flights = fileSource('flights', { path: 'flights.csv', timestamp: 'dep' });
  const delays = featureView('delays', {
    entities: [origin], source: flights,
    aggregations: { n: agg.count('3h'), avg_delay: agg.avg('delay', '3h'), last_delay: agg.last('delay', { type: t.int64() }) },
  });
  const clock = requestSource('clock', { schema: { hour: t.int64() } });
  const busy = onDemandView('busy', { inputs: [clock, delays], features: { busy: t.bool() }, compute: (row) => ({ busy: (row.n ?? 0) >= 2 && row.hour > 0 }) });

  it('feed on-demand views and keep string keys that look like numbers', async () => {
    const { project, issues } = buildProject([origin, flights, delays, clock, busy]);
    expect(issues).toEqual([]);
    const job = store.getHistoricalFeatures({
      project, selection: selectFeatures(project, { features: ['delays:avg_delay', 'busy:busy', 'delays:last_delay'], fullFeatureNames: true }),
      entities: [
        { origin: '007', event_timestamp: new Date('2024-01-01T02:30:00Z'), hour: 2 },
        { origin: 'SFO', event_timestamp: new Date('2024-01-01T01:30:00Z'), hour: 1 },
        { origin: '007', event_timestamp: new Date('2024-01-01T02:30:00Z'), hour: 0 },
      ],
    });
    expect(job.sql()).toContain('ASOF LEFT JOIN');
    expect(await job.toRows()).toEqual([
      { origin: '007', event_timestamp: new Date('2024-01-01T02:30:00Z'), hour: 2, delays__avg_delay: 15, busy__busy: true, delays__last_delay: 20 },
      { origin: 'SFO', event_timestamp: new Date('2024-01-01T01:30:00Z'), hour: 1, delays__avg_delay: null, busy__busy: false, delays__last_delay: null },
      { origin: '007', event_timestamp: new Date('2024-01-01T02:30:00Z'), hour: 0, delays__avg_delay: 15, busy__busy: false, delays__last_delay: 20 },
    ]);
  });

  it('read the events exactly at both ends of the reach when rows cover a narrow range (events outside it are pruned)', async () => {
    const windowed = featureView('windowed', {
      entities: [origin], source: flights,
      aggregations: { n: agg.count('1h', { lag: '30m' }), total: agg.sum('delay', '2h', { lag: '30m', type: t.int64() }), m: agg.max('delay', '2h') },
    });
    const { project, issues } = buildProject([origin, flights, windowed]);
    expect(issues).toEqual([]);
    // T = 02:30: reach 2h30m back is 00:00 exactly (the 10 at 00:00 counts in total), and T - lag = 02:00 excludes the null at 02:00.
    const rows = await store.getHistoricalFeatures({
      project, selection: selectFeatures(project, { features: ['windowed:n', 'windowed:total', 'windowed:m'] }),
      entities: [{ origin: '007', event_timestamp: new Date('2024-01-01T02:30:00Z') }],
    }).toRows();
    expect(rows).toEqual([{ origin: '007', event_timestamp: new Date('2024-01-01T02:30:00Z'), n: 1, total: 30, m: 20 }]);
  });
});
