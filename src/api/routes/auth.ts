import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { PasswordHashingBusyError, verifyPassword } from '../../auth/passwords';
import { hashRefreshToken, newRefreshToken, signAccessToken, type TokenSettings } from '../../auth/tokens';
import type { Db } from '../../db/database';
import type { User } from '../../db/schema';
import { consumeRefreshToken, findUserByEmail, getUser, recordLogin, revokeRefreshFamily, storeRefreshToken } from '../../db/users';
import { HttpError } from '../errors';
import type { AppDeps } from '../deps';
import { route } from '../route-doc';
import { LoginBody, RefreshBody, TokenPair, userView } from './user-schemas';

async function issueTokens(db: Db, tokens: TokenSettings, user: User, family: string = randomUUID()) {
  const refresh = newRefreshToken();
  await storeRefreshToken(db, user.id, refresh.hash, family, new Date(Date.now() + tokens.refreshTtlSeconds * 1000));
  return {
    access_token: await signAccessToken(tokens, { userId: user.id, role: user.role, email: user.email }),
    token_type: 'bearer' as const,
    expires_in: tokens.accessTtlSeconds,
    refresh_token: refresh.token,
    refresh_expires_in: tokens.refreshTtlSeconds,
    user: userView(user),
  };
}

/**
 * Seed 004's login and refresh, mounted before authentication. Failed logins are limited per
 * address and email (10 per 15 minutes), so passwords cannot be guessed at API speed.
 */
export function authRouter(deps: AppDeps & { tokens: TokenSettings }): Router {
  const router = Router();
  const loginLimiter = rateLimit({
    windowMs: 15 * 60_000,
    limit: 10,
    skipSuccessfulRequests: true,
    legacyHeaders: true,
    standardHeaders: false,
    keyGenerator: (req) => `${ipKeyGenerator(req.ip ?? '')}|${String((req.body as { email?: unknown } | undefined)?.email ?? '').toLowerCase()}`,
    handler: (_req, _res, next, options) =>
      next(new HttpError('RATE_LIMIT_EXCEEDED', 'Too many failed logins; wait before trying again', { retry_after_seconds: Math.ceil(options.windowMs / 1000) })),
  });

  router.post(
    '/login',
    route({
      summary: 'Sign in with email and password',
      description: 'Returns a short-lived access token (JWT) and a refresh token. Send the access token as `Authorization: Bearer <token>`.',
      access: 'public',
      body: LoginBody,
      responses: { 200: { description: 'Signed in', schema: TokenPair } },
    }),
    loginLimiter,
    async (req, res) => {
      const { email, password } = LoginBody.parse(req.body ?? {});
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
      res.json(await issueTokens(deps.db, deps.tokens, user));
    },
  );

  router.post(
    '/refresh',
    route({
      summary: 'Trade a refresh token for a new token pair',
      description: 'Each refresh token works once. Presenting a used one again revokes every token of that login.',
      access: 'public',
      body: RefreshBody,
      responses: { 200: { description: 'A new access token and refresh token', schema: TokenPair } },
    }),
    async (req, res) => {
      const { refresh_token } = RefreshBody.parse(req.body ?? {});
      const outcome = await consumeRefreshToken(deps.db, hashRefreshToken(refresh_token));
      if (!outcome.ok) {
        const why = { unknown: 'is not valid', expired: 'has expired', revoked: 'was revoked', reused: 'was already used; every token of this login is now revoked' }[outcome.reason];
        throw new HttpError('AUTHENTICATION_ERROR', `Refresh token ${why}; sign in again`);
      }
      const user = await getUser(deps.db, outcome.userId);
      if (!user?.is_active) throw new HttpError('AUTHENTICATION_ERROR', 'This user no longer exists or is deactivated');
      res.json(await issueTokens(deps.db, deps.tokens, user, outcome.family));
    },
  );

  router.post(
    '/logout',
    route({
      summary: 'Revoke a refresh token and every token refreshed from the same login',
      access: 'public',
      body: RefreshBody,
      responses: { 200: { description: 'Revoked', schema: z.object({ status: z.literal('logged_out') }) } },
    }),
    async (req, res) => {
      const { refresh_token } = RefreshBody.parse(req.body ?? {});
      if (!(await revokeRefreshFamily(deps.db, hashRefreshToken(refresh_token)))) throw new HttpError('AUTHENTICATION_ERROR', 'Refresh token is not valid');
      res.json({ status: 'logged_out' });
    },
  );

  return router;
}
