/**
 * @module validation/expectations-of
 * The expectations declared on a schema's dtypes, by column.
 */
import type { DType, DTypeSpec, Expectations } from '../featurestore/define/dtypes.ts';

/** The expectations declared on a schema's dtypes (`t.float64().expect({ … })`). */
export function expectationsOf(schema: Readonly<Record<string, DType | DTypeSpec>>): Record<string, Expectations> {
  const out: Record<string, Expectations> = {};
  for (const [name, d] of Object.entries(schema)) {
    const e = 'expect' in d && typeof d.expect === 'object' ? d.expect : (d as DType).expectations;
    if (e) out[name] = e;
  }
  return out;
}
