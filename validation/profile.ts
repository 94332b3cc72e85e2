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
import { quoteIdent, sqlLiteral } from '../featurestore/offline/sql.ts';
import { decilesSql, doubleLiteral, edgesFromQuantiles } from './binning.ts';
import { encodingConditions } from './encoding-sql.ts';
import {
  DEFAULT_TOP_K, emptyEncoding, type BinCounts, type BinSpec, type CategoryBinSpec, type ColumnKind, type ColumnProfile, type DatasetProfile,
  type FrozenBins, type NumericBinSpec, type TopValue,
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
  /** Decile edges: exact (a sort), approximate (t-digest), or by size (default: exact up to 500k rows). */
  readonly quantiles?: 'exact' | 'approx' | 'auto';
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

/** Above this many rows, decile edges come from DuckDB's t-digest (`approx_quantile`) instead of a full sort. */
export const EXACT_QUANTILE_ROWS = 500_000;

const isNumeric = (p: Planned): boolean => p.kind === 'numeric' || p.kind === 'timestamp';
const isCategorical = (p: Planned): boolean => p.kind === 'string' || p.kind === 'bool';

/** Select-list items of the aggregate pass for one column, aliased `c{i}_{stat}`. */
function statsSql(p: Planned, i: number, quantiles: 'exact' | 'approx' | null, varianceScale: number): string[] {
  const a = (stat: string): string => quoteIdent(`c${i}_${stat}`);
  const c = quoteIdent(p.name);
  const out = [`count(${c}) AS ${a('nonnull')}`];
  const v = p.value ? projected(i) : null;
  if (isNumeric(p) && v) {
    // Moments read the finite value projected once per row: a FILTER clause per aggregate
    // cost about as much as the aggregates themselves (measured).
    const f = projectedFinite(i);
    out.push(
      `count_if(isnan(${v})) AS ${a('nan')}`,
      `count_if(${v} = 'inf'::DOUBLE) AS ${a('posinf')}`,
      `count_if(${v} = '-inf'::DOUBLE) AS ${a('neginf')}`,
      `count(${f}) AS ${a('n')}`,
      `min(${f}) AS ${a('min')}`,
      `max(${f}) AS ${a('max')}`,
      `avg(${f}) AS ${a('mean')}`,
      varianceScale === 1 ? `var_pop(${f}) AS ${a('varpop')}` : `var_pop(${f} / ${varianceScale}) AS ${a('varpop')}`,
      `approx_count_distinct(${v}) AS ${a('distinct')}`,
    );
    if (quantiles) out.push(`${decilesSql(f, quantiles)} AS ${a('deciles')}`);
    if (p.bins?.kind === 'numeric') out.push(...atOrAboveSql(i, p.bins));
  }
  if (p.kind === 'string') {
    out.push(
      `count_if(${c} = '') AS ${a('empty')}`,
      `min(strlen(${c})) AS ${a('bmin')}`, `max(strlen(${c})) AS ${a('bmax')}`, `sum(strlen(${c})) AS ${a('bsum')}`,
      `min(length(${c})) AS ${a('cmin')}`, `max(length(${c})) AS ${a('cmax')}`, `sum(length(${c})) AS ${a('csum')}`,
    );
  }
  for (const [signal, cond] of Object.entries(encodingConditions(p.kind, p.name))) out.push(`count_if(${cond}) AS ${a(signal)}`);
  if (p.kind === 'bytes') {
    out.push(
      `count_if(octet_length(${c}) = 0) AS ${a('empty')}`,
      `min(octet_length(${c})) AS ${a('bmin')}`, `max(octet_length(${c})) AS ${a('bmax')}`, `sum(octet_length(${c})) AS ${a('bsum')}`,
      `approx_count_distinct(${c}) AS ${a('distinct')}`,
    );
  }
  return out;
}

/**
 * Numeric bins as cumulative counts: how many values are at or above each edge. Plain counts
 * vectorize better than a per-row bin index fed to `histogram` (half the time, measured); NaN (which DuckDB orders above
 * everything) is subtracted afterwards, ±Inf fall in the end bins by the same comparisons.
 */
function atOrAboveSql(i: number, spec: NumericBinSpec): string[] {
  return spec.edges.map((e, j) => `count_if(${projected(i)} >= ${doubleLiteral(e)}) AS ${quoteIdent(`c${i}_ge${j}`)}`);
}

/** The value of column `i` as computed once per row in {@link withValues}. */
const projected = (i: number): string => quoteIdent(`__larder_v${i}`);
/** The same value when finite, else NULL. */
const projectedFinite = (i: number): string => quoteIdent(`__larder_f${i}`);

/**
 * The relation with each column's value expression (casts, epoch milliseconds) computed once
 * per row: the aggregates then read a plain column instead of repeating the cast twenty times.
 */
function withValues(relation: string, planned: readonly Planned[], only?: ReadonlySet<number>): string {
  const values = planned.flatMap((p, i) => (p.value && isNumeric(p) && (!only || only.has(i)) ? [`${p.value} AS ${projected(i)}`] : []));
  if (values.length === 0) return relation;
  const finite = planned.flatMap((p, i) => (p.value && isNumeric(p) && (!only || only.has(i)) ? [`CASE WHEN isfinite(${projected(i)}) THEN ${projected(i)} END AS ${projectedFinite(i)}`] : []));
  return `(SELECT *, ${finite.join(', ')} FROM (SELECT *, ${values.join(', ')} FROM ${relation}))`;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function numericCounts(spec: NumericBinSpec, row: Record<string, unknown>, i: number, nonnull: number, nan: number): BinCounts {
  const nonMissing = nonnull - nan;
  const ge = spec.edges.map((_, j) => num(row[`c${i}_ge${j}`]) - nan);
  const counts = [nonMissing - (ge[0] ?? 0), ...ge.map((g, j) => g - (ge[j + 1] ?? 0))];
  return { spec, counts, missing: (num(row['rows']) - nonnull) + nan };
}

interface CategoryStats { topK: TopValue[]; distinct: number; categoryCounts: Map<string, number> }

/**
 * The text/boolean columns' value counts in one scan (`GROUPING SETS`, one set per column),
 * reduced in DuckDB to each column's top-K, exact distinct count and the counts of its frozen
 * categories (or of its top-K, which become its bins).
 */
async function categoryStats(session: Session, relation: string, columns: readonly Planned[], k: number): Promise<CategoryStats[]> {
  if (columns.length === 0) return [];
  const e = (j: number): string => quoteIdent(`e${j}`);
  const inner = columns.map((p, j) => `${p.value} AS ${e(j)}`).join(', ');
  const sets = columns.map((_, j) => `(${e(j)})`).join(', ');
  const flags = columns.map((_, j) => `grouping(${e(j)}) AS ${quoteIdent(`g${j}`)}`).join(', ');
  const parts = columns.flatMap((p, j) => {
    const where = `${quoteIdent(`g${j}`)} = 0 AND ${e(j)} IS NOT NULL`;
    const cats = p.bins?.kind === 'categorical' ? p.bins.categories : [];
    return [
      `(SELECT list({'v': ${e(j)}, 'n': n} ORDER BY n DESC, ${e(j)})[1:${Math.max(k, 0)}] FROM g WHERE ${where}) AS ${quoteIdent(`top${j}`)}`,
      `(SELECT count(*) FROM g WHERE ${where}) AS ${quoteIdent(`distinct${j}`)}`,
      cats.length > 0
        ? `(SELECT list({'v': ${e(j)}, 'n': n}) FROM g WHERE ${where} AND ${e(j)} IN (${cats.map(sqlLiteral).join(', ')})) AS ${quoteIdent(`cats${j}`)}`
        : `NULL AS ${quoteIdent(`cats${j}`)}`,
    ];
  });
  const sql = `WITH g AS (SELECT ${flags}, ${columns.map((_, j) => e(j)).join(', ')}, count(*) AS n
  FROM (SELECT ${inner} FROM ${relation}) GROUP BY GROUPING SETS (${sets}))
SELECT ${parts.join(',\n  ')}`;
  const row = (await session.rows(sql))[0] ?? {};
  const pairs = (x: unknown): { v: unknown; n: unknown }[] => (x ?? []) as { v: unknown; n: unknown }[];
  return columns.map((_, j) => ({
    topK: k <= 0 ? [] : pairs(row[`top${j}`]).map((t) => ({ value: String(t.v), count: Number(t.n) })),
    distinct: num(row[`distinct${j}`]),
    categoryCounts: new Map(pairs(row[`cats${j}`]).map((t) => [String(t.v), Number(t.n)])),
  }));
}

function categoryCounts(spec: CategoryBinSpec, found: Map<string, number>, nonnull: number, nulls: number): BinCounts {
  const counts = spec.categories.map((c) => found.get(c) ?? 0);
  counts.push(nonnull - counts.reduce((s, x) => s + x, 0));
  return { spec, counts, missing: nulls };
}

async function describe(session: Session, relation: string): Promise<{ name: string; type: string }[]> {
  const rows = await session.rows(`DESCRIBE SELECT * FROM ${relation}`);
  return rows.map((r) => ({ name: String(r['column_name']), type: String(r['column_type']) }));
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
  const needDeciles = planned.some((p) => isNumeric(p) && p.bins === undefined);
  const quantiles = options.quantiles === 'exact' || options.quantiles === 'approx' ? options.quantiles
    : needDeciles && num((await session.rows(`SELECT count(*) AS n FROM ${relation}`))[0]?.['n']) > EXACT_QUANTILE_ROWS ? 'approx' : 'exact';
  const statsQuery = (varianceScale: number): string => {
    const select = ['count(*) AS "rows"'];
    planned.forEach((p, i) => select.push(...statsSql(p, i, isNumeric(p) && p.bins === undefined ? quantiles : null, varianceScale)));
    return `SELECT ${select.join(',\n  ')}\nFROM ${withValues(relation, planned)}`;
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
  const categorical = planned.filter((p) => isCategorical(p) && p.value);
  const catStats = new Map((await categoryStats(session, relation, categorical, k)).map((c, j) => [categorical[j] as Planned, c]));
  const columns: ColumnProfile[] = [];
  const ownEdges: { i: number; spec: NumericBinSpec }[] = [];
  for (const [i, p] of planned.entries()) {
    const s = (stat: string): unknown => stats[`c${i}_${stat}`];
    const nonnull = num(s('nonnull'));
    const nulls = rows - nonnull;
    const numeric = isNumeric(p);
    const nan = numeric ? num(s('nan')) : 0;
    const varpop = numOrNull(s('varpop'));
    const n = num(s('n'));
    const deciles = numeric && p.bins === undefined ? ((s('deciles') as (number | null)[] | null) ?? []).map(numOrNull).filter((x): x is number => x !== null) : null;
    const text = p.kind === 'string' || p.kind === 'bytes';
    const cat = catStats.get(p) ?? null;
    let bins: BinCounts | null = null;
    if (p.bins?.kind === 'numeric') bins = numericCounts(p.bins, stats, i, nonnull, nan);
    else if (p.bins?.kind === 'categorical' && cat) bins = categoryCounts(p.bins, cat.categoryCounts, nonnull, nulls);
    else if (cat) {
      const spec: CategoryBinSpec = { kind: 'categorical', categories: cat.topK.map((t) => t.value) };
      bins = categoryCounts(spec, new Map(cat.topK.map((t) => [t.value, t.count])), nonnull, nulls);
    } else if (deciles) ownEdges.push({ i, spec: { kind: 'numeric', edges: edgesFromQuantiles(deciles) } });
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
      bins,
      topK: cat?.topK ?? [],
      distinct: cat ? cat.distinct : num(s('distinct')),
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
  // Second pass, only for numeric columns binned by their own deciles (known only now).
  if (ownEdges.length > 0) {
    const select = ownEdges.flatMap(({ i, spec }) => atOrAboveSql(i, spec));
    const only = new Set(ownEdges.map((o) => o.i));
    const binRow = select.length === 0 ? {} : (await session.rows(`SELECT count(*) AS "rows", ${select.join(', ')} FROM ${withValues(relation, planned, only)}`))[0] ?? {};
    if (select.length === 0) binRow['rows'] = rows;
    for (const { i, spec } of ownEdges) {
      const c = columns[i] as ColumnProfile;
      c.bins = numericCounts(spec, binRow, i, c.count - c.nulls, c.nan);
    }
  }
  return { version: 1, rows, columns };
}
