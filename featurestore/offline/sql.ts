/**
 * @module sql
 * The only two ways a name or a value enters generated SQL. Every identifier goes through
 * {@link quoteIdent} and every value through {@link sqlLiteral}; nothing else in `offline/`
 * concatenates user-supplied text into SQL. Both are small enough to audit by eye and are
 * tested with hostile input (`sql.test.ts`).
 */
import { larderError } from '../../errors.ts';

/** Text DuckDB cannot hold in an identifier or string; refused rather than escaped. */
const NUL = '\u0000';

/**
 * Quotes an identifier (column, table, CTE name) for DuckDB: wrapped in double quotes, with
 * embedded double quotes doubled, so any text is read as exactly one name.
 * @example quoteIdent('we"ird') // "we""ird"
 */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes(NUL)) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `${JSON.stringify(name)} cannot be used as a column or table name` });
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/** A value that may appear in generated SQL as a literal. */
export type SqlValue = string | number | bigint | boolean | null;

/**
 * Renders a value as a DuckDB literal. Strings are single-quoted with embedded quotes doubled
 * (DuckDB's standard strings give backslashes no meaning); numbers must be finite; `null` is
 * `NULL`. This is the one function that puts values (file paths, column names used as
 * strings, durations) into SQL text.
 * @example sqlLiteral("it's") // 'it''s'
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  switch (typeof value) {
    case 'string':
      if (value.includes(NUL)) throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'text values cannot contain NUL characters' });
      return `'${value.replaceAll("'", "''")}'`;
    case 'number':
      if (!Number.isFinite(value)) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `${value} is not a finite number` });
      return String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
    default:
      throw larderError('LARDER_E_INVALID_REQUEST', { reason: `cannot write a ${typeof value} into SQL` });
  }
}

/** `a.b` with both parts quoted. */
export function qualified(table: string, column: string): string {
  return `${quoteIdent(table)}.${quoteIdent(column)}`;
}

/**
 * A DuckDB type name from a fixed vocabulary, for `CAST(x AS …)`. Type names come from
 * {@link duckdbTypeOf} (never from user text), but are checked anyway so that the one place
 * a type is written into SQL cannot carry anything else.
 */
export function sqlType(type: string): string {
  if (!/^[A-Z][A-Z0-9_ ]*(\[\d*\])*$/.test(type)) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `${JSON.stringify(type)} is not a DuckDB type Larder writes` });
  }
  return type;
}

/** Indents every line of `text` by `spaces`. For readable generated SQL. */
export function indent(text: string, spaces = 2): string {
  const pad = ' '.repeat(spaces);
  return text.split('\n').map((line) => (line.length > 0 ? pad + line : line)).join('\n');
}
