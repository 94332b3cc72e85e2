import { afterEach, describe, expect, it } from 'vitest';
import { installGracefulShutdown, type RunningWorker } from './worker.ts';

/** A worker whose close() the test finishes by hand. */
function worker(): RunningWorker & { closes: unknown[]; finish: () => void } {
  let finish: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => { finish = resolve; });
  const closes: unknown[] = [];
  return { closes, finish: () => finish(), closed, close: async (options) => { closes.push(options); await closed; } };
}

describe('installGracefulShutdown', () => {
  const uninstalls: (() => void)[] = [];
  afterEach(() => { for (const uninstall of uninstalls.splice(0)) uninstall(); });

  it('closes the worker on the first signal and exits 0 once it has closed', async () => {
    const w = worker();
    const exits: number[] = [];
    const exited = new Promise<void>((resolve) => {
      uninstalls.push(installGracefulShutdown(w, { signals: ['SIGUSR2'], returnAfterMs: 250, exit: (code) => { exits.push(code); resolve(); }, log: () => undefined }));
    });
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(w.closes).toEqual([{ returnAfterMs: 250 }]);
    expect(exits).toEqual([]);
    w.finish();
    await exited;
    expect(exits).toEqual([0]);
  });

  it('exits 1 at once on a second signal while the job is still running', () => {
    const w = worker();
    const exits: number[] = [];
    uninstalls.push(installGracefulShutdown(w, { signals: ['SIGUSR2'], exit: (code) => exits.push(code), log: () => undefined }));
    process.emit('SIGUSR2', 'SIGUSR2');
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(exits).toEqual([1]);
    expect(w.closes).toEqual([{}]);
  });
});
