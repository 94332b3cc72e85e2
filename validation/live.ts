/**
 * @module validation/live
 * The live accumulator: an incremental profile of JS rows (the serving path feeds it) with
 * bins frozen from a reference profile. Memory is fixed by the reference — a few counters and
 * one count per bin per column — whatever the traffic. Its `toProfile()` has the shape of a
 * DuckDB profile and, for the same rows, the same counts, null rates, bin counts, encoding
 * counts and lengths (and so the same PSI); moments agree up to floating point. Accumulators
 * of different processes merge through their JSON (`toJSON` / `LiveProfile.fromJSON`).
 */
import { larderError } from '../errors.ts';
import { categoryBin, numericBin } from './binning.ts';
import { encodingSignals } from './encoding.ts';
import { mergeProfiles } from './merge.ts';
import { emptyEncoding, type ColumnProfile, type DatasetProfile } from './profile-types.ts';

/** The number DuckDB would bin for a JS value of a numeric or timestamp column, `null` when missing. */
function numberOf(kind: ColumnProfile['kind'], v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  if (kind === 'timestamp' && typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

/** The text DuckDB would hold for a JS value of a text or boolean column. */
function textOf(kind: ColumnProfile['kind'], v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (kind === 'bool') return typeof v === 'boolean' ? String(v) : null;
  return typeof v === 'string' ? v : String(v);
}

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function freshColumn(ref: ColumnProfile): ColumnProfile {
  const numeric = ref.kind === 'numeric' || ref.kind === 'timestamp';
  return {
    name: ref.name, type: ref.type, kind: ref.kind,
    count: 0, nulls: 0, nan: 0, posInf: 0, negInf: 0, empty: 0,
    finite: numeric ? { n: 0, min: null, max: null, mean: null, m2: 0 } : null,
    deciles: null,
    bins: ref.bins ? { spec: ref.bins.spec, counts: new Array<number>(ref.bins.counts.length).fill(0), missing: 0 } : null,
    topK: [],
    distinct: 0,
    strings: ref.kind === 'string' ? { bytes: { min: null, max: null, sum: 0 }, chars: { min: null, max: null, sum: 0 }, encoding: emptyEncoding() } : null,
  };
}

/**
 * An incremental profile against a reference's frozen bins.
 * @example
 * const live = new LiveProfile(referenceProfile);
 * for (const row of requestRows) live.add(row);
 * const drift = profileDrift(referenceProfile, live.toProfile());
 */
export class LiveProfile {
  private rows = 0;
  private readonly columns: ColumnProfile[];
  private readonly categoryIndex = new Map<string, ReadonlyMap<string, number>>();

  constructor(reference: DatasetProfile) {
    this.columns = reference.columns.filter((c) => c.kind !== 'bytes' && c.kind !== 'other').map(freshColumn);
    for (const c of this.columns) {
      if (c.bins?.spec.kind === 'categorical') this.categoryIndex.set(c.name, new Map(c.bins.spec.categories.map((v, i) => [v, i])));
    }
  }

  /** Adds one row; columns the row lacks count as null, columns the reference lacks are ignored. */
  add(row: Readonly<Record<string, unknown>>): void {
    this.rows++;
    for (const c of this.columns) this.addValue(c, row[c.name]);
  }

  addMany(rows: Iterable<Readonly<Record<string, unknown>>>): void {
    for (const row of rows) this.add(row);
  }

  private addValue(c: ColumnProfile, v: unknown): void {
    c.count++;
    if (c.kind === 'numeric' || c.kind === 'timestamp') {
      const x = numberOf(c.kind, v);
      if (x === null) { c.nulls++; if (c.bins) c.bins.missing++; return; }
      if (Number.isNaN(x)) { c.nan++; if (c.bins) c.bins.missing++; return; }
      if (x === Infinity) c.posInf++;
      else if (x === -Infinity) c.negInf++;
      else {
        const f = c.finite as NonNullable<ColumnProfile['finite']>;
        f.n++;
        f.min = f.min === null ? x : Math.min(f.min, x);
        f.max = f.max === null ? x : Math.max(f.max, x);
        const mean = f.mean ?? 0;
        const delta = x - mean;
        f.mean = mean + delta / f.n;
        f.m2 += delta * (x - f.mean);
      }
      if (c.bins?.spec.kind === 'numeric') {
        const bin = numericBin(c.bins.spec.edges, x);
        c.bins.counts[bin] = (c.bins.counts[bin] ?? 0) + 1;
      }
      return;
    }
    let s = textOf(c.kind, v);
    if (s === null) { c.nulls++; if (c.bins) c.bins.missing++; return; }
    if (c.strings) {
      const signals = encodingSignals(s);
      s = signals.wellFormed;
      const e = c.strings.encoding;
      if (signals.lone) e.loneSurrogates++;
      if (signals.replacement) e.replacement++;
      if (signals.mojibake) e.mojibake++;
      if (signals.nonNfc) e.nonNfc++;
      if (signals.surrogateEscape) e.surrogateEscapes++;
      if (s === '') c.empty++;
      const bytes = Buffer.byteLength(s, 'utf8');
      const chars = codePoints(s);
      const b = c.strings.bytes;
      const ch = c.strings.chars;
      b.min = b.min === null ? bytes : Math.min(b.min, bytes);
      b.max = b.max === null ? bytes : Math.max(b.max, bytes);
      b.sum += bytes;
      ch.min = ch.min === null ? chars : Math.min(ch.min, chars);
      ch.max = ch.max === null ? chars : Math.max(ch.max, chars);
      ch.sum += chars;
    }
    if (c.bins?.spec.kind === 'categorical') {
      const index = this.categoryIndex.get(c.name) as ReadonlyMap<string, number>;
      const bin = categoryBin(index, c.bins.spec.categories.length, s);
      c.bins.counts[bin] = (c.bins.counts[bin] ?? 0) + 1;
    }
  }

  /** The profile so far. Top-K lists the reference's categories with their counts here. */
  toProfile(): DatasetProfile {
    const columns = this.columns.map((c) => {
      const copy = structuredClone(c);
      if (copy.bins?.spec.kind === 'categorical') {
        const spec = copy.bins.spec;
        copy.topK = spec.categories.map((value, i) => ({ value, count: copy.bins?.counts[i] ?? 0 }))
          .filter((t) => t.count > 0).sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
      }
      return copy;
    });
    return { version: 1, rows: this.rows, columns };
  }

  /** Serializable state, for merging across processes. */
  toJSON(): DatasetProfile {
    return this.toProfile();
  }

  /** Rebuilds an accumulator from `toJSON()` output, to keep counting or to merge. */
  static fromJSON(state: DatasetProfile): LiveProfile {
    const live = new LiveProfile(state);
    live.absorb(state);
    return live;
  }

  /** Adds another accumulator's counts (from this or another process). */
  merge(other: LiveProfile | DatasetProfile): this {
    this.absorb(other instanceof LiveProfile ? other.toProfile() : other);
    return this;
  }

  private absorb(state: DatasetProfile): void {
    const names = state.columns.map((c) => c.name).join(',');
    if (names !== this.columns.map((c) => c.name).join(',')) {
      throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'cannot merge live profiles of different columns' });
    }
    const merged = mergeProfiles(this.toProfile(), state);
    this.rows = merged.rows;
    for (const [i, c] of merged.columns.entries()) {
      const into = this.columns[i] as ColumnProfile;
      Object.assign(into, { ...c, topK: [], deciles: null, distinct: 0 });
    }
  }
}
