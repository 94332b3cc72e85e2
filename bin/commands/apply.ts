import { formatPlan } from '../../registry/index.ts';
import { openStore } from '../../featurestore/store.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT } from '../output.ts';
import { withProgress } from '../progress.ts';

export const applyCommand: Command = {
  summary: 'check definitions against their sources and record them in the registry',
  usage: 'Usage: larder apply [--project DIR] [--json]',
  options: {},
  async run({ io, projectDir }: CommandContext): Promise<number> {
    const store = await openStore({ dir: projectDir });
    try {
      const plan = await withProgress(io, 'applying', () => store.apply());
      if (io.json) io.out(JSON.stringify(plan, null, 2));
      else io.out(`${formatPlan(plan, { color: Boolean(process.stdout.isTTY) })}\n${plan.hasChanges ? 'Applied.' : 'Nothing to apply.'}`);
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
