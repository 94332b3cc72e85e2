/**
 * @module pipelines/materialize-flow
 * The one-stage incremental materialization flow (what an hourly schedule runs); its handler is
 * in `handlers.ts`. Kept apart so the CLI can build the request without loading the stages.
 */
import type { FlowRequest } from './jobs/types.ts';

/** The incremental materialization flow of a project, up to the moment it runs. */
export function materializeFlow(project: string, views?: readonly string[]): Omit<FlowRequest, 'flowId'> {
  return { kind: 'materialize', stages: ['materialize'], params: { project, ...(views === undefined ? {} : { views: [...views] }) } };
}
