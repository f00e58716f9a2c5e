import type { RequestHandler } from 'express';
import type { z } from 'zod';
import type { Role } from '../config';
import { HttpError, type ErrorCode } from './errors';

/**
 * Who may call a route: the roles listed (admin always may), any authenticated caller, or anyone
 * (webhooks, health, login). The same value drives the role check and the OpenAPI document.
 */
export type RouteAccess = readonly Role[] | 'authenticated' | 'public';

export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  /** Content type of the body when it is not JSON (text/csv, text/plain, text/xml, ...). */
  contentType?: string;
}

/** One route's contract. Attached to the route's first handler, so the app's route table is the index. */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** Grouping in /docs; by default the first path segment after /api/v1. */
  tag?: string;
  access: RouteAccess;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The body's content types, JSON by default; text/csv is documented as plain text (the contact import). */
  bodyContentTypes?: string[];
  responses: Record<number, RouteResponse | string>;
  /** Errors this route can answer besides those every route can (400 when it takes input, 401/403, 429, 500). */
  errors?: ErrorCode[];
}

const DOC = Symbol.for('whatsapp-temporal.route-doc');

export type DocumentedHandler = RequestHandler & { [DOC]: RouteDoc };

export function routeDocOf(handler: unknown): RouteDoc | undefined {
  return typeof handler === 'function' ? (handler as Partial<DocumentedHandler>)[DOC] : undefined;
}

/**
 * The first handler of every route: checks the caller's role against `access` and carries the
 * route's documentation. `router.get('/x', route({...}), handler)`.
 */
export function route(doc: RouteDoc): DocumentedHandler {
  const { access } = doc;
  const check: RequestHandler = (req, _res, next) => {
    if (access === 'public') return next();
    const role = req.principal?.role;
    if (!role) return next(new HttpError('AUTHENTICATION_ERROR', 'Authentication required'));
    if (access === 'authenticated' || role === 'admin' || access.includes(role)) return next();
    next(new HttpError('AUTHORIZATION_ERROR', `Role ${role} may not do this`, { required: access }));
  };
  return Object.assign(check, { [DOC]: doc });
}

/** Every role but admin may read; admin may anyway. */
export const READ: readonly Role[] = ['viewer', 'operator', 'marketer', 'sales'];
