import type { Request, RequestHandler } from 'express';
import { HttpError } from './errors';

const NUL = '\u0000';

/**
 * Where a NUL character sits in a parsed value (a dotted path such as `body.items.2.name`), or
 * undefined. Walked with an explicit stack: a hostile body can nest far deeper than the call stack.
 */
export function findNul(value: unknown, root: string): string | undefined {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes(NUL)) return at;
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push([item, `${at}.${i}`]));
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        if (key.includes(NUL)) return at;
        stack.push([item, `${at}.${key}`]);
      }
    }
  }
  return undefined;
}

/** NUL in the path (`%00`; path params are decoded from it), the query or the parsed body. */
function whereNul(req: Request): string | undefined {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  if (/%00/.test(q < 0 ? url : url.slice(0, q))) return 'path';
  return findNul(req.query, 'query') ?? findNul(req.body, 'body');
}

/**
 * Refuses any input holding a NUL character with 400. Postgres text cannot store one (the insert
 * would fail as a 500), and no name, phone, message or filter needs it.
 */
export const refuseNul: RequestHandler = (req, _res, next) => {
  const where = whereNul(req);
  if (!where) return next();
  next(
    new HttpError('VALIDATION_ERROR', `${where}: must not contain a NUL character (\\u0000)`, [
      { field: where, reason: 'must not contain a NUL character (\\u0000)' },
    ]),
  );
};
