/** The Postgres errors (SQLSTATE codes) repositories turn into answers rather than 500s. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';
/** Postgres 18 (and so PGlite 0.5) reports a row kept by ON DELETE RESTRICT as 23001, not 23503. */
export const PG_RESTRICT_VIOLATION = '23001';

export const pgError = (err: unknown) => (err ?? {}) as { code?: string; constraint?: string };
export const isUniqueViolation = (err: unknown) => pgError(err).code === PG_UNIQUE_VIOLATION;

/**
 * A write Postgres will refuse however often it is retried: the data itself is wrong (class 22:
 * a NUL in text, a time out of range, bad UTF-8 escapes in jsonb), a rule refuses it (class 23),
 * or it exceeds a hard limit (class 54: an index row too large). Connection trouble, deadlocks
 * and shutdowns are not in these classes and stay retryable.
 */
export function isPermanentWriteError(err: unknown): boolean {
  const code = pgError(err).code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}
