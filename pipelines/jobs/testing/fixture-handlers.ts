/**
 * @module pipelines/jobs/testing/fixture-handlers
 * Stage handlers with side effects on disk, for tests that kill or stop workers mid-stage:
 * `prepare → slow → record`. `slow` holds on its first start only (a marker file tells), so a
 * worker can be killed or stopped while it runs; `record` appends one line per run to
 * `results.jsonl`, so a stage that ran twice shows.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StageHandlers } from '../types.ts';

export const FIXTURE_STAGES = ['prepare', 'slow', 'record'] as const;

export function fixtureHandlers(dir: string, say: (line: string) => void = () => undefined): StageHandlers {
  return {
    prepare: async ({ params }) => ({ n: Number(params['n']) }),
    slow: async ({ params, results }, ctx) => {
      let first = true;
      try {
        await writeFile(join(dir, 'slow.started'), String(process.pid), { flag: 'wx' });
      } catch {
        first = false;
      }
      say(`started slow attempt=${ctx.attempt} first=${first}`);
      if (first) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, Number(params['holdMs']));
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new Error('slow: aborted'));
          }, { once: true });
        });
      }
      return { doubled: (results['prepare'] as { n: number }).n * 2 };
    },
    record: async ({ results }, ctx) => {
      await appendFile(join(dir, 'results.jsonl'), `${JSON.stringify({ flowId: ctx.flowId, results })}\n`);
      say('recorded');
      return { recorded: true };
    },
  };
}
