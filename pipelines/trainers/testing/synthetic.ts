/**
 * @module pipelines/trainers/testing/synthetic
 * Seeded synthetic datasets for the trainers' tests and benchmark, with a signal a linear model
 * can only partly see: an XOR interaction of `a` and `b`, a linear term in `c` whose missing
 * values carry signal of their own, a categorical effect (`city`, with nulls), a small integer
 * count (many rows sit exactly on split thresholds), a bool, a timestamp, and pure-noise columns.
 */
import type { ModelFeature } from '../../../registry/models/serving-spec.ts';
import { mulberry32 } from '../../../random.ts';

export interface SyntheticOptions {
  readonly rows: number;
  readonly seed: number;
  readonly task?: 'classification' | 'regression';
  /** Extra standard-normal columns `noise0…` with no signal. */
  readonly noise?: number;
  /** Fraction of `c` that is missing (default 0.15). */
  readonly missing?: number;
}

export interface SyntheticData {
  readonly columns: Record<string, unknown[] | Float64Array>;
  readonly features: ModelFeature[];
  readonly label: 'label';
  /** The true log-odds (classification) or mean (regression) per row. */
  readonly signal: Float64Array;
}

export const CITIES = ['SFO', 'JFK', 'LAX', 'ORD', 'SEA', 'BOS', 'ATL', 'DEN'] as const;
const CITY_EFFECT = [1.2, -0.8, 0.4, -0.4, 0.9, -1.1, 0, 0.3];
const T0 = Date.UTC(2026, 0, 1);
const YEAR_MS = 365 * 86_400_000;

/** A seeded dataset as plain columns, ready for `frameFromColumns(columns, features, 'label')`. */
export function syntheticData(options: SyntheticOptions): SyntheticData {
  const { rows: n, seed } = options;
  const random = mulberry32(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const noise = options.noise ?? 0;
  const missing = options.missing ?? 0.15;
  const a = new Float64Array(n), b = new Float64Array(n);
  const c: (number | null)[] = new Array(n);
  const city: (string | null)[] = new Array(n);
  const count = new Float64Array(n);
  const flag: boolean[] = new Array(n);
  const when: Date[] = new Array(n);
  const noiseColumns = Array.from({ length: noise }, () => new Float64Array(n));
  const signal = new Float64Array(n);
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = random() * 2 - 1;
    b[i] = random() * 2 - 1;
    const cValue = random() < missing ? null : normal();
    c[i] = cValue;
    const k = Math.floor(random() * CITIES.length);
    city[i] = random() < 0.05 ? null : CITIES[k]!;
    count[i] = Math.floor(random() * 12);
    flag[i] = random() < 0.3;
    when[i] = new Date(T0 + Math.floor(random() * YEAR_MS));
    for (const column of noiseColumns) column[i] = normal();
    let z = -0.3 + 2.2 * Math.sign(a[i]! * b[i]!) + (cValue === null ? 1 : 0.8 * cValue);
    z += city[i] === null ? 0 : CITY_EFFECT[k]!;
    z += count[i]! >= 6 ? 0.5 : 0;
    z += flag[i] ? 0.4 : 0;
    signal[i] = z;
    label[i] = options.task === 'regression' ? z + 0.3 * normal() : random() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  const features: ModelFeature[] = [
    { name: 'a', dtype: 'float64' }, { name: 'b', dtype: 'float64' }, { name: 'c', dtype: 'float64' },
    { name: 'city', dtype: 'string' }, { name: 'count', dtype: 'int64' }, { name: 'flag', dtype: 'bool' },
    { name: 'when', dtype: 'timestamp' },
    ...noiseColumns.map((_, k) => ({ name: `noise${k}`, dtype: 'float32' })),
  ];
  const columns: Record<string, unknown[] | Float64Array> = { a, b, c, city, count, flag, when, label: options.task === 'regression' ? label : Array.from(label, (y) => y === 1) };
  noiseColumns.forEach((column, k) => { columns[`noise${k}`] = column; });
  return { columns, features, label: 'label', signal };
}
