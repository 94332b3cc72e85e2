/**
 * @module command
 * The shape of a CLI command, kept apart from `main.ts` so commands don't import the dispatcher.
 */
import type { ParseArgsConfig } from 'node:util';
import type { Io } from './output.ts';

export interface CommandContext {
  readonly io: Io;
  readonly projectDir: string;
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: readonly string[];
}

export interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly run: (ctx: CommandContext) => Promise<number>;
}
