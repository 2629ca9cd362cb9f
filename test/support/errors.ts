import { toDatabaseError } from '../../src/base/database-errors.ts';
import { DatabaseError } from '../../src/base/errors.ts';
import { InputError } from '../../src/base/input.ts';

/** The typed refusal a piece of work ends with; anything else (or success) fails the test. */
export async function failure(
  work: Promise<unknown> | (() => Promise<unknown>),
): Promise<DatabaseError | InputError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (caught) {
    // Raw Drizzle calls (outside withTenant) reject with the driver's error: type it the same way.
    const error = toDatabaseError(caught);
    if (error instanceof DatabaseError || error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected a refusal, but the work succeeded');
}
