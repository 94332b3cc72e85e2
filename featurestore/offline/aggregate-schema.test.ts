/** apply's schema check of aggregation views: expressions bound against the source by DuckDB. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agg } from '../define/aggregations.ts';
import { entity, featureView, fileSource } from '../define/definitions.ts';
import { t } from '../define/dtypes.ts';
import { buildProject } from '../define/project.ts';
import { createDuckDBOfflineStore } from './duckdb-store.ts';
import type { OfflineStore } from './store.ts';
import { createFixture, type Fixture } from './test-support.ts';

let fixture: Fixture;
let store: OfflineStore;

beforeAll(async () => {
  fixture = await createFixture('larder-agg-schema-');
  store = await createDuckDBOfflineStore({ path: ':memory:', projectDir: fixture.dir });
  await fixture.write('flights.parquet', [
    { name: 'origin', type: 'VARCHAR' }, { name: 'dep', type: 'TIMESTAMP' }, { name: 'delay', type: 'BIGINT' },
    { name: 'share', type: 'DOUBLE' }, { name: 'carrier', type: 'VARCHAR' },
  ], [['SFO', '2024-01-01 00:00:00', 3, 0.5, 'UA']]);
});
afterAll(async () => {
  await store?.close();
  fixture?.cleanup();
});

describe('checkSchemas on aggregation views', () => {
  const origin = entity('origin', { joinKeys: { origin: t.string() } });
  const flights = fileSource('flights', { path: 'flights.parquet', timestamp: 'dep' });

  it('passes columns and SQL expressions whose types suit each function', async () => {
    const view = featureView('ok', {
      entities: [origin], source: flights,
      aggregations: {
        n: agg.count('1h'),
        avg_delay: agg.avg('delay', '7d', { lag: '1d' }),
        late: agg.avg('CAST(delay > 15 AS DOUBLE)', '7d'),
        total: agg.sum('delay', '7d', { type: t.int64() }),
        spread: agg.stddev('share * 2', '7d'),
        worst: agg.max('delay', '28d', { type: t.int64() }),
        carriers: agg.countDistinct('carrier', '1d'),
        last_carrier: agg.last('carrier', { type: t.string() }),
      },
    });
    const { project, issues } = buildProject([origin, flights, view]);
    expect(issues).toEqual([]);
    expect(await store.checkSchemas(project)).toEqual([]);
  });

  it('reports bad expressions and types with the view and aggregation, join keys and timestamp too', async () => {
    const view = featureView('bad', {
      entities: [entity('route', { joinKeys: { origin: t.string(), dest: t.string() } })], source: fileSource('f2', { path: 'flights.parquet', timestamp: 'dep' }),
      aggregations: {
        missing: agg.avg('delai', '7d'),
        syntax: agg.sum('delay +* 2', '7d'),
        text_avg: agg.avg('carrier', '7d'),
        float_sum: agg.sum('share', '7d', { type: t.int64() }),
        narrow: agg.max('delay', '7d', { type: t.int32() }),
        fine: agg.countDistinct('carrier', '7d'),
      },
    });
    const noTime = featureView('no_time', { entities: [origin], source: fileSource('f3', { path: 'flights.parquet', timestamp: 'when' }), aggregations: { n: agg.count('1h') } });
    const { project, issues } = buildProject([view, noTime]);
    expect(issues).toEqual([]);
    const found = await store.checkSchemas(project);
    expect(found.map((i) => `${i.code} ${i.path}`).sort()).toEqual([
      'schema_bad_expression featureView:bad.aggregations.missing',
      'schema_bad_expression featureView:bad.aggregations.syntax',
      'schema_missing_column featureView:bad.entities.dest',
      'schema_missing_timestamp featureView:no_time.source.timestamp',
      'schema_type_mismatch featureView:bad.aggregations.float_sum',
      'schema_type_mismatch featureView:bad.aggregations.narrow',
      'schema_type_mismatch featureView:bad.aggregations.text_avg',
    ]);
    const missing = found.find((i) => i.path.endsWith('.missing'));
    expect(missing?.message).toMatch(/feature view bad: aggregation missing: delai is not a valid expression over source f2: .*delai/);
    expect(found.every((i) => i.severity === 'error')).toBe(true);
  });
});
