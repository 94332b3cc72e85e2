/**
 * @module registry/testing/specs
 * Definition specs and temp folders shared by the registry tests. Specs are built with the real
 * DSL and `specOf`, so the tests exercise the JSON the facade actually applies.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entity, featureService, featureView, fileSource } from '../../featurestore/define/definitions.ts';
import { t } from '../../featurestore/define/dtypes.ts';
import { specOf, type DefinitionSpec } from '../../featurestore/define/spec.ts';

/** A small project; `variant` changes a few fields so plans have something to diff. */
export function flightSpecs(variant: { delayType?: 'float32' | 'float64'; description?: string; withService?: boolean } = {}): DefinitionSpec[] {
  const origin = entity('origin', { joinKeys: { origin: t.string() } });
  const flights = fileSource('flights', { path: 'data/flights.parquet', timestamp: 'dep_time' });
  const delay = variant.delayType === 'float32' ? t.float32() : t.float64();
  const originDaily = featureView('origin_daily', {
    entities: [origin], source: flights, ttl: '2d',
    features: { avg_delay: delay.default(0), n_flights: t.int64() },
    ...(variant.description === undefined ? {} : { description: variant.description }),
  });
  const defs = [origin, flights, originDaily, ...(variant.withService ? [featureService('delay_model', { features: [originDaily] })] : [])];
  return defs.map(specOf);
}

/** `count` distinct entity specs: a way to make applies that differ from one another. */
export function entitySpecs(prefix: string, count: number): DefinitionSpec[] {
  return Array.from({ length: count }, (_, i) => specOf(entity(`${prefix}_${i}`, { joinKeys: { id: t.int64() } })));
}

export interface TempDir {
  readonly path: string;
  cleanup(): Promise<void>;
}

export async function tempDir(label = 'registry'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), `larder-${label}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
