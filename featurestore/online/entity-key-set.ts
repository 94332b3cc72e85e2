/**
 * @module online/entity-key-set
 * A set of entity keys held as 63-bit hashes in an open-addressing table (two 32-bit FNV-1a
 * variants per key, computed in one pass over its characters). No string is kept, so the set
 * costs 8 bytes per slot whatever the keys, and a lookup compares two integers. Two different
 * keys meet on all 63 bits with odds of about `n² / 2^64` (1e-8 for ten million keys): a
 * "repeat" may, that rarely, be a false alarm, but a repeat is never missed — so users must
 * only make a repeat the cautious branch (redis-batch.ts: the Lua script instead of MSETNX;
 * materialize.ts: the grouped pull instead of the raw one).
 *
 * With `maxKeys`, the set samples instead of growing past it: it then holds only keys whose hash
 * has its low `sampleBits` bits clear, dropping half of what it holds each time it fills up, so
 * a repeat rate measured over the keys it admits estimates the rate over all keys (a key is in or
 * out of the sample for good, whichever row it comes in). Lookups stay in a table that fits in
 * cache, which costs less than one cache miss per key on a table of millions.
 */

/** What {@link EntityKeySet.add} found: a new key, a repeat, or a key outside the sample. */
export const KeySeen = { Outside: -1, Repeat: 0, New: 1 } as const;
export type KeySeen = (typeof KeySeen)[keyof typeof KeySeen];

export class EntityKeySet {
  #lo: Int32Array;
  #hi: Int32Array;
  #mask: number;
  #size = 0;
  #sampleBits = 0;
  readonly #maxKeys: number;

  /** `maxKeys`: sample instead of holding more keys than this (default: hold every key). */
  constructor(options: { capacity?: number; maxKeys?: number } = {}) {
    let slots = 1 << 12;
    while (slots < 2 * (options.capacity ?? 0)) slots *= 2;
    this.#lo = new Int32Array(slots);
    this.#hi = new Int32Array(slots);
    this.#mask = slots - 1;
    this.#maxKeys = Math.max(16, options.maxKeys ?? Number.POSITIVE_INFINITY);
  }

  /** Keys held. */
  get size(): number {
    return this.#size;
  }

  /** Each admitted key stands for `2^sampleBits` keys: 1 until the set first sampled. */
  get sampleWeight(): number {
    return 2 ** this.#sampleBits;
  }

  /** Empties the set (and stops sampling); room for `capacity` keys without growing. */
  clear(capacity = 0): void {
    this.#size = 0;
    this.#sampleBits = 0;
    if (2 * capacity > this.#lo.length) {
      let slots = this.#lo.length;
      while (slots < 2 * capacity) slots *= 2;
      this.#lo = new Int32Array(slots);
      this.#hi = new Int32Array(slots);
      this.#mask = slots - 1;
    } else {
      this.#lo.fill(0);
      this.#hi.fill(0);
    }
  }

  /** Adds `key`: {@link KeySeen.New}, {@link KeySeen.Repeat} (held already) or {@link KeySeen.Outside} the sample. */
  add(key: string): KeySeen {
    let lo = 0x811c9dc5;
    let hi = 0x050c5d1f;
    for (let c = 0; c < key.length; c++) {
      const code = key.charCodeAt(c);
      lo = Math.imul(lo ^ code, 0x01000193);
      hi = Math.imul(hi ^ code, 0x5bd1e995);
    }
    // FNV's low bits follow the last characters closely (keys "1", "2", … fill runs of slots):
    // one murmur finalizer round spreads them.
    lo ^= lo >>> 16;
    lo = Math.imul(lo, 0x85ebca6b);
    lo ^= lo >>> 13;
    hi |= 1; // 0 marks an empty slot
    if (this.#sampleBits > 0 && (lo >>> 32 - this.#sampleBits) !== 0) return KeySeen.Outside;
    const los = this.#lo;
    const his = this.#hi;
    const mask = this.#mask;
    for (let at = lo & mask; ; at = (at + 1) & mask) {
      const held = his[at] as number;
      if (held === 0) {
        los[at] = lo;
        his[at] = hi;
        if (++this.#size * 2 > los.length) this.#grow();
        return KeySeen.New;
      }
      if (held === hi && los[at] === lo) return KeySeen.Repeat;
    }
  }

  /** Doubles the table, or, at `maxKeys`, keeps only the keys of a sample half the size. */
  #grow(): void {
    const los = this.#lo;
    const his = this.#hi;
    const sampling = this.#size >= this.#maxKeys;
    if (sampling) this.#sampleBits++;
    const slots = sampling ? los.length : 2 * los.length;
    this.#lo = new Int32Array(slots);
    this.#hi = new Int32Array(slots);
    this.#mask = slots - 1;
    this.#size = 0;
    for (let i = 0; i < los.length; i++) {
      const hi = his[i] as number;
      const lo = los[i] as number;
      if (hi === 0 || (sampling && (lo >>> 32 - this.#sampleBits) !== 0)) continue;
      for (let at = lo & this.#mask; ; at = (at + 1) & this.#mask) {
        if (this.#hi[at] === 0) { this.#lo[at] = lo; this.#hi[at] = hi; this.#size++; break; }
      }
    }
  }
}
