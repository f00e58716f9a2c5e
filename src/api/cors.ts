import type { RequestHandler } from 'express';
import { HttpError } from './errors';

const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE';
const ALLOWED_HEADERS = 'Authorization, Content-Type, Idempotency-Key, X-Request-Id';
/** What a browser script may read of an answer besides the simple headers. */
const EXPOSED_HEADERS = 'X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After';
const PREFLIGHT_CACHE_SECONDS = 600;

/**
 * CORS for the API (CORS_ORIGINS): a dashboard on one of the listed origins may call it from the
 * browser. Preflights are answered here, before authentication (a browser sends them without the
 * Authorization header). No origin listed means same-origin only: no CORS headers at all, and a
 * preflight from elsewhere is refused. Credentials (cookies) are never allowed: the API takes
 * bearer tokens.
 */
export function cors(origins: string[]): RequestHandler {
  const allowed = new Set(origins.map(normalise));
  return (req, res, next) => {
    const origin = req.get('origin');
    if (!origin) return next();
    const ok = allowed.has(normalise(origin));
    res.vary('Origin');
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    if (!ok) {
      if (preflight) return next(new HttpError('AUTHORIZATION_ERROR', `Origin ${origin} may not call this API (CORS_ORIGINS)`));
      return next();
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    if (!preflight) {
      res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
      return next();
    }
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_CACHE_SECONDS));
    res.status(204).end();
  };
}

/** Origins compare by scheme, host and port only, case-insensitively, without a trailing slash. */
function normalise(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}
