/**
 * @module main
 * The `larder` CLI: parses the command line, runs one command and maps failures to exit codes.
 */
import { parseArgs } from 'node:util';
import type { Command, CommandContext } from './command.ts';
import { applyCommand } from './commands/apply.ts';
import { datasetCommand } from './commands/dataset.ts';
import { driftCommand } from './commands/drift.ts';
import { getCommand } from './commands/get.ts';
import { initCommand } from './commands/init.ts';
import { materializeCommand } from './commands/materialize.ts';
import { modelsCommand } from './commands/models.ts';
import { predictCommand } from './commands/predict.ts';
import { scheduleCommand } from './commands/schedule.ts';
import { serveCommand } from './commands/serve.ts';
import { trainCommand } from './commands/train.ts';
import { workerCommand } from './commands/worker.ts';
import { planCommand } from './commands/plan.ts';
import { profileCommand } from './commands/profile.ts';
import { pushCommand } from './commands/push.ts';
import { quickstartCommand } from './commands/quickstart.ts';
import { validateCommand } from './commands/validate.ts';
import { EXIT, exitCodeOf, processIo, reportError, usageError } from './output.ts';

const GLOBAL_OPTIONS = {
  project: { type: 'string', short: 'p' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const COMMANDS: Record<string, Command> = {
  init: initCommand,
  plan: planCommand,
  apply: applyCommand,
  dataset: datasetCommand,
  materialize: materializeCommand,
  get: getCommand,
  push: pushCommand,
  quickstart: quickstartCommand,
  profile: profileCommand,
  validate: validateCommand,
  drift: driftCommand,
  train: trainCommand,
  models: modelsCommand,
  predict: predictCommand,
  worker: workerCommand,
  schedule: scheduleCommand,
  serve: serveCommand,
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(11)} ${c.summary}`);
  return [
    'larder: a feature store with model serving attached',
    '',
    'Usage: larder <command> [--project DIR] [--json] [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `larder <command> --help` for its options. Exit codes: 0 ok, 1 failure, 2 usage error, 3 validation failed.',
  ].join('\n');
}

/** Runs the CLI with `argv` (without the node and script paths) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const io = processIo(json);
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(help());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    reportError(io, usageError(`unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')}`));
    return EXIT.usage;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...rest], options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    reportError(io, usageError(`${(error as Error).message}\n${command.usage}`));
    return EXIT.usage;
  }
  if (parsed.values.help) {
    io.out(command.usage);
    return EXIT.ok;
  }
  try {
    return await command.run({
      io,
      projectDir: typeof parsed.values.project === 'string' ? parsed.values.project : process.cwd(),
      values: parsed.values as CommandContext['values'],
      positionals: parsed.positionals,
    });
  } catch (error) {
    reportError(io, error);
    return exitCodeOf(error);
  }
}
