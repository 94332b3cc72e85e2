import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isLarderError, larderError } from './errors.ts';

/** Rows of the table in docs/errors.md: | `CODE` | status | message | */
function documentedCodes(): Map<string, { status: number; message: string }> {
  const text = readFileSync(new URL('./docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, { status: number; message: string }>();
  for (const line of text.split('\n')) {
    const m = /^\|\s*`(LARDER_E_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|\s*(.*?)\s*\|/.exec(line);
    if (m) rows.set(m[1] as string, { status: Number(m[2]), message: (m[3] as string).replaceAll('\\|', '|') });
  }
  return rows;
}

describe('error codes', () => {
  it('docs/errors.md documents exactly the codes in the table, with the same status and message', () => {
    const documented = documentedCodes();
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(documented.get(code), code).toEqual({ status: spec.status, message: spec.message });
    }
  });

  it('fills message templates and keeps cause and details', () => {
    const cause = new Error('disk full');
    const error = larderError('LARDER_E_IO', { path: '/x', reason: 'disk full' }, { cause, details: { n: 1 } });
    expect(error.message).toBe('I/O failure on /x: disk full');
    expect(error.status).toBe(500);
    expect(error.cause).toBe(cause);
    expect(error.toJSON()).toEqual({ error: { code: 'LARDER_E_IO', message: 'I/O failure on /x: disk full', details: { n: 1 } } });
    expect(isLarderError(error)).toBe(true);
    expect(isLarderError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
  });

  it('uses 4xx for the caller\'s mistakes and 5xx only for ours', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      const ours = ['LARDER_E_QUERY_FAILED', 'LARDER_E_IO', 'LARDER_E_REGISTRY_CORRUPT', 'LARDER_E_ONLINE_UNAVAILABLE', 'LARDER_E_MODEL_CORRUPT', 'LARDER_E_JOB_FAILED', 'LARDER_E_UNAVAILABLE', 'LARDER_E_INTERNAL'].includes(code);
      expect(spec.status >= 500, code).toBe(ours);
    }
  });
});
