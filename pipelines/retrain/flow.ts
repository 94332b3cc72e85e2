/**
 * @module pipelines/retrain/flow
 * Builds the retraining flow request. Its id is derived from the parameters, so submitting the
 * same retraining twice (a double click, a retried HTTP call) runs it once; `rerun` adds a token
 * to ask for a fresh run with the same parameters.
 */
import type { FlowRequest, JsonObject } from '../jobs/types.ts';
import { parseRetrainParams, RETRAIN_STAGES, type RetrainInput } from './params.ts';

/** The retraining flow for these parameters (checked here, so a bad request fails before queueing). */
export function retrainFlow(input: RetrainInput, options: { flowId?: string } = {}): FlowRequest {
  const params = parseRetrainParams(input);
  return {
    kind: 'retrain',
    stages: RETRAIN_STAGES,
    params: JSON.parse(JSON.stringify(params)) as JsonObject,
    ...(options.flowId === undefined ? {} : { flowId: options.flowId }),
  };
}
