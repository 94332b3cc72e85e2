/**
 * @module aggregations-check
 * What TypeScript cannot see in an aggregation view: features declared beside aggregations, an
 * unknown function, a missing or empty expression, windows and lags that do not parse, and
 * output dtypes the function cannot produce. Problems are reported, never thrown.
 */
import { AGGREGATION_FNS, isAggregation, type AggregationDef } from './aggregations.ts';
import type { FeatureViewDef } from './definitions.ts';
import type { DTypeKind } from './dtypes.ts';
import { parseDuration } from './duration.ts';

/** How a problem is reported (project.ts collects them all). */
type Report = (code: string, path: string, message: string) => void;

const NUMERIC: readonly DTypeKind[] = ['int64', 'int32', 'float64', 'float32'];
const FLOAT: readonly DTypeKind[] = ['float64', 'float32'];

/** dtypes each function's result may be cast to; absent: any scalar. */
const OUTPUT_KINDS: Partial<Record<AggregationDef['fn'], readonly DTypeKind[]>> = {
  count: NUMERIC, countDistinct: NUMERIC, sum: NUMERIC, avg: FLOAT, stddev: FLOAT,
};

function checkDuration(value: unknown, what: string, path: string, error: Report, allowZero: boolean): void {
  if (typeof value !== 'string') {
    error('bad_aggregation', path, `${what} must be a duration such as '7d'`);
    return;
  }
  try {
    const ms = parseDuration(value);
    if (ms < 0 || (!allowZero && ms === 0)) error('bad_aggregation', path, `${what} ${value} must be ${allowZero ? 'zero or more' : 'positive'}`);
  } catch (e) {
    error('bad_aggregation', path, (e as Error).message);
  }
}

export function checkAggregations(view: FeatureViewDef, path: string, error: Report): void {
  const aggregations = view.aggregations;
  if (typeof aggregations !== 'object' || aggregations === null) {
    error('bad_aggregation', `${path}.aggregations`, `aggregations of ${view.name} must be an object of agg.* definitions`);
    return;
  }
  if (Object.keys(view.features ?? {}).some((k) => !Object.hasOwn(aggregations, k))) {
    error('features_and_aggregations', path, `feature view ${view.name} declares features and aggregations: an aggregation view's features are its aggregations`);
  }
  for (const [name, aggregation] of Object.entries(aggregations)) {
    const at = `${path}.aggregations.${name}`;
    if (!isAggregation(aggregation)) {
      error('bad_aggregation', at, `${name} needs an aggregation such as agg.avg('delay', '7d')`);
      continue;
    }
    const { fn, expr, window, lag, dtype } = aggregation;
    if (!AGGREGATION_FNS.includes(fn)) {
      error('bad_aggregation', at, `unknown aggregation ${String(fn)}`);
      continue;
    }
    if (fn !== 'count' && (typeof expr !== 'string' || expr.trim() === '')) error('bad_aggregation', at, `agg.${fn} needs a column or SQL expression`);
    if (window !== undefined || fn !== 'last') checkDuration(window, 'window', at, error, false);
    if (lag !== undefined) checkDuration(lag, 'lag', at, error, true);
    const allowed = OUTPUT_KINDS[fn];
    if (dtype?.kind === 'array' || (allowed !== undefined && dtype !== undefined && !allowed.includes(dtype.kind))) {
      error('bad_aggregation', at, `agg.${fn} cannot produce a ${String(dtype.kind)} value${allowed ? ` (use one of ${allowed.join(', ')})` : ''}`);
    }
  }
}
