/**
 * @module validation/encoding
 * Signatures of broken text encoding, as patterns that mean the same in DuckDB's RE2 and in
 * JavaScript (`u` flag): literal characters only, no escapes either engine reads differently.
 */

const cp = (n: number): string => String.fromCodePoint(n);
const range = (a: number, b: number): string => `${cp(a)}-${cp(b)}`;

/**
 * The characters Windows-1252 (as WHATWG decodes it) gives the UTF-8 continuation bytes
 * 0x80–0xBF: C1 controls/Latin-1 for most, and the 27 letters and marks of 0x80–0x9F.
 */
const CONTINUATION = [
  range(0x80, 0xbf), cp(0x152), cp(0x153), cp(0x160), cp(0x161), cp(0x178), cp(0x17d), cp(0x17e), cp(0x192),
  cp(0x2c6), cp(0x2dc), range(0x2013, 0x2014), range(0x2018, 0x201a), range(0x201c, 0x201e), range(0x2020, 0x2022),
  cp(0x2026), cp(0x2030), cp(0x2039), cp(0x203a), cp(0x20ac), cp(0x2122),
].join('');

/**
 * Mojibake: a UTF-8 lead byte read as Latin-1/Windows-1252 (`Â`…`ô`, 0xC2–0xF4) followed by a
 * continuation byte read the same way. Covers `Ã©`, `â€™`, `ðŸ˜€` and the `ã‚`/`ã€` of Japanese.
 */
export const MOJIBAKE_PATTERN = `[${range(0xc2, 0xf4)}][${CONTINUATION}]`;

/** A UTF-16 surrogate written out as an escape: `\ud83d`. */
export const SURROGATE_ESCAPE_PATTERN = '\\\\[uU][dD][89aAbB][0-9a-fA-F]{2}';

export const REPLACEMENT_CHAR = '\uFFFD';

const LONE = '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const LONE_SURROGATE = new RegExp(LONE);
const LONE_SURROGATES = new RegExp(LONE, 'g');
const mojibake = new RegExp(MOJIBAKE_PATTERN, 'u');
const surrogateEscape = new RegExp(SURROGATE_ESCAPE_PATTERN, 'u');

/** The encoding signals of one JS string, after lone surrogates became U+FFFD as they do on the way into DuckDB. */
export function encodingSignals(text: string): {
  wellFormed: string; lone: boolean; replacement: boolean; mojibake: boolean; nonNfc: boolean; surrogateEscape: boolean;
} {
  const lone = LONE_SURROGATE.test(text);
  // What Node's UTF-8 encoder (and so DuckDB) makes of a lone surrogate: U+FFFD.
  const wellFormed = lone ? text.replace(LONE_SURROGATES, REPLACEMENT_CHAR) : text;
  return {
    wellFormed,
    lone,
    replacement: wellFormed.includes(REPLACEMENT_CHAR),
    mojibake: mojibake.test(wellFormed),
    nonNfc: wellFormed.normalize('NFC') !== wellFormed,
    surrogateEscape: surrogateEscape.test(wellFormed),
  };
}
