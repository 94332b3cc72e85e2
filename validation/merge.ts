/**
 * @module validation/merge
 * Merging profiles of disjoint batches. Exact for counts, rates, bins (when both sides were
 * counted against the same frozen bins), lengths and encoding counts; min/max exact; mean and
 * m2 by Chan's formula (exact up to floating point); top-K summed over the values either side
 * kept (exact only for values both kept); distinct as the larger side (a lower bound).
 */
import { larderError } from '../errors.ts';
import type { BinCounts, ColumnProfile, DatasetProfile, FiniteStats, LengthStats, StringStats, TopValue } from './profile-types.ts';

const minOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

function mergeFinite(a: FiniteStats | null, b: FiniteStats | null): FiniteStats | null {
  if (!a || !b) return a ?? b;
  const n = a.n + b.n;
  if (n === 0) return { n: 0, min: null, max: null, mean: null, m2: 0 };
  const ma = a.mean ?? 0;
  const mb = b.mean ?? 0;
  const delta = mb - ma;
  return {
    n,
    min: minOf(a.min, b.min),
    max: maxOf(a.max, b.max),
    mean: ma + (delta * b.n) / n,
    m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n,
  };
}

function sameSpec(a: BinCounts, b: BinCounts): boolean {
  return JSON.stringify(a.spec) === JSON.stringify(b.spec);
}

function mergeBins(name: string, a: BinCounts | null, b: BinCounts | null): BinCounts | null {
  if (!a || !b) return a ?? b;
  if (!sameSpec(a, b)) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: `profiles of column ${name} were binned differently; freeze bins from one reference before merging` });
  }
  return { spec: a.spec, counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)), missing: a.missing + b.missing };
}

function mergeTop(a: readonly TopValue[], b: readonly TopValue[]): TopValue[] {
  const sum = new Map<string, number>();
  for (const t of [...a, ...b]) sum.set(t.value, (sum.get(t.value) ?? 0) + t.count);
  const k = Math.max(a.length, b.length);
  return [...sum].map(([value, count]) => ({ value, count }))
    .sort((x, y) => y.count - x.count || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0)).slice(0, k);
}

const mergeLength = (a: LengthStats, b: LengthStats): LengthStats => ({ min: minOf(a.min, b.min), max: maxOf(a.max, b.max), sum: a.sum + b.sum });

function mergeStrings(a: StringStats | null, b: StringStats | null): StringStats | null {
  if (!a || !b) return a ?? b;
  const encoding = { ...a.encoding };
  for (const key of Object.keys(encoding) as (keyof typeof encoding)[]) encoding[key] += b.encoding[key];
  return { bytes: mergeLength(a.bytes, b.bytes), chars: mergeLength(a.chars, b.chars), encoding };
}

function mergeColumn(a: ColumnProfile, b: ColumnProfile): ColumnProfile {
  return {
    name: a.name,
    type: a.type,
    kind: a.kind,
    count: a.count + b.count,
    nulls: a.nulls + b.nulls,
    nan: a.nan + b.nan,
    posInf: a.posInf + b.posInf,
    negInf: a.negInf + b.negInf,
    empty: a.empty + b.empty,
    finite: mergeFinite(a.finite, b.finite),
    deciles: JSON.stringify(a.deciles) === JSON.stringify(b.deciles) ? a.deciles : null,
    bins: mergeBins(a.name, a.bins, b.bins),
    topK: mergeTop(a.topK, b.topK),
    distinct: Math.max(a.distinct, b.distinct),
    strings: mergeStrings(a.strings, b.strings),
  };
}

/** The profile of two disjoint batches with the same columns. */
export function mergeProfiles(a: DatasetProfile, b: DatasetProfile): DatasetProfile {
  const byName = new Map(b.columns.map((c) => [c.name, c]));
  const columns = a.columns.map((c) => {
    const other = byName.get(c.name);
    if (!other || other.type !== c.type) {
      throw larderError('LARDER_E_INVALID_REQUEST', { reason: `cannot merge profiles: column ${c.name} is ${other ? `${c.type} in one and ${other.type} in the other` : 'missing from one'}` });
    }
    return mergeColumn(c, other);
  });
  if (b.columns.length !== a.columns.length) {
    throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'cannot merge profiles with different columns' });
  }
  return { version: 1, rows: a.rows + b.rows, columns };
}
