/** Socket errors of a connection to Postgres that could not be made or was lost. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

// What pg and pg-pool throw when a connection drops or the pool cannot get one in time.
const PG_CONNECTION_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)/;

/**
 * Postgres cannot be reached right now: the request may be retried later and nothing in it was
 * wrong. SQLSTATE class 08 is connection exceptions; 57P01-57P03 are the server shutting down,
 * crashed, or not accepting connections yet.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code) || NETWORK_CODES.has(code))) return true;
  if (PG_CONNECTION_MESSAGES.test(err.message)) return true;
  // A host with several addresses (localhost: ::1 and 127.0.0.1) fails with one error per address.
  return err instanceof AggregateError && err.errors.some(isDatabaseUnavailable);
}
