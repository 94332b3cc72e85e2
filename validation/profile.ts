/**
 * @module validation/profile
 * Profiles computed in DuckDB SQL over any relation (a table, a Parquet/CSV file, a source's
 * relation, a query), never by pulling rows into JS: one aggregate pass for counts, moments,
 * deciles, lengths and encoding signals (plus bin counts when bins are given), one small
 * GROUP BY per text column for its top-K, and — only when no bins were given — one more pass
 * that counts the bins just found. Profiles are JSON and merge exactly for counts and bins
 * when the bins were frozen from the same reference (`mergeProfiles`).
 */
import { fileRelation, formatOfPath, queryRelation } from '../featurestore/offline/sources.ts';
import type { Session } from '../featurestore/offline/duckdb.ts';
import { quoteIdent } from '../featurestore/offline/sql.ts';
import { categoryBinSql, decilesSql, edgesFromQuantiles, numericBinSql } from './binning.ts';
import { encodingConditions } from './encoding-sql.ts';
import {
  DEFAULT_TOP_K, emptyEncoding, type BinCounts, type BinSpec, type ColumnKind, type ColumnProfile, type DatasetProfile,
  type FrozenBins, type TopValue,
} from './profile-types.ts';

/** What to profile: a Parquet/CSV path, a SQL query, a table name, or a relation expression as SQL text. */
export type DataInput =
  | { readonly path: string }
  | { readonly sql: string }
  | { readonly table: string }
  | { readonly relation: string };

export function relationOf(input: DataInput): string {
  if ('path' in input) return fileRelation(input.path, formatOfPath(input.path));
  if ('sql' in input) return queryRelation(input.sql);
  if ('table' in input) return quoteIdent(input.table);
  return input.relation;
}

export interface ProfileOptions {
  /** Bins to count instead of the column's own deciles / top-K (e.g. `frozenBinsOf(reference)`). */
  readonly bins?: FrozenBins;
  /** Top values kept per text column (default 20). */
  readonly topK?: number;
  /** Only these columns (default: all). */
  readonly columns?: readonly string[];
}

export function kindOfType(type: string): ColumnKind {
  const t = type.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/.test(t)) return 'numeric';
  if (/^(TIMESTAMP.*|DATE)$/.test(t)) return 'timestamp';
  if (t === 'VARCHAR') return 'string';
  if (t === 'BOOLEAN') return 'bool';
  if (t === 'BLOB') return 'bytes';
  return 'other';
}

/** The DOUBLE (numbers, timestamps as epoch ms) or VARCHAR (text, booleans) a column is binned by. */
export function valueSql(kind: ColumnKind, column: string): string | null {
  const c = quoteIdent(column);
  switch (kind) {
    case 'numeric': return `CAST(${c} AS DOUBLE)`;
    case 'timestamp': return `CAST(epoch_ms(CAST(${c} AS TIMESTAMP)) AS DOUBLE)`;
    case 'string': return c;
    case 'bool': return `CAST(${c} AS VARCHAR)`;
    default: return null;
  }
}

interface Planned { name: string; type: string; kind: ColumnKind; value: string | null; bins: BinSpec | undefined }

