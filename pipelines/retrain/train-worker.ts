/**
 * @module pipelines/retrain/train-worker
 * The worker-thread side of `trainInThread`: receives the frames and options, trains, posts
 * progress per round and then the exported model. Runs nothing at import but the listener.
 */
import { parentPort } from 'node:worker_threads';
import { reasonOf, isLarderError } from '../../errors.ts';
import { trainModel, type TrainOptions } from '../trainers/index.ts';
import type { TrainingFrame } from '../trainers/frame.ts';

export interface TrainJob {
  readonly fit: TrainingFrame;
  readonly valid?: TrainingFrame;
  readonly options: Omit<TrainOptions, 'valid' | 'onProgress' | 'signal'>;
}

parentPort?.once('message', (job: TrainJob) => {
  try {
    const model = trainModel(job.fit, {
      ...job.options,
      ...(job.valid === undefined ? {} : { valid: job.valid }),
      onProgress: (round) => parentPort?.postMessage({ type: 'progress', round }),
    });
    const { bytes, serving } = model.toOnnx();
    parentPort?.postMessage({ type: 'done', bytes, serving, params: model.params, info: model.info }, [bytes.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort?.postMessage({
      type: 'error',
      error: isLarderError(error) ? { code: error.code, message: error.message, details: error.details } : { message: reasonOf(error) },
    });
  }
});
