/**
 * @module commands/validate
 * `larder validate --current X [--reference Y]`: every check of the validation stage on a
 * Parquet/CSV file, source, view or dataset — schema, null rates, encoding, non-finite numbers
 * and, with a reference, drift; expectations declared on the features and from
 * `--expect FILE.json`; dataset checks from flags (and row counts from a saved profile's
 * history). A source or view's daily null rates are recorded in the registry and, without a
 * reference, compared with that history. Text, `--json` (the DESIGN §6 report) or
 * `--html FILE`; exit code 3 when any issue is an error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { larderError, reasonOf } from '../../errors.ts';
import { parseDuration } from '../../featurestore/define/duration.ts';
import type { Expectations } from '../../featurestore/define/dtypes.ts';
import type { DatasetChecks } from '../../validation/expectations.ts';
import { reportHtml } from '../../validation/html.ts';
import { InputResolver, isProfile } from '../../validation/inputs.ts';
import { formatReport, type ValidationReport } from '../../validation/report.ts';
import { validate, type ValidateOptions } from '../../validation/stage.ts';
import { trackNullHistory } from '../../validation/store-nulls.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError, type Io } from '../output.ts';
import { withProgress } from '../progress.ts';

const USAGE = `Usage: larder validate --current FILE|SOURCE|VIEW|DATASET_ID
       [--reference FILE|PROFILE.json|SOURCE|VIEW|DATASET_ID|[profile:]SAVED] [--expect EXPECT.json]
       [--keys a,b] [--timestamp COLUMN] [--max-age 1d] [--min-rows N] [--max-rows N]
       [--html REPORT.html] [--project DIR] [--json]

Checks a Parquet/CSV file, a batch source, a feature view or a dataset of the project (a view
or dataset brings its features' declared expectations and its event-time column): schema
against the reference (missing, new, retyped columns), null rates (and per day of --timestamp),
NaN/±Inf, encoding integrity (U+FFFD, mojibake, surrogates, non-NFC), declared expectations
(--expect: {"column": {"min":0,"max":10,"oneOf":[…],"regex":"…","maxNullRate":0.01}}),
duplicate --keys, row-count bounds (and, against a profile saved with larder profile --save,
the row counts saved before), freshness of --timestamp, and with a reference, drift (PSI / KS /
chi-square). A source's or view's daily null rates are kept in the registry (the last 400
days); without --reference, each day is compared with that history. Exit code 3 when any
issue is an error.`;

export function readExpectations(projectDir: string, file: string): Record<string, Expectations> {
  const path = resolve(projectDir, file);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, Expectations>;
  } catch (error) {
    throw larderError('LARDER_E_IO', { path, reason: reasonOf(error) }, { cause: error });
  }
}

/** Prints a report as text, JSON or both with an HTML file, and returns the exit code. */
export function emitReport(io: Io, projectDir: string, report: ValidationReport, html: unknown, title: string): number {
  if (typeof html === 'string') {
    const path = resolve(projectDir, html);
    try { writeFileSync(path, reportHtml(report, title)); } catch (error) {
      throw larderError('LARDER_E_IO', { path, reason: reasonOf(error) }, { cause: error });
    }
    if (!io.json) io.err(`wrote ${path}`);
  }
  io.out(io.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.ok ? EXIT.ok : EXIT.validation;
}

function count(values: CommandContext['values'], flag: string): number | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw usageError(`--${flag} must be a whole number`);
  return n;
}

export const validateCommand: Command = {
  summary: 'check a file, source, view or dataset: schema, nulls, encoding, expectations, drift',
  usage: USAGE,
  options: {
    current: { type: 'string' }, reference: { type: 'string' }, expect: { type: 'string' }, keys: { type: 'string' },
    timestamp: { type: 'string' }, 'max-age': { type: 'string' }, 'min-rows': { type: 'string' }, 'max-rows': { type: 'string' }, html: { type: 'string' },
  },
  async run({ io, projectDir, values }: CommandContext): Promise<number> {
    if (typeof values.current !== 'string') throw usageError(`--current is required\n${USAGE}`);
    const resolver = new InputResolver(projectDir);
    const resolved = await resolver.resolve(values.current, '--current');
    const current = resolved.input;
    if (isProfile(current)) throw usageError('--current must be data (Parquet/CSV, a source, a view or a dataset), not a profile');
    const reference = typeof values.reference === 'string' ? await resolver.resolve(values.reference, '--reference') : undefined;
    const dataset: { -readonly [K in keyof DatasetChecks]: DatasetChecks[K] } = {};
    if (typeof values.keys === 'string') dataset.keys = values.keys.split(',').map((k) => k.trim()).filter(Boolean);
    const timestamp = typeof values.timestamp === 'string' ? values.timestamp : resolved.eventTimestamp;
    if (timestamp !== undefined) dataset.eventTimestamp = timestamp;
    if (typeof values['max-age'] === 'string') {
      if (dataset.eventTimestamp === undefined) throw usageError('--max-age needs --timestamp');
      dataset.maxAgeMs = parseDuration(values['max-age']);
    }
    const minRows = count(values, 'min-rows');
    const maxRows = count(values, 'max-rows');
    if (minRows !== undefined || maxRows !== undefined) dataset.rowCount = { ...(minRows === undefined ? {} : { min: minRows }), ...(maxRows === undefined ? {} : { max: maxRows }) };
    if (reference?.rowCountHistory && reference.rowCountHistory.length > 0) dataset.rowCountHistory = reference.rowCountHistory;
    const options: ValidateOptions = {
      current,
      projectDir,
      dataset,
      ...(reference ? { reference: reference.input } : {}),
      // Declared expectations of a view or push source, overridden per column by --expect.
      expectations: { ...resolved.expectations, ...(typeof values.expect === 'string' ? readExpectations(projectDir, values.expect) : {}) },
    };
    let report = await withProgress(io, `validating ${values.current}`, () => validate(options));
    if ((resolved.kind === 'source' || resolved.kind === 'view') && resolved.name !== undefined) {
      report = await trackNullHistory(await resolver.registry(), report, { kind: resolved.kind, name: resolved.name, compare: reference === undefined });
    }
    return emitReport(io, projectDir, report, values.html, `Validation of ${values.current}`);
  },
};
