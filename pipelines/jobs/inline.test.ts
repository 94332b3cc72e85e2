import { describe, expect, it } from 'vitest';
import { isLarderError, larderError } from '../../errors.ts';
import { defaultFlowId, isRetryable } from './flow.ts';
import { createInlineRunner } from './inline.ts';
import { jobRunnerSuite } from './runner.suite.ts';

jobRunnerSuite('inline', async (handlers, retry) => ({ runner: createInlineRunner(handlers, retry) }));

describe('inline runner', () => {
  it('refuses a flow with a stage it has no handler for, before running anything', async () => {
    let ran = 0;
    const runner = createInlineRunner({ a: async () => { ran++; } });
    try {
      await runner.submitFlow({ kind: 'k', stages: ['a', 'b'], params: {} });
      expect.unreachable();
    } catch (error) {
      expect(isLarderError(error) && error.code).toBe('LARDER_E_INVALID_REQUEST');
      expect(isLarderError(error) && error.details).toEqual({ missing: ['b'] });
    } finally {
      await runner.close();
    }
    expect(ran).toBe(0);
  });

  it('close() aborts the running stage, fails the flow as aborted and refuses new flows', async () => {
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => { started = resolve; });
    const runner = createInlineRunner({
      long: async (_input, ctx) => {
        started();
        await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      },
      after: async () => 'never',
    });
    const result = runner.runFlow({ kind: 'k', stages: ['long', 'after'], params: {}, flowId: 'closing' });
    await running;
    await runner.close();
    expect(await result).toMatchObject({ state: 'failed', failedStage: 'long', error: { code: 'LARDER_E_ABORTED' } });
    await expect(runner.submitFlow({ kind: 'k', stages: ['long'], params: {} })).rejects.toMatchObject({ code: 'LARDER_E_ABORTED' });
  });
});

describe('flow ids and retry rules', () => {
  it('derives the default flowId from kind, stages and params, whatever the key order', () => {
    const a = defaultFlowId({ kind: 'retrain', stages: ['a', 'b'], params: { x: 1, y: { p: [1, 2], q: null } } });
    expect(a).toMatch(/^retrain-[0-9a-f]{24}$/);
    expect(defaultFlowId({ kind: 'retrain', stages: ['a', 'b'], params: { y: { q: null, p: [1, 2] }, x: 1 } })).toBe(a);
    expect(defaultFlowId({ kind: 'retrain', stages: ['b', 'a'], params: { x: 1, y: { p: [1, 2], q: null } } })).not.toBe(a);
    expect(defaultFlowId({ kind: 'retrain', stages: ['a', 'b'], params: { x: 1, y: { p: [2, 1], q: null } } })).not.toBe(a);
    expect(defaultFlowId({ kind: 'other', stages: ['a', 'b'], params: { x: 1, y: { p: [1, 2], q: null } } })).not.toBe(a);
  });

  it('retries everything but caller mistakes', () => {
    expect(isRetryable(new Error('ECONNRESET'))).toBe(true);
    expect(isRetryable('a string')).toBe(true);
    expect(isRetryable(larderError('LARDER_E_IO', { path: 'p', reason: 'r' }))).toBe(true);
    expect(isRetryable(larderError('LARDER_E_QUERY_FAILED', { reason: 'r' }))).toBe(true);
    expect(isRetryable(larderError('LARDER_E_VALIDATION_FAILED', { count: 1, summary: 's' }))).toBe(false);
    expect(isRetryable(larderError('LARDER_E_UNKNOWN_SERVICE', { name: 'x' }))).toBe(false);
    expect(isRetryable(larderError('LARDER_E_ABORTED', { what: 'x' }))).toBe(false);
  });
});
