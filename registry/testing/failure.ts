/**
 * @module registry/testing/failure
 * Test support (not shipped): awaits a promise that must reject with a LarderError and returns
 * the error, so a test can assert its code and details.
 */
import { isLarderError, type LarderError } from '../../errors.ts';

export async function failure(promise: Promise<unknown>): Promise<LarderError> {
  try {
    await promise;
  } catch (error) {
    if (isLarderError(error)) return error;
    throw error;
  }
  throw new Error('expected a LarderError');
}
