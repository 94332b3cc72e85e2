/** `--key value` and bare `--flag` (→ 'true') options of a bench script. */
export function benchArgs(argv: readonly string[] = process.argv.slice(2)): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i] as string;
    if (!key.startsWith('--')) continue;
    const next = argv[i + 1];
    out[key.slice(2)] = next === undefined || next.startsWith('--') ? 'true' : (i++, next);
  }
  return out;
}