/** Select-list items of the aggregate pass for one column, aliased `c{i}_{stat}`. */
function statsSql(p: Planned, i: number, withDeciles: boolean, varianceScale: number): string[] {
  const a = (stat: string): string => quoteIdent(`c${i}_${stat}`);
  const c = quoteIdent(p.name);
  const out = [`count(${c}) AS ${a('nonnull')}`];
  const v = p.value;
  if ((p.kind === 'numeric' || p.kind === 'timestamp') && v) {
    const fin = `FILTER (WHERE isfinite(${v}))`;
    out.push(
      `count(*) FILTER (WHERE isnan(${v})) AS ${a('nan')}`,
      `count(*) FILTER (WHERE ${v} = 'inf'::DOUBLE) AS ${a('posinf')}`,
      `count(*) FILTER (WHERE ${v} = '-inf'::DOUBLE) AS ${a('neginf')}`,
      `count(${v}) ${fin} AS ${a('n')}`,
      `min(${v}) ${fin} AS ${a('min')}`,
      `max(${v}) ${fin} AS ${a('max')}`,
      `avg(${v}) ${fin} AS ${a('mean')}`,
      varianceScale === 1 ? `var_pop(${v}) ${fin} AS ${a('varpop')}` : `var_pop(${v} / ${varianceScale}) ${fin} AS ${a('varpop')}`,
      `approx_count_distinct(${v}) AS ${a('distinct')}`,
    );
    if (withDeciles) out.push(`${decilesSql(v)} AS ${a('deciles')}`);
  }
  if (p.kind === 'string') {
    const has = (cond: string, stat: string): string => `count(*) FILTER (WHERE ${cond}) AS ${a(stat)}`;
    out.push(
      has(`${c} = ''`, 'empty'),
      `min(strlen(${c})) AS ${a('bmin')}`, `max(strlen(${c})) AS ${a('bmax')}`, `sum(strlen(${c})) AS ${a('bsum')}`,
      `min(length(${c})) AS ${a('cmin')}`, `max(length(${c})) AS ${a('cmax')}`, `sum(length(${c})) AS ${a('csum')}`,
      `approx_count_distinct(${c}) AS ${a('distinct')}`,
    );
  }
  for (const [signal, cond] of Object.entries(encodingConditions(p.kind, p.name))) out.push(`count(*) FILTER (WHERE ${cond}) AS ${a(signal)}`);
  if (p.kind === 'bool') out.push(`approx_count_distinct(${c}) AS ${a('distinct')}`);
  if (p.kind === 'bytes') {
    out.push(
      `count(*) FILTER (WHERE octet_length(${c}) = 0) AS ${a('empty')}`,
      `min(octet_length(${c})) AS ${a('bmin')}`, `max(octet_length(${c})) AS ${a('bmax')}`, `sum(octet_length(${c})) AS ${a('bsum')}`,
      `approx_count_distinct(${c}) AS ${a('distinct')}`,
    );
  }
  return out;
}

