import type { RequestHandler, Router } from 'express';
import { match } from 'path-to-regexp';
import { HttpError } from './errors';

/**
 * Why: /api/v1 authenticates before its routers run, so without this an unknown path such as
 * /api/v1/nope answered 401 to a caller without a credential and 404 to one with. A client (or a
 * person with curl) was told to sign in for a path that does not exist. This middleware, mounted
 * first in the v1 router, answers 404 NOT_FOUND when no route of that router matches the path
 * (whatever the method), before login, refresh or authentication run. A known path goes on as
 * before: 401 without a credential, then the route's own answer, or 404 for a method it does not
 * take.
 *
 * The patterns come from the router's own stack (as the route table does), read on the first
 * request so every router is registered by then, and are matched with path-to-regexp, the matcher
 * Express 5's router uses, with the router's defaults (case-insensitive, trailing slash allowed).
 * Anything it cannot read (a RegExp path) turns the check off rather than hide a real route.
 */
export function refuseUnknownPaths(router: Router): RequestHandler {
  let known: ((path: string) => boolean) | undefined;
  return (req, _res, next) => {
    known ??= knownPaths(router);
    if (known(req.path)) return next();
    next(new HttpError('NOT_FOUND', `No route for ${req.method} ${req.baseUrl}${req.path}`));
  };
}

interface Layer {
  rawPath?: unknown;
  route?: { path: unknown };
  handle?: { stack?: Layer[] };
}

const join = (prefix: string, path: string) => {
  const joined = `${prefix}/${path}`.replace(/\/+/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
};

/** A test of whether some route (or mounted middleware) of `router` answers at a path. */
export function knownPaths(router: Router): (path: string) => boolean {
  const patterns: { path: string; end: boolean }[] = [];
  let readable = true;
  const paths = (raw: unknown): string[] => {
    const list = Array.isArray(raw) ? raw.flat(Infinity) : [raw];
    if (!list.every((p) => typeof p === 'string')) readable = false;
    return list.filter((p): p is string => typeof p === 'string');
  };
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const p of paths(layer.route.path)) patterns.push({ path: join(prefix, p), end: true });
      } else {
        const mounts = layer.rawPath === undefined ? ['/'] : paths(layer.rawPath);
        for (const mount of mounts) {
          if (layer.handle?.stack) walk(layer.handle.stack, join(prefix, mount));
          // Middleware mounted at a path of its own (static files, say) answers below it.
          else if (mount !== '/') patterns.push({ path: join(prefix, mount), end: false });
        }
      }
    }
  };
  walk((router as unknown as { stack: Layer[] }).stack, '');
  if (!readable) return () => true;
  try {
    const matchers = patterns.map((p) => match(p.path, { end: p.end, sensitive: false, trailing: true, decode: false }));
    return (path) => matchers.some((m) => m(path) !== false);
  } catch {
    return () => true;
  }
}
