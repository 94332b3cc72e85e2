/**
 * @module pipelines/trainers/solve
 * Solves the small symmetric positive-definite systems of Newton steps.
 */
import { larderError } from '../../errors.ts';

/**
 * Solves `A·x = b` for a symmetric positive-definite `A` (row-major `dim × dim`, only the lower
 * triangle is read) by Cholesky decomposition.
 * @example choleskySolve(new Float64Array([4, 0, 2, 3]), new Float64Array([8, 9]), 2) // [1.25, 2.1666…]
 */
export function choleskySolve(a: Float64Array, b: Float64Array, dim: number): Float64Array {
  const l = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * dim + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * dim + k]! * l[j * dim + k]!;
      if (i === j) {
        if (!(sum > 0)) throw larderError('LARDER_E_INVALID_REQUEST', { reason: 'the Newton system is not positive definite; raise l2' });
        l[i * dim + i] = Math.sqrt(sum);
      } else {
        l[i * dim + j] = sum / l[j * dim + j]!;
      }
    }
  }
  const y = new Float64Array(dim);
  for (let i = 0; i < dim; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * dim + k]! * y[k]!;
    y[i] = sum / l[i * dim + i]!;
  }
  const x = new Float64Array(dim);
  for (let i = dim - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < dim; k++) sum -= l[k * dim + i]! * x[k]!;
    x[i] = sum / l[i * dim + i]!;
  }
  return x;
}
