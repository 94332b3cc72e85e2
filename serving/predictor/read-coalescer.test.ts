import { describe, expect, it } from 'vitest';
import { larderError } from '../../errors.ts';
import type { OnlineFeaturesResponse } from '../../featurestore/online-read.ts';
import { coalesceKey, ReadCoalescer, type ReadShape } from './read-coalescer.ts';

/** A read that echoes each entity's id as the value of feature `x`, recording every call. */
function echoRead(fail?: (entities: Record<string, unknown>[]) => Error | undefined) {
  const calls: { service: string; ids: unknown[] }[] = [];
  const read = async (shape: ReadShape, entities: Record<string, unknown>[]): Promise<OnlineFeaturesResponse> => {
    calls.push({ service: shape.service ?? '', ids: entities.map((e) => e['id']) });
    const error = fail?.(entities);
    if (error !== undefined) throw error;
    return {
      features: ['x'],
      rows: entities.map((e) => ({ values: { x: e['id'] }, statuses: { x: 'PRESENT' }, eventTimestamps: { x: null } })),
    };
  };
  return { calls, read };
}

/** A coalescer's read of service `service`. */
const readOf = (coalescer: ReadCoalescer, service: string, r: Record<string, unknown>[]): Promise<OnlineFeaturesResponse> =>
  coalescer.read(coalesceKey({ service })!, { service }, r);
const rows = (...ids: number[]): Record<string, unknown>[] => ids.map((id) => ({ id }));
const xs = (response: OnlineFeaturesResponse): unknown[] => response.rows.map((r) => r.values['x']);

describe('ReadCoalescer', () => {
  it('merges the reads of one turn per service into one read and gives each caller its own rows, in order', async () => {
    const { calls, read } = echoRead();
    const coalescer = new ReadCoalescer(read);
    const answers = await Promise.all([
      readOf(coalescer, 's', rows(1, 2)), readOf(coalescer, 's', rows(3)), readOf(coalescer, 't', rows(9)), readOf(coalescer, 's', rows(4, 5, 6)),
    ]);
    expect(answers.map(xs)).toEqual([[1, 2], [3], [9], [4, 5, 6]]);
    expect(calls).toEqual([{ service: 's', ids: [1, 2, 3, 4, 5, 6] }, { service: 't', ids: [9] }]);
    // A later turn is a new group.
    expect(xs(await readOf(coalescer, 's', rows(7)))).toEqual([7]);
    expect(calls).toHaveLength(3);
  });

  it('lets a full group leave at once', async () => {
    const { calls, read } = echoRead();
    const coalescer = new ReadCoalescer(read, 3);
    const answers = await Promise.all([readOf(coalescer, 's', rows(1, 2)), readOf(coalescer, 's', rows(3)), readOf(coalescer, 's', rows(4))]);
    expect(answers.map(xs)).toEqual([[1, 2], [3], [4]]);
    expect(calls.map((c) => c.ids)).toEqual([[1, 2, 3], [4]]);
  });

  it('retries a merged read that failed on the input per request, so each gets its own answer or error', async () => {
    const { calls, read } = echoRead((entities) => {
      const bad = entities.findIndex((e) => typeof e['id'] !== 'number');
      return bad < 0 ? undefined : larderError('LARDER_E_INVALID_REQUEST', { reason: `entities[${bad}].id is not a number` });
    });
    const coalescer = new ReadCoalescer(read);
    const [good, bad, other] = await Promise.allSettled([readOf(coalescer, 's', rows(1)), readOf(coalescer, 's', [{ id: 'x' }]), readOf(coalescer, 's', rows(2))]);
    expect(good).toMatchObject({ status: 'fulfilled' });
    expect(xs((good as PromiseFulfilledResult<OnlineFeaturesResponse>).value)).toEqual([1]);
    // The error names the row as the caller numbered it (0), not as the merged read did (1).
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'LARDER_E_INVALID_REQUEST', message: expect.stringContaining('entities[0]') } });
    expect(xs((other as PromiseFulfilledResult<OnlineFeaturesResponse>).value)).toEqual([2]);
    expect(calls.map((c) => c.ids)).toEqual([[1, 'x', 2], [1], ['x'], [2]]);
  });

  it('keys reads by what they ask for; reads of feature definitions are not merged', () => {
    expect(coalesceKey({ service: 's' })).toBe(coalesceKey({ service: 's', fullFeatureNames: false }));
    expect(coalesceKey({ service: 's' })).not.toBe(coalesceKey({ service: 's', fullFeatureNames: true }));
    expect(coalesceKey({ features: ['v:a', 'v:b'] })).not.toBe(coalesceKey({ features: ['v:a,v:b'] }));
    expect(coalesceKey({ features: ['v:a', { view: 'v' } as never] })).toBeUndefined();
  });

  it('gives a failure of the store to every caller of the group, without retrying', async () => {
    const { calls, read } = echoRead(() => larderError('LARDER_E_ONLINE_UNAVAILABLE', { store: 'redis', reason: 'down' }));
    const coalescer = new ReadCoalescer(read);
    const settled = await Promise.allSettled([readOf(coalescer, 's', rows(1)), readOf(coalescer, 's', rows(2))]);
    expect(settled.map((s) => s.status === 'rejected' && (s.reason as { code: string }).code)).toEqual(['LARDER_E_ONLINE_UNAVAILABLE', 'LARDER_E_ONLINE_UNAVAILABLE']);
    expect(calls).toHaveLength(1);
  });
});
