import { randomUUID } from 'node:crypto';
import { Router, type Request, type RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { z } from 'zod';
import { PasswordHashingBusyError, verifyPassword } from '../../auth/passwords';
import { hashRefreshToken, newRefreshToken, signAccessToken, type TokenSettings } from '../../auth/tokens';
import type { Db } from '../../db/database';
import type { User } from '../../db/schema';
import { consumeRefreshToken, findUserByEmail, getUser, recordLogin, revokeRefreshFamily, storeRefreshToken } from '../../db/users';
import { HttpError } from '../errors';
import type { AppDeps } from '../deps';
import { route } from '../route-doc';
import { runMiddleware } from '../run-middleware';
import { LoginBody, RefreshBody, TokenPair, userView } from './user-schemas';

async function issueTokens(db: Db, tokens: TokenSettings, user: User, family: string = randomUUID()) {
  const refresh = newRefreshToken();
  await storeRefreshToken(db, user.id, refresh.hash, family, new Date(Date.now() + tokens.refreshTtlSeconds * 1000));
  return {
    access_token: await signAccessToken(tokens, { userId: user.id, role: user.role, email: user.email, session: family }),
    token_type: 'bearer' as const,
    expires_in: tokens.accessTtlSeconds,
    refresh_token: refresh.token,
    refresh_expires_in: tokens.refreshTtlSeconds,
    user: userView(user),
  };
}

/** Login limits; failed means answered 401 (a password was checked and was wrong). */
export interface LoginLimits {
  /** Failed logins per address and email per 15 minutes: one account's password guessed slowly. */
  perEmail: number;
  /** Failed logins per address (any email) per 15 minutes: one caller trying many accounts. */
  perAddress: number;
  /** Logins that check a password, all callers together, per minute: bounds bcrypt work in a distributed flood. */
  perMinute: number;
}

/** LOGIN_LIMIT_PER_EMAIL, LOGIN_LIMIT_PER_ADDRESS and LOGIN_LIMIT_PER_MINUTE defaults. */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perEmail: 10, perAddress: 30, perMinute: 120 };

type LimitedRequest = Request & Partial<Record<string, RateLimitInfo>>;

/**
 * One limiter. Only answers in `counted` use up the budget (express-rate-limit counts a request
 * when it arrives and takes it back when it ends otherwise), so a 429 from another limiter or from
 * a full hashing queue costs nobody a try. Refusals are cheap: no bcrypt (the login's body is parsed
 * first, so a malformed one is a 400 and counts for nothing).
 */
function loginLimiter(name: string, o: { windowMs: number; limit: number; counted: number[]; key: (req: Request) => string; message: string }): RequestHandler {
  const property = `loginLimit_${name}`;
  return rateLimit({
    windowMs: o.windowMs,
    limit: o.limit,
    keyGenerator: o.key,
    requestPropertyName: property,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => !o.counted.includes(res.statusCode),
    legacyHeaders: false,
    standardHeaders: false,
    // The keys that hold an address go through ipKeyGenerator; the global one holds none.
    validate: { keyGeneratorIpFallback: false },
    handler: (req, res, next) => {
      const info = (req as LimitedRequest)[property];
      const retryAfter = Math.max(1, Math.ceil(((info?.resetTime?.getTime() ?? Date.now() + o.windowMs) - Date.now()) / 1000));
      res.setHeader('Retry-After', String(retryAfter));
      next(new HttpError('RATE_LIMIT_EXCEEDED', o.message, { limit: o.limit, window_seconds: o.windowMs / 1000, retry_after_seconds: retryAfter }));
    },
  });
}

const address = (req: Request) => ipKeyGenerator(req.ip ?? '');

/**
 * Seed 004's login and refresh, mounted before authentication. Logins are limited three ways:
 * failed ones per address and email (a password guessed at API speed), failed ones per address
 * (one caller walking through emails), and all of them together per minute (many callers at
 * once). Each limit is counted in this process's memory. Behind them, bcrypt runs on a thread
 * with a bounded queue (src/auth/passwords.ts), so even the logins let through cannot slow the
 * webhooks that share this process.
 */
