import { describe, expect, it } from 'vitest';
import type { DefinitionSpec } from '../featurestore/define/spec.ts';
import { formatPlan, MAX_VALUE_CHARS } from './format.ts';
import { computePlan, hashSpec } from './plan.ts';
import type { Plan, RegistryObject } from './types.ts';

function applied(spec: DefinitionSpec, version: number): RegistryObject {
  return { kind: spec.kind, name: spec.name, version, hash: hashSpec(spec), spec, appliedAt: '2024-05-01T00:00:00.000Z' };
}

const viewV1 = { kind: 'featureView', name: 'origin_daily', features: { avg_delay: { kind: 'float32' } }, ttl: '2d' };
const viewV2 = { kind: 'featureView', name: 'origin_daily', features: { avg_delay: { kind: 'float64' } } };
const old = { kind: 'entity', name: 'old' };
const origin = { kind: 'entity', name: 'origin', joinKeys: { origin: { kind: 'string' } } };
const flights = { kind: 'source', name: 'flights', type: 'file', path: 'data/flights.parquet' };

function samplePlan(): Plan {
  return computePlan(
    { project: 'flights', serial: 4, objects: [applied(viewV1, 1), applied(old, 3), applied(origin, 1)], versions: { 'entity:old': 3, 'featureView:origin_daily': 1, 'entity:origin': 1 } },
    [origin, flights, viewV2],
  );
}

describe('formatPlan', () => {
  it('lists adds, changes with their fields, and removes, then a summary', () => {
    expect(formatPlan(samplePlan())).toBe([
      '- entity old (v3)',
      '+ source flights (v1)',
      '~ featureView origin_daily v1 → v2',
      '    features.avg_delay.kind: "float32" → "float64"',
      '    ttl: "2d" → (none)',
      '',
      'Plan: 1 to add, 1 to change, 1 to remove.',
    ].join('\n'));
  });

  it('says so when nothing changes', () => {
    const plan = computePlan({ project: 'flights', serial: 1, objects: [applied(origin, 1)], versions: {} }, [origin]);
    expect(formatPlan(plan)).toBe('No changes.');
  });

  it('colours action lines only when asked', () => {
    const text = formatPlan(samplePlan(), { color: true });
    expect(text.split('\n')[0]).toBe('\u001b[31m- entity old (v3)\u001b[0m');
    expect(text).toContain('\u001b[32m+ source flights (v1)\u001b[0m');
    expect(text).toContain('\u001b[33m~ featureView origin_daily v1 → v2\u001b[0m');
    expect(text).toContain('\n    features.avg_delay.kind: "float32" → "float64"\n');
    expect(formatPlan(samplePlan())).not.toContain('\u001b[');
  });

  it('cuts very long values', () => {
    const before = { kind: 'onDemandView', name: 'tod', compute: 'x'.repeat(1000) };
    const plan = computePlan({ project: 'p', serial: 1, objects: [applied(before, 1)], versions: {} }, [{ ...before, compute: 'y' }]);
    const line = formatPlan(plan).split('\n')[1] ?? '';
    expect(line.startsWith('    compute: "xxx')).toBe(true);
    expect(line).toContain('…');
    expect(line.length).toBeLessThan(MAX_VALUE_CHARS + 40);
  });
});
