import { formatPlan } from '../../registry/index.ts';
import { openStore } from '../../featurestore/store.ts';
import type { DefinitionIssue } from '../../featurestore/define/project.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, type Io } from '../output.ts';
import { withProgress } from '../progress.ts';

export function printIssues(io: Io, issues: readonly DefinitionIssue[]): void {
  if (issues.length === 0) return;
  io.err(`${issues.length} problem(s):`);
  for (const issue of issues) io.err(`  ${issue.severity === 'error' ? '✗' : '!'} ${issue.path}: ${issue.message} [${issue.code}]`);
}

export const planCommand: Command = {
  summary: 'show what apply would add, change and remove',
  usage: 'Usage: larder plan [--project DIR] [--json]',
  options: {},
  async run({ io, projectDir }: CommandContext): Promise<number> {
    const store = await openStore({ dir: projectDir });
    try {
      const { plan, issues } = await withProgress(io, 'checking definitions and sources', () => store.plan());
      const failed = issues.some((i) => i.severity === 'error');
      if (io.json) io.out(JSON.stringify({ plan, issues, ok: !failed }, null, 2));
      else {
        io.out(formatPlan(plan, { color: Boolean(process.stdout.isTTY) }));
        printIssues(io, issues);
        if (failed) io.err('apply would fail until these are fixed.');
      }
      return failed ? EXIT.validation : EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