export function authRouter(deps: AppDeps & { tokens: TokenSettings }): Router {
  const router = Router();
  const limits = deps.loginLimits ?? DEFAULT_LOGIN_LIMITS;
  const failed = [401];
  const limiters = [
    loginLimiter('address', {
      windowMs: 15 * 60_000,
      limit: limits.perAddress,
      counted: failed,
      key: address,
      message: 'Too many failed logins from this address; wait before trying again',
    }),
    loginLimiter('email', {
      windowMs: 15 * 60_000,
      limit: limits.perEmail,
      counted: failed,
      key: (req) =>
        `${address(req)}|${String((req.body as { email?: unknown } | undefined)?.email ?? '')
          .trim()
          .toLowerCase()}`,
      message: 'Too many failed logins; wait before trying again',
    }),
    // Last: a request another limiter refuses never touches the shared budget, even while in flight.
    loginLimiter('all', {
      windowMs: 60_000,
      limit: limits.perMinute,
      counted: [200, 401],
      key: () => 'all',
      message: 'Too many logins right now; try again shortly',
    }),
  ];

  router.post(
    '/login',
    route(
      {
        summary: 'Sign in with email and password',
        description:
          'Returns a short-lived access token (JWT) and a refresh token. Send the access token as `Authorization: Bearer <token>`. ' +
          'Failed logins are limited per address and email and per address, all logins per minute together; beyond a limit the answer is 429 with Retry-After.',
        access: 'public',
        body: LoginBody,
        responses: { 200: { description: 'Signed in', schema: TokenPair } },
        errors: ['AUTHENTICATION_ERROR', 'RATE_LIMIT_EXCEEDED'],
      },
      async ({ body: { email, password }, req, res }) => {
        for (const limiter of limiters) await runMiddleware(limiter, req, res);
        const user = await findUserByEmail(deps.db, email);
        // Same answer (and same time, see verifyPassword) for an unknown email and a wrong password.
        const ok = await verifyPassword(password, user?.password_hash).catch((err: unknown) => {
          if (!(err instanceof PasswordHashingBusyError)) throw err;
          res.setHeader('Retry-After', String(err.retryAfterSeconds));
          throw new HttpError('RATE_LIMIT_EXCEEDED', err.message, { retry_after_seconds: err.retryAfterSeconds });
        });
        if (!user || !ok) throw new HttpError('AUTHENTICATION_ERROR', 'Email or password is wrong');
        if (!user.is_active) throw new HttpError('AUTHENTICATION_ERROR', 'This user is deactivated');
        await recordLogin(deps.db, user.id);
        return issueTokens(deps.db, deps.tokens, user);
      },
    ),
  );

  router.post(
    '/refresh',
    route(
      {
        summary: 'Trade a refresh token for a new token pair',
        description: 'Each refresh token works once. Presenting a used one again revokes every token of that login.',
        access: 'public',
        body: RefreshBody,
        responses: { 200: { description: 'A new access token and refresh token', schema: TokenPair } },
      },
      async ({ body: { refresh_token } }) => {
        const outcome = await consumeRefreshToken(deps.db, hashRefreshToken(refresh_token));
        if (!outcome.ok) {
          const why = {
            unknown: 'is not valid',
            expired: 'has expired',
            revoked: 'was revoked',
            reused: 'was already used; every token of this login is now revoked',
          }[outcome.reason];
          throw new HttpError('AUTHENTICATION_ERROR', `Refresh token ${why}; sign in again`);
        }
        const user = await getUser(deps.db, outcome.userId);
        if (!user?.is_active) throw new HttpError('AUTHENTICATION_ERROR', 'This user no longer exists or is deactivated');
        return issueTokens(deps.db, deps.tokens, user, outcome.family);
      },
    ),
  );

  router.post(
    '/logout',
    route(
      {
        summary: 'Revoke a refresh token and every token refreshed from the same login',
        description: 'The access tokens issued by that login (and its refreshes) stop working at once too.',
        access: 'public',
        body: RefreshBody,
        responses: { 200: { description: 'Revoked', schema: z.object({ status: z.literal('logged_out') }) } },
      },
      async ({ body: { refresh_token } }) => {
        if (!(await revokeRefreshFamily(deps.db, hashRefreshToken(refresh_token)))) throw new HttpError('AUTHENTICATION_ERROR', 'Refresh token is not valid');
        return { status: 'logged_out' };
      },
    ),
  );

  return router;
}
