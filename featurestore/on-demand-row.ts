/**
 * @module on-demand-row
 * One row of an on-demand view: call its `compute` and coerce what it returns to the declared
 * dtypes. Offline (every dataset row) and online (every request row) run exactly this, so an
 * on-demand feature has the same value in a training set and at serving time (DESIGN §4).
 * Pure: no DuckDB, no I/O.
 */
import { larderError, reasonOf } from '../errors.ts';
import type { OnDemandViewDef } from './define/definitions.ts';
import { dtypeName, type DType } from './define/dtypes.ts';

/**
 * Runs `odfv.compute` on one row and returns the wanted features, in `features` order, each
 * coerced to its dtype. `row` names the row in errors (a dataset row number, a request row index).
 * @throws LARDER_E_ON_DEMAND_FAILED when compute throws, returns a non-object, or a value does not fit its dtype
 */
export function computeOnDemandRow(
  odfv: OnDemandViewDef, input: Record<string, unknown>, features: readonly { readonly feature: string; readonly dtype: DType }[], row: string,
): unknown[] {
  let result: unknown;
  try {
    result = (odfv.compute as (row: Record<string, unknown>) => unknown)(input);
  } catch (error) {
    throw larderError('LARDER_E_ON_DEMAND_FAILED', { view: odfv.name, row, reason: reasonOf(error) }, { cause: error });
  }
  if (typeof result !== 'object' || result === null) {
    throw larderError('LARDER_E_ON_DEMAND_FAILED', { view: odfv.name, row, reason: `compute returned ${String(result)}, not an object of features` });
  }
  return features.map(({ feature, dtype }) => {
    try {
      return coerceToDType((result as Record<string, unknown>)[feature], dtype);
    } catch (error) {
      throw larderError('LARDER_E_ON_DEMAND_FAILED', { view: odfv.name, row, reason: `feature ${feature}: ${reasonOf(error)}` }, { cause: error });
    }
  });
}

/**
 * A value an on-demand `compute` returned, as the declared dtype holds it (the JS form the
 * appender takes). Throws an Error saying why when it cannot be: no silent nulls.
 * Integers round half away from zero, as DuckDB's casts do.
 */
export function coerceToDType(value: unknown, dtype: DType): unknown {
  if (value === null || value === undefined) return null;
  const fail = (): never => {
    const shown = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? Object.prototype.toString.call(value) : String(value);
    throw new Error(`${shown} is not a ${dtypeName(dtype)}`);
  };
  switch (dtype.kind) {
    case 'int64':
    case 'int32': {
      const n = toNumber(value) ?? fail();
      const rounded = Math.sign(n) * Math.round(Math.abs(n));
      if (!Number.isFinite(rounded) || (dtype.kind === 'int32' && (rounded < -2147483648 || rounded > 2147483647))) fail();
      return rounded;
    }
    case 'float64':
    case 'float32':
      return toNumber(value) ?? fail();
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
      return fail();
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'number' && (value === 0 || value === 1)) return value === 1;
      return fail();
    case 'timestamp': {
      const date = value instanceof Date ? value : typeof value === 'number' || typeof value === 'string' ? new Date(value) : undefined;
      return date && !Number.isNaN(date.getTime()) ? date : fail();
    }
    case 'array':
      if (!Array.isArray(value)) return fail();
      return value.map((v) => coerceToDType(v, dtype.element ?? fail()));
  }
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}
