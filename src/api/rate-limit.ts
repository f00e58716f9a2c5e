import type { Request, RequestHandler, Response } from 'express';
import { rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { HttpError } from './errors';

export interface ApiRateLimits {
  perMinute: number;
  perHour: number;
}

type Limited = Request & { rateLimitMinute?: RateLimitInfo; rateLimitHour?: RateLimitInfo };

/** Seed 000's headers, for the window that will run out first. */
function setHeaders(res: Response, info: RateLimitInfo): void {
  res.setHeader('X-RateLimit-Limit', String(info.limit));
  res.setHeader('X-RateLimit-Remaining', String(Math.max(0, info.remaining)));
  if (info.resetTime) res.setHeader('X-RateLimit-Reset', String(Math.ceil(info.resetTime.getTime() / 1000)));
}

function tighter(req: Limited): RateLimitInfo | undefined {
  const { rateLimitMinute: m, rateLimitHour: h } = req;
  if (!m || !h) return m ?? h;
  return h.remaining < m.remaining ? h : m;
}

/**
 * Requests per caller (API key or user) per minute and per hour (seed 004 counts both), after
 * authentication so each caller has its own budget. Counted in this process's memory: with N API
 * replicas behind a load balancer a caller gets up to N times the budget.
 */
export function apiRateLimit(limits: ApiRateLimits): RequestHandler[] {
  const keyGenerator = (req: Request) => (req.principal ? `${req.principal.kind}:${req.principal.userId ?? req.principal.label}` : `anon:${req.ip}`);
  const limiter = (windowMs: number, limit: number, requestPropertyName: 'rateLimitMinute' | 'rateLimitHour') =>
    rateLimit({
      windowMs,
      limit,
      keyGenerator,
      requestPropertyName,
      legacyHeaders: false,
      standardHeaders: false,
      // keyGenerator never returns a bare IP for authenticated callers; the library's IPv6 check does not apply.
      validate: { keyGeneratorIpFallback: false },
      handler: (req, res, next) => {
        const info = (req as Limited)[requestPropertyName]!;
        setHeaders(res, info);
        const retryAfter = Math.max(1, Math.ceil(((info.resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));
        res.setHeader('Retry-After', String(retryAfter));
        next(
          new HttpError('RATE_LIMIT_EXCEEDED', `Rate limit exceeded: ${limit} requests per ${windowMs >= 3_600_000 ? 'hour' : 'minute'}`, {
            limit,
            remaining: 0,
            reset_time: info.resetTime?.toISOString() ?? null,
            retry_after_seconds: retryAfter,
          }),
        );
      },
    });
  const headers: RequestHandler = (req, res, next) => {
    const info = tighter(req as Limited);
    if (info) setHeaders(res, info);
    next();
  };
  return [limiter(60_000, limits.perMinute, 'rateLimitMinute'), limiter(3_600_000, limits.perHour, 'rateLimitHour'), headers];
}
