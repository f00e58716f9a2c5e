import { createHash, randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Role } from '../config';
import { HttpError } from './errors';

export interface ApiKey {
  secret: string;
  role: Role;
}

export interface Principal {
  kind: 'api_key';
  role: Role;
  /** A short, non-secret label for logs and audit (operator name on takeovers). */
  label: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest('hex');

export function generateDevApiKey(): string {
  return `dev_${randomBytes(24).toString('base64url')}`;
}

/** Bearer API keys (SPEC API_KEYS). Keys are compared by hash, so lookups leak no timing. */
export function apiKeyAuth(keys: ApiKey[]): RequestHandler {
  const byDigest = new Map(keys.map((k) => [digest(k.secret), k]));
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return next(new HttpError('AUTHENTICATION_ERROR', 'Missing bearer token: send Authorization: Bearer <api key>'));
    const hash = digest(match[1]!);
    const key = byDigest.get(hash);
    if (!key) return next(new HttpError('AUTHENTICATION_ERROR', 'Invalid API key'));
    req.principal = { kind: 'api_key', role: key.role, label: `key:${hash.slice(0, 8)}` };
    next();
  };
}

/** Admin may do everything; otherwise the principal's role must be one of those listed. */
export function requireRole(...allowed: Role[]): RequestHandler {
  return (req, _res, next) => {
    const role = req.principal?.role;
    if (!role) return next(new HttpError('AUTHENTICATION_ERROR', 'Authentication required'));
    if (role === 'admin' || allowed.includes(role)) return next();
    next(new HttpError('AUTHORIZATION_ERROR', `Role ${role} may not do this`, { required: allowed }));
  };
}

export const READ_ROLES: Role[] = ['viewer', 'operator', 'marketer', 'sales'];
