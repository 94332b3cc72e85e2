/**
 * @module serving/http/json
 * The JSON text of the two hot responses, `/v1/features` and `/v1/predict`, written straight
 * from what the library returns. The generic path cost more per request than the feature read:
 * mapping every row's event times into a new object of ISO strings, then fast-json-stringify,
 * whose `unknown` values and `string | null` unions fall back to per-value checks (16–18.5 µs
 * for a 20-feature row against 10.3 µs for JSON.stringify of the same object). The output is
 * exactly `JSON.stringify` of the documented response shape (the tests compare the bytes), so
 * the route's zod schema stays the contract and the OpenAPI document is unchanged.
 */
import type { OnlineFeaturesResponse } from '../../featurestore/online-read.ts';
import { jsonRecord as record, jsonValue as value, quote, recordText } from '../json-text.ts';
import type { PredictResponse } from '../types.ts';

/** An ISO 8601 event time, each distinct Date converted once (rows share one per view). */
function isoWriter(): (v: unknown) => string {
  let last: unknown;
  let lastText = 'null';
  return (v) => {
    if (v === last) return lastText;
    last = v;
    // As Date#toJSON: an invalid Date is null.
    lastText = v instanceof Date ? (Number.isNaN(v.getTime()) ? 'null' : `"${v.toISOString()}"`) : value(v ?? null);
    return lastText;
  };
}

/**
 * The `/v1/features` body: `{ features, rows: [{ values, statuses, eventTimestamps }] }` with
 * event times as ISO 8601 strings (null when nothing was stored or for on-demand features).
 * Values and statuses go through JSON.stringify; event times are written here, each distinct
 * Date once (JSON.stringify would call Date#toJSON for every feature: 53 µs a row against 17).
 */
export function featuresJson(result: OnlineFeaturesResponse): string {
  const quotedFeatures = result.features.map(quote);
  let out = `{"features":[${quotedFeatures.join(',')}],"rows":[`;
  const iso = isoWriter();
  for (let r = 0; r < result.rows.length; r++) {
    const row = result.rows[r]!;
    const timeKeys = Object.keys(row.eventTimestamps);
    out += `${r === 0 ? '' : ','}{"values":${recordText(row.values)},"statuses":${recordText(row.statuses)}`;
    out += `,"eventTimestamps":${record(timeKeys, quotedKeys(timeKeys, result.features, quotedFeatures), row.eventTimestamps, iso)}}`;
  }
  return `${out}]}`;
}

/** Quoted `keys`, reusing the quoted feature names when the keys are the features in order. */
function quotedKeys(keys: readonly string[], features: readonly string[], quotedFeatures: readonly string[]): readonly string[] {
  if (keys.length === features.length) {
    let same = true;
    for (let i = 0; i < keys.length && same; i++) same = keys[i] === features[i];
    if (same) return quotedFeatures;
  }
  return keys.map(quote);
}

/**
 * The `/v1/predict` body: `{ model, version, predictions: [{ id, output, features, statuses, degraded }] }`.
 * Feature and status text that the prediction log already wrote is reused.
 */
export function predictJson(response: PredictResponse): string {
  let out = `{"model":${quote(response.model)},"version":${quote(response.version)},"predictions":[`;
  for (let i = 0; i < response.predictions.length; i++) {
    const p = response.predictions[i]!;
    out += `${i === 0 ? '' : ','}{"id":${quote(p.id)},"output":${value(p.output)}`;
    out += `,"features":${recordText(p.features)},"statuses":${recordText(p.statuses)}`;
    out += `,"degraded":${p.degraded ? 'true' : 'false'}}`;
  }
  return `${out}]}`;
}
