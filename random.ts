/**
 * @module random
 * Larder's one seeded generator: the trainers' only source of randomness (a seed fixes a model)
 * and the generator of every seeded test and benchmark dataset.
 */

/**
 * Mulberry32: a fast 32-bit generator returning floats in [0, 1); the same seed gives the same
 * sequence on every platform.
 * @example const random = mulberry32(42); random(); // 0.6011037519201636
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
