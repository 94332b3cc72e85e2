/**
 * @module pipelines/retrain/train-thread
 * Trains in a worker thread. Training is CPU-bound and synchronous; on the thread of a BullMQ
 * worker it would block the event loop, so the job's lock could not be renewed and a long
 * training would be taken for a dead worker's and run twice. Aborting the signal terminates
 * the thread.
 */
import { LarderError, larderError } from '../../errors.ts';
import type { ModelServingSpec } from '../../registry/models/serving-spec.ts';
import { startTsWorker } from '../../threads.ts';
import type { TrainingInfo } from '../trainers/index.ts';
import type { TrainJob } from './train-worker.ts';

export interface ThreadTrained {
  readonly bytes: Uint8Array;
  readonly serving: ModelServingSpec;
  readonly params: Record<string, number | string | boolean>;
  readonly info: TrainingInfo;
}

type Message =
  | { type: 'progress'; round: number }
  | ({ type: 'done' } & ThreadTrained)
  | { type: 'error'; error: { code?: string; message: string; details?: unknown } };

/** Trains `job` in a fresh worker thread; `onProgress` gets each round. */
export function trainInThread(job: TrainJob, options: { signal?: AbortSignal; onProgress?: (round: number) => void } = {}): Promise<ThreadTrained> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(larderError('LARDER_E_ABORTED', { what: 'training' }, { cause: signal.reason }));
  const worker = startTsWorker(new URL('./train-worker.ts', import.meta.url));
  return new Promise<ThreadTrained>((resolve, reject) => {
    let settled = false;
    const finish = (action: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      action();
    };
    const onAbort = (): void => finish(() => reject(larderError('LARDER_E_ABORTED', { what: 'training' }, { cause: signal?.reason })));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: Message) => {
      if (message.type === 'progress') options.onProgress?.(message.round);
      else if (message.type === 'done') finish(() => resolve({ bytes: message.bytes, serving: message.serving, params: message.params, info: message.info }));
      else {
        const { code, message: text, details } = message.error;
        finish(() => reject(code === undefined ? new Error(text) : new LarderError(code as LarderError['code'], text, details === undefined ? {} : { details })));
      }
    });
    worker.on('error', (error) => finish(() => reject(error)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the training thread exited with code ${code}`))));
    worker.postMessage(job);
  });
}
