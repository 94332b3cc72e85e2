import { describe, expect, it } from 'vitest';
import type { FeatureStatus, OnlineFeaturesResponse } from '../../featurestore/online-read.ts';
import { mulberry32 } from '../../random.ts';
import type { PredictResponse } from '../types.ts';
import { recordText } from '../json-text.ts';
import { featuresJson, predictJson } from './json.ts';

const STATUSES: FeatureStatus[] = ['PRESENT', 'NULL_VALUE', 'NOT_FOUND', 'OUTSIDE_MAX_AGE', 'DEFAULTED'];

/** Values JSON.stringify treats specially, and plain ones. */
const EDGE_VALUES: unknown[] = [
  0, -0, 1.5, -1e-7, 1e21, 123456789.123, Number.MAX_VALUE, Number.NaN, Infinity, -Infinity,
  '', 'plain', 'quote " and \\ back', 'new\nline\ttab\u0000nul', 'é ü 中文 😀', 'lone \ud800 high', 'lone \udc00 low', '\u2028\u2029',
  true, false, null, undefined, new Date(Date.UTC(2026, 10, 29, 12, 30, 15, 250)), new Date(Number.NaN),
  [1, 'two', null, [3]], { nested: { a: 1 } },
];
const NAMES = ['a', 'b_1', 'view__feature', 'ünï', 'with"quote', 'back\\slash', '10', '2', 'x y'];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

/** The documented `/v1/features` shape, built the generic way: event times as ISO strings. */
function featuresReference(result: OnlineFeaturesResponse): unknown {
  return {
    features: result.features,
    rows: result.rows.map((row) => ({
      values: row.values,
      statuses: row.statuses,
      eventTimestamps: Object.fromEntries(Object.entries(row.eventTimestamps).map(([k, v]) => [k, v === null ? null : v.toJSON()])),
    })),
  };
}

describe('featuresJson / predictJson', () => {
  it('write exactly what JSON.stringify writes for the documented shapes, on random rows with edge values', () => {
    const rand = mulberry32(20261129);
    for (let trial = 0; trial < 300; trial++) {
      const names = NAMES.filter(() => rand() < 0.7);
      const times = [new Date(1_764_000_000_000 + Math.floor(rand() * 1e9)), new Date(1_700_000_000_000), null, new Date(Number.NaN)];
      const rows = Array.from({ length: Math.floor(rand() * 4) }, () => ({
        values: Object.fromEntries(names.map((n) => [n, pick(rand, EDGE_VALUES)])),
        statuses: Object.fromEntries(names.map((n) => [n, pick(rand, STATUSES)])),
        eventTimestamps: Object.fromEntries(names.map((n) => [n, pick(rand, times)])),
      }));
      const features: OnlineFeaturesResponse = { features: rand() < 0.9 ? names : [...names].reverse(), rows };
      const expected = JSON.stringify(featuresReference(features));
      expect(featuresJson(features)).toBe(expected);

      const predict: PredictResponse = {
        model: pick(rand, ['churn', 'dé"lay']), version: '1.2.0',
        predictions: rows.map((r, i) => ({
          id: `req-${i}`, output: pick(rand, [0.25, null, Number.NaN, 1e-9]),
          features: r.values, statuses: r.statuses, degraded: rand() < 0.5,
        })),
      };
      expect(predictJson(predict)).toBe(JSON.stringify(predict));
      // The same bytes when the prediction log wrote (and remembered) the features' text first.
      for (const p of predict.predictions) { recordText(p.features, true); recordText(p.statuses, true); }
      expect(predictJson(predict)).toBe(JSON.stringify(predict));
    }
  });

  it('keeps each row\'s own keys when rows differ, and parses back to the same values', () => {
    const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const result: OnlineFeaturesResponse = {
      features: ['x', 'y'],
      rows: [
        { values: { x: 1, y: 'a' }, statuses: { x: 'PRESENT', y: 'PRESENT' }, eventTimestamps: { x: at, y: null } },
        { values: { y: 'b', x: 2, z: 3 }, statuses: { y: 'DEFAULTED', x: 'PRESENT' }, eventTimestamps: { x: at } },
      ],
    };
    expect(JSON.parse(featuresJson(result))).toEqual({
      features: ['x', 'y'],
      rows: [
        { values: { x: 1, y: 'a' }, statuses: { x: 'PRESENT', y: 'PRESENT' }, eventTimestamps: { x: '2026-01-02T03:04:05.000Z', y: null } },
        { values: { y: 'b', x: 2, z: 3 }, statuses: { y: 'DEFAULTED', x: 'PRESENT' }, eventTimestamps: { x: '2026-01-02T03:04:05.000Z' } },
      ],
    });
  });
});
