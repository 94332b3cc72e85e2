/**
 * @module validation/encoding-sql
 * The encoding signals as SQL conditions on a column, shared by the profile (to count rows)
 * and the checks (to sample offending values). Mirrors `encoding.ts`, which reads JS strings.
 */
import { quoteIdent, sqlLiteral } from '../featurestore/offline/sql.ts';
import { MOJIBAKE_PATTERN, REPLACEMENT_CHAR, SURROGATE_ESCAPE_PATTERN } from './encoding.ts';
import type { ColumnKind, EncodingCounts } from './profile-types.ts';

/** A SQL condition per encoding signal that applies to a column of this kind. */
export function encodingConditions(kind: ColumnKind, column: string): Partial<Record<keyof EncodingCounts, string>> {
  const c = quoteIdent(column);
  if (kind === 'string') {
    return {
      replacement: `contains(${c}, ${sqlLiteral(REPLACEMENT_CHAR)})`,
      // Both need a non-ASCII character; more bytes than characters says so without a regex,
      // which keeps the regex and the normalizer off most rows.
      mojibake: `strlen(${c}) > length(${c}) AND regexp_matches(${c}, ${sqlLiteral(MOJIBAKE_PATTERN)})`,
      nonNfc: `strlen(${c}) > length(${c}) AND nfc_normalize(${c}) <> ${c}`,
      surrogateEscapes: `contains(${c}, '\\') AND regexp_matches(${c}, ${sqlLiteral(SURROGATE_ESCAPE_PATTERN)})`,
    };
  }
  if (kind === 'bytes') {
    return {
      invalidUtf8: `${c} IS NOT NULL AND try(decode(${c})) IS NULL`,
      // CESU-8/WTF-8 surrogates: ED followed by A0–BF, at a byte boundary of the hex text.
      loneSurrogates: `regexp_matches(hex(${c}), '^(..)*ED[AB]')`,
    };
  }
  return {};
}
