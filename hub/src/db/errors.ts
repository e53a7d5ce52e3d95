/**
 * A write refused by a unique or primary-key constraint, on either adapter. Services check first
 * and return a clear 409; this catches the race where two transactions both passed the check
 * (PostgreSQL, read committed) so the loser still gets the 409 instead of a 500.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Runs `write`; a unique violation becomes `onConflict()` (an ApiError to throw). */
export async function mapUniqueViolation<T>(write: () => Promise<T>, onConflict: () => Error): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw onConflict();
    throw error;
  }
}
