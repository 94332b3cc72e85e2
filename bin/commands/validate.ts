/**
 * @module commands/validate
 * `larder validate --current X [--reference Y]`: every check of the validation stage on a
 * Parquet/CSV file — schema, null rates, encoding, non-finite numbers and, with a reference,
 * drift; expectations from `--expect FILE.json`; dataset checks from flags. Text, `--json`
 * (the DESIGN §6 report) or `--html FILE`; exit code 3 when any issue is an error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { larderError, reasonOf } from '../../errors.ts';
import { parseDuration } from '../../featurestore/define/duration.ts';
import type { Expectations } from '../../featurestore/define/dtypes.ts';
import type { DatasetChecks } from '../../validation/expectations.ts';
import { reportHtml } from '../../validation/html.ts';
import { isProfile, resolveInput } from '../../validation/inputs.ts';
import { formatReport, type ValidationReport } from '../../validation/report.ts';
import { validate, type ValidateOptions } from '../../validation/stage.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError, type Io } from '../output.ts';
import { withProgress } from '../progress.ts';

const USAGE = `Usage: larder validate --current FILE|SOURCE|VIEW [--reference FILE|PROFILE.json|SOURCE|VIEW] [--expect EXPECT.json]
       [--keys a,b] [--timestamp COLUMN] [--max-age 1d] [--min-rows N] [--max-rows N]
       [--html REPORT.html] [--project DIR] [--json]

Checks a Parquet/CSV file, or a batch source or feature view of the project (a view brings its
features' declared expectations and its source's event-time column): schema against the reference (missing, new, retyped columns), null
rates (and per day of --timestamp), NaN/±Inf, encoding integrity (U+FFFD, mojibake, surrogates,
non-NFC), declared expectations (--expect: {"column": {"min":0,"max":10,"oneOf":[…],"regex":"…",
"maxNullRate":0.01}}), duplicate --keys, row-count bounds, freshness of --timestamp, and with a
reference, drift (PSI / KS / chi-square). Exit code 3 when any issue is an error.`;

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
  summary: 'check a Parquet/CSV file: schema, nulls, encoding, expectations, drift',
  usage: USAGE,
  options: {
    current: { type: 'string' }, reference: { type: 'string' }, expect: { type: 'string' }, keys: { type: 'string' },
    timestamp: { type: 'string' }, 'max-age': { type: 'string' }, 'min-rows': { type: 'string' }, 'max-rows': { type: 'string' }, html: { type: 'string' },
  },
  async run({ io, projectDir, values }: CommandContext): Promise<number> {
    if (typeof values.current !== 'string') throw usageError(`--current is required\n${USAGE}`);
    const resolved = await resolveInput(values.current, projectDir, '--current');
    const current = resolved.input;
    if (isProfile(current)) throw usageError('--current must be data (Parquet/CSV, a source or a view), not a profile');
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
    const options: ValidateOptions = {
      current,
      projectDir,
      dataset,
      ...(typeof values.reference === 'string' ? { reference: (await resolveInput(values.reference, projectDir, '--reference')).input } : {}),
      // Declared expectations of a view or push source, overridden per column by --expect.
      expectations: { ...resolved.expectations, ...(typeof values.expect === 'string' ? readExpectations(projectDir, values.expect) : {}) },
    };
    const report = await withProgress(io, `validating ${values.current}`, () => validate(options));
    return emitReport(io, projectDir, report, values.html, `Validation of ${values.current}`);
  },
};
