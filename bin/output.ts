/**
 * @module output
 * How the CLI talks: plain text for people, `--json` for machines, errors with their code, and
 * the exit codes of DESIGN §3.4 (0 ok, 1 failure, 2 usage error, 3 validation failed).
 */
import { isLarderError, larderError, type LarderError } from '../errors.ts';

export const EXIT = { ok: 0, failure: 1, usage: 2, validation: 3 } as const;

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly json: boolean;
  /** True when progress can be drawn (stderr is a terminal and output is not JSON). */
  readonly tty: boolean;
}

export function processIo(json: boolean): Io {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    json,
    tty: Boolean(process.stderr.isTTY) && !json,
  };
}

export function usageError(reason: string): LarderError {
  return larderError('LARDER_E_USAGE', { reason });
}

const VALIDATION_CODES = new Set(['LARDER_E_INVALID_DEFINITION', 'LARDER_E_SCHEMA_MISMATCH', 'LARDER_E_CONFIG_INVALID', 'LARDER_E_VALIDATION_FAILED']);

export function exitCodeOf(error: unknown): number {
  if (!isLarderError(error)) return EXIT.failure;
  if (error.code === 'LARDER_E_USAGE') return EXIT.usage;
  return VALIDATION_CODES.has(error.code) ? EXIT.validation : EXIT.failure;
}

/** Prints an error: `{ error: { code, message, details } }` with --json, else readable lines. */
export function reportError(io: Io, error: unknown): void {
  if (!isLarderError(error)) {
    const err = error instanceof Error ? error : new Error(String(error));
    if (io.json) io.out(JSON.stringify({ error: { code: 'LARDER_E_INTERNAL', message: err.message } }));
    else io.err(`error: ${err.stack ?? err.message}`);
    return;
  }
  if (io.json) { io.out(JSON.stringify(error.toJSON())); return; }
  io.err(`error ${error.code}: ${error.message}`);
  if (Array.isArray(error.details)) {
    for (const item of error.details as { path?: string; message?: string }[]) {
      if (item && typeof item === 'object' && typeof item.message === 'string') io.err(`  - ${item.path ? `${item.path}: ` : ''}${item.message}`);
    }
  }
  if (error.code === 'LARDER_E_QUERY_FAILED' && typeof (error.details as { sql?: unknown })?.sql === 'string') {
    io.err(`  SQL:\n${String((error.details as { sql: string }).sql).replace(/^/gm, '    ')}`);
  }
}
