/**
 * @module pipelines/handlers
 * Every stage a Larder worker can run, by flow kind: the retraining flow's five stages and the
 * one-stage incremental materialization that schedules fire (e.g. hourly).
 */
import { z } from 'zod';
import { larderError } from '../errors.ts';
import { openStore } from '../featurestore/store.ts';
import type { StageHandlers, StageInput } from './jobs/types.ts';
import { retrainStages } from './retrain/stages.ts';

const materializeParams = z.object({ project: z.string().min(1), views: z.array(z.string()).optional() }).strict();

async function materializeStage(input: StageInput): Promise<unknown> {
  const parsed = materializeParams.safeParse(input.params);
  if (!parsed.success) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `materialize parameters: ${parsed.error.issues.map((i) => i.message).join('; ')}` });
  const store = await openStore({ dir: parsed.data.project });
  try {
    const results = await store.materializeIncremental({ end: new Date(), ...(parsed.data.views === undefined ? {} : { views: parsed.data.views }) });
    return results.map((r) => ({ view: r.view, rows: r.rows }));
  } finally {
    await store.close();
  }
}

/** The handlers a `larder worker` runs. */
export function workerStages(): StageHandlers {
  return { ...retrainStages(), materialize: materializeStage };
}
