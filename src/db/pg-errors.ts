/** The Postgres errors (SQLSTATE codes) repositories turn into answers rather than 500s. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';
/** Postgres 18 (and so PGlite 0.5) reports a row kept by ON DELETE RESTRICT as 23001, not 23503. */
export const PG_RESTRICT_VIOLATION = '23001';

export const pgError = (err: unknown) => (err ?? {}) as { code?: string; constraint?: string };
export const isUniqueViolation = (err: unknown) => pgError(err).code === PG_UNIQUE_VIOLATION;
