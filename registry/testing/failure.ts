/**
 * @module registry/testing/failure
 * Test support (not shipped): awaits a promise that must reject with a LarderError and returns
 * the error (or just its code), so a test can assert its code and details.
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

/** The code of the LarderError a promise rejects with, or `'no error'` when it resolves. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isLarderError(error)) return error.code;
    throw error;
  }
  return 'no error';
}
