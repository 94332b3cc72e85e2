/**
 * @module validation/issues
 * The issue shape every check returns, and the issue codes (documented in docs/validation.md).
 */

export type IssueSeverity = 'warn' | 'error';

export const ISSUE_CODES = [
  'EXPECT_MIN', 'EXPECT_MAX', 'EXPECT_ONE_OF', 'EXPECT_REGEX', 'NULL_RATE_ABOVE_MAX', 'NULL_RATE_MOVED',
  'NON_FINITE_VALUES', 'COLUMN_MISSING', 'COLUMN_ADDED', 'COLUMN_RETYPED', 'ROW_COUNT_OUT_OF_BOUNDS', 'DUPLICATE_KEYS',
  'STALE_DATA', 'ENCODING_REPLACEMENT_CHAR', 'ENCODING_MOJIBAKE', 'ENCODING_NON_NFC', 'ENCODING_SURROGATE_ESCAPE',
  'ENCODING_LONE_SURROGATE', 'ENCODING_INVALID_UTF8', 'ROWS_REJECTED', 'DRIFT',
] as const;

export type IssueCode = (typeof ISSUE_CODES)[number];

export interface ValidationIssue {
  readonly code: IssueCode;
  /** The column, or `null` for dataset-level checks. */
  readonly feature: string | null;
  readonly severity: IssueSeverity;
  readonly message: string;
  readonly observed: unknown;
  readonly expected: unknown;
  readonly sampleValues: unknown[];
}

export function issue(
  code: IssueCode, feature: string | null, severity: IssueSeverity, message: string, observed: unknown, expected: unknown, sampleValues: unknown[] = [],
): ValidationIssue {
  return { code, feature, severity, message, observed, expected, sampleValues };
}
