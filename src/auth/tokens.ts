import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import type { Role } from '../config';

const ISSUER = 'whatsapp-temporal';
const AUDIENCE = 'whatsapp-temporal-api';

export interface AccessClaims {
  userId: number;
  role: Role;
  email: string;
  /** The login (refresh token family) the token was issued for; logging out revokes it. */
  session: string;
}

/** Who a valid access token speaks for: the user and the login it came from. */
export interface AccessSubject {
  userId: number;
  session: string;
}

export interface TokenSettings {
  secret: Uint8Array;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

export function tokenSettings(secret: string, accessTtlSeconds: number, refreshTtlSeconds: number): TokenSettings {
  return { secret: new TextEncoder().encode(secret), accessTtlSeconds, refreshTtlSeconds };
}

/**
 * A short-lived HS256 JWT; the user's row and the login's refresh tokens are still read on every
 * request, so it carries no authority alone. `sid` names the login, so logout can revoke it.
 */
export async function signAccessToken(settings: TokenSettings, claims: AccessClaims): Promise<string> {
  return new SignJWT({ role: claims.role, email: claims.email, sid: claims.session })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(claims.userId))
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${settings.accessTtlSeconds}s`)
    .setJti(randomUUID())
    .sign(settings.secret);
}

export class InvalidTokenError extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The user and login of a valid, unexpired access token; InvalidTokenError says why not. A token
 * without `exp` would never expire and one without `sid` could not be revoked: both are refused,
 * whoever signed them.
 */
export async function verifyAccessToken(settings: TokenSettings, token: string): Promise<AccessSubject> {
  try {
    const { payload } = await jwtVerify(token, settings.secret, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'sub', 'sid'],
    });
    const id = Number(payload.sub);
    if (!Number.isSafeInteger(id) || id <= 0) throw new InvalidTokenError('Access token has no valid subject');
    if (typeof payload.sid !== 'string' || !UUID.test(payload.sid)) throw new InvalidTokenError('Access token names no valid login');
    return { userId: id, session: payload.sid };
  } catch (err) {
    if (err instanceof InvalidTokenError) throw err;
    if (err instanceof errors.JWTExpired) throw new InvalidTokenError('Access token has expired; refresh it');
    if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'exp') throw new InvalidTokenError('Access token has no expiry');
    if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'sid')
      throw new InvalidTokenError('Access token names no login; refresh it or sign in again');
    throw new InvalidTokenError('Invalid access token');
  }
}

/** JWTs have three base64url parts; API keys never contain a dot. */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);
}

/** Refresh tokens are opaque random strings; only their hash is stored. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = `rt_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
