import { HttpError } from './errors';

/** Ids are int4 serials: anything else cannot exist, so it is a 404 rather than a database error. */
export function parseId(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^\d{1,10}$/.test(raw)) return undefined;
  const id = Number(raw);
  return id >= 1 && id <= 2_147_483_647 ? id : undefined;
}

/** The id from a path parameter, or a 404 naming what was not found. */
export function requireId(raw: unknown, what: string): number {
  const id = parseId(raw);
  if (id === undefined) throw new HttpError('NOT_FOUND', `${what} ${String(raw)} not found`);
  return id;
}
