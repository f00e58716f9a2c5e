import { createHash, randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Role } from '../config';
import { InvalidTokenError, looksLikeJwt, verifyAccessToken, type TokenSettings } from '../auth/tokens';
import type { Db } from '../db/database';
import { getSessionUser } from '../db/users';
import { HttpError } from './errors';

export interface ApiKey {
  secret: string;
  role: Role;
  /** API_KEYS' optional third part (`secret:role:name`): who the key's caller is, in audit records. */
  name?: string;
}

/** Who is calling: a machine client with an API key, or a signed-in user. */
export interface Principal {
  kind: 'api_key' | 'user';
  role: Role;
  /** A short, non-secret label for logs and audit: the user's email, or `key:` and the key's name (or hash prefix). */
  label: string;
  /** The user's id (kind 'user'). */
  userId?: number;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Who an operator action is recorded as: the signed-in user's id (`user:42`, stable when an email
 * changes) or the API key's name. Never anything the request body says.
 */
export function operatorOf(principal: Principal | undefined): string {
  if (!principal) throw new HttpError('AUTHENTICATION_ERROR', 'Not signed in');
  return principal.kind === 'user' ? `user:${principal.userId}` : principal.label;
}

export function generateDevApiKey(): string {
  return `dev_${randomBytes(24).toString('base64url')}`;
}

/**
 * `Authorization: Bearer <token>` where the token is an API key (SPEC API_KEYS) or an access
 * token from /auth/login. Keys are compared by hash, so lookups leak no timing. A user's row and
 * their login's state are read on every request (one query): deactivating a user, changing their
 * role or logging out takes effect at once, not when the token expires.
 */
export function authenticate(opts: { apiKeys: ApiKey[]; tokens: TokenSettings; db: Db }): RequestHandler {
  const byDigest = new Map(opts.apiKeys.map((k) => [digest(k.secret), k]));
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      return next(new HttpError('AUTHENTICATION_ERROR', 'Missing bearer token: send Authorization: Bearer <api key or access token>'));
    }
    const token = match[1]!;
    if (!looksLikeJwt(token)) {
      const hash = digest(token);
      const key = byDigest.get(hash);
      if (!key) return next(new HttpError('AUTHENTICATION_ERROR', 'Invalid API key'));
      req.principal = { kind: 'api_key', role: key.role, label: `key:${key.name ?? hash.slice(0, 8)}` };
      return next();
    }
    verifyAccessToken(opts.tokens, token)
      .then(async ({ userId, session }) => {
        const user = await getSessionUser(opts.db, userId, session);
        if (!user || !user.is_active) throw new HttpError('AUTHENTICATION_ERROR', 'This user no longer exists or is deactivated');
        if (!user.session_live)
          throw new HttpError('AUTHENTICATION_ERROR', 'This login was ended (logout, password change or a reused refresh token); sign in again');
        req.principal = { kind: 'user', role: user.role, label: user.email, userId: user.id };
        next();
      })
      .catch((err: unknown) => next(err instanceof InvalidTokenError ? new HttpError('AUTHENTICATION_ERROR', err.message) : err));
  };
}