function binsSql(p: Planned, i: number, spec: BinSpec): string {
  if (!p.value) throw new Error(`column ${p.name} cannot be binned`);
  const bin = spec.kind === 'numeric' ? numericBinSql(spec, p.value) : categoryBinSql(spec, p.value);
  return `histogram(${bin}) AS ${quoteIdent(`c${i}_bins`)}`;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function countsFrom(spec: BinSpec, histogram: unknown, missing: number): BinCounts {
  const size = spec.kind === 'numeric' ? spec.edges.length + 1 : spec.categories.length + 1;
  const counts = new Array<number>(size).fill(0);
  for (const entry of (histogram ?? []) as { key: unknown; value: unknown }[]) counts[Number(entry.key)] = Number(entry.value);
  return { spec, counts, missing };
}

async function describe(session: Session, relation: string): Promise<{ name: string; type: string }[]> {
  const rows = await session.rows(`DESCRIBE SELECT * FROM ${relation}`);
  return rows.map((r) => ({ name: String(r['column_name']), type: String(r['column_type']) }));
}

async function topValues(session: Session, relation: string, p: Planned, k: number): Promise<TopValue[]> {
  if (k <= 0 || !p.value) return [];
  const rows = await session.rows(
    `SELECT ${p.value} AS v, count(*) AS n FROM ${relation} WHERE ${quoteIdent(p.name)} IS NOT NULL GROUP BY 1 ORDER BY n DESC, v LIMIT ${k}`,
  );
  return rows.map((r) => ({ value: String(r['v']), count: Number(r['n']) }));
}

/**
 * Profiles a relation in DuckDB.
 * @example
 * const reference = await profileRelation(session, relationOf({ path: 'jan.parquet' }));
 * const current = await profileRelation(session, relationOf({ path: 'feb.parquet' }), { bins: frozenBinsOf(reference) });
 */
export async function profileRelation(session: Session, relation: string, options: ProfileOptions = {}): Promise<DatasetProfile> {
  const k = options.topK ?? DEFAULT_TOP_K;
  let described = await describe(session, relation);
  if (options.columns) {
    const wanted = new Set(options.columns);
    described = described.filter((d) => wanted.has(d.name));
  }
  const planned: Planned[] = described.map((d) => {
    const kind = kindOfType(d.type);
    const given = options.bins?.[d.name];
    // A column retyped since the reference (text where numbers were) cannot use its bins.
    const fits = given !== undefined && (given.kind === 'numeric' ? kind === 'numeric' || kind === 'timestamp' : kind === 'string' || kind === 'bool');
    return { name: d.name, type: d.type, kind, value: valueSql(kind, d.name), bins: fits ? given : undefined };
  });
  const statsQuery = (varianceScale: number): string => {
    const select = ['count(*) AS "rows"'];
    planned.forEach((p, i) => {
      select.push(...statsSql(p, i, p.bins === undefined, varianceScale));
      if (p.bins && p.value) select.push(binsSql(p, i, p.bins));
    });
    return `SELECT ${select.join(',\n  ')}\nFROM ${relation}`;
  };
  let varianceScale = 1;
  let stats: Record<string, unknown>;
  try {
    stats = (await session.rows(statsQuery(1)))[0] ?? {};
  } catch (error) {
    // Squares of values beyond ~1e154 overflow DuckDB's variance; scale them down and accept
    // an infinite m2 (the honest double answer) rather than failing the profile.
    if (!/out of range/i.test(String((error as Error).message))) throw error;
    varianceScale = 1e200;
    stats = (await session.rows(statsQuery(varianceScale)))[0] ?? {};
  }
  const rows = num(stats['rows']);
  const columns: ColumnProfile[] = [];
  for (const [i, p] of planned.entries()) {
    const s = (stat: string): unknown => stats[`c${i}_${stat}`];
    const nulls = rows - num(s('nonnull'));
    const numeric = p.kind === 'numeric' || p.kind === 'timestamp';
    const nan = numeric ? num(s('nan')) : 0;
    const varpop = numOrNull(s('varpop'));
    const n = num(s('n'));
    const deciles = numeric && p.bins === undefined ? ((s('deciles') as (number | null)[] | null) ?? []).map(numOrNull).filter((x): x is number => x !== null) : null;
    const text = p.kind === 'string' || p.kind === 'bytes';
    columns.push({
      name: p.name,
      type: p.type,
      kind: p.kind,
      count: rows,
      nulls,
      nan,
      posInf: numeric ? num(s('posinf')) : 0,
      negInf: numeric ? num(s('neginf')) : 0,
      empty: text ? num(s('empty')) : 0,
      finite: numeric ? { n, min: numOrNull(s('min')), max: numOrNull(s('max')), mean: numOrNull(s('mean')), m2: varpop === null ? 0 : varpop * varianceScale * varianceScale * n } : null,
      deciles,
      bins: p.bins && p.value ? countsFrom(p.bins, s('bins'), nulls + nan) : null,
      topK: p.kind === 'string' || p.kind === 'bool' ? await topValues(session, relation, p, k) : [],
      distinct: num(s('distinct')),
      strings: text ? {
        bytes: { min: numOrNull(s('bmin')), max: numOrNull(s('bmax')), sum: num(s('bsum')) },
        chars: p.kind === 'string' ? { min: numOrNull(s('cmin')), max: numOrNull(s('cmax')), sum: num(s('csum')) } : { min: null, max: null, sum: 0 },
        encoding: {
          ...emptyEncoding(),
          replacement: num(s('replacement')),
          mojibake: num(s('mojibake')),
          nonNfc: num(s('nonNfc')),
          surrogateEscapes: num(s('surrogateEscapes')),
          loneSurrogates: num(s('loneSurrogates')),
          invalidUtf8: num(s('invalidUtf8')),
        },
      } : null,
    });
  }
  // Second pass, only for bins found in this profile: the column's own deciles or top-K.
  const own: { i: number; spec: BinSpec }[] = [];
  for (const [i, c] of columns.entries()) {
    const p = planned[i] as Planned;
    if (p.bins !== undefined || !p.value) continue;
    if (c.deciles) own.push({ i, spec: { kind: 'numeric', edges: edgesFromQuantiles(c.deciles) } });
    else if (c.kind === 'string' || c.kind === 'bool') own.push({ i, spec: { kind: 'categorical', categories: c.topK.map((t) => t.value) } });
  }
  if (own.length > 0) {
    const binRow = (await session.rows(`SELECT ${own.map(({ i, spec }) => binsSql(planned[i] as Planned, i, spec)).join(', ')} FROM ${relation}`))[0] ?? {};
    for (const { i, spec } of own) {
      const c = columns[i] as ColumnProfile;
      c.bins = countsFrom(spec, binRow[`c${i}_bins`], c.nulls + c.nan);
    }
  }
  return { version: 1, rows, columns };
}
