import { describe, expect, it } from 'vitest';
import { entity, featureService, featureView, fileSource, onDemandView, requestSource } from '../../featurestore/define/definitions.ts';
import { t } from '../../featurestore/define/dtypes.ts';
import { buildProject } from '../../featurestore/define/project.ts';
import { defaultedFeatures } from './fallback.ts';

const driver = entity('driver', { joinKeys: { driver_id: t.int64() } });
const src = fileSource('s', { path: 'x.parquet', timestamp: 'ts' });
const stats = featureView('driver_stats', {
  entities: [driver], source: src, ttl: '2h',
  features: { conv_rate: t.float64().default(0.5), trips: t.int64(), since: t.timestamp().default(new Date(0)) },
});
const ride = requestSource('ride', { schema: { distance_km: t.float64() } });
const trip = onDemandView('trip', {
  inputs: [ride, stats],
  features: { long: t.bool(), rate_x_km: t.float64() },
  compute: (row) => ({ long: row.distance_km > 10, rate_x_km: row.conv_rate === null ? null : row.conv_rate * row.distance_km }),
});
const fragile = onDemandView('fragile', {
  inputs: [stats],
  features: { ratio: t.float64() },
  compute: (row) => {
    if (row.trips === null) throw new Error('no trips');
    return { ratio: 1 / row.trips };
  },
});
const model = featureService('model', { features: [stats, trip] });
const strict = featureService('strict', { features: [stats.select('conv_rate'), fragile] });
const { project } = buildProject([driver, src, stats, ride, trip, fragile, model, strict]);

describe('features when the online store is down', () => {
  it('are what a read finds for entities never materialized: declared defaults, nulls, on-demand views from request fields', async () => {
    const response = await defaultedFeatures('p', project, 'model', [{ driver_id: 1, distance_km: 12 }, { driver_id: 2, distance_km: 3 }]);
    expect(response.features).toEqual(['conv_rate', 'trips', 'since', 'long', 'rate_x_km']);
    expect(response.rows[0]).toEqual({
      values: { conv_rate: 0.5, trips: null, since: new Date(0), long: true, rate_x_km: null },
      statuses: { conv_rate: 'DEFAULTED', trips: 'NOT_FOUND', since: 'DEFAULTED', long: 'PRESENT', rate_x_km: 'NULL_VALUE' },
      eventTimestamps: { conv_rate: null, trips: null, since: null, long: null, rate_x_km: null },
    });
    expect(response.rows[1]!.values['long']).toBe(false);
  });

  it('default every column when an on-demand view cannot run on the missing inputs', async () => {
    const response = await defaultedFeatures('p', project, 'strict', [{ driver_id: 1 }]);
    expect(response.rows).toEqual([{
      values: { conv_rate: 0.5, ratio: null },
      statuses: { conv_rate: 'DEFAULTED', ratio: 'NOT_FOUND' },
      eventTimestamps: { conv_rate: null, ratio: null },
    }]);
  });
});
