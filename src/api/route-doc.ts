import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
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
  /**
   * Query parameter names earlier systems used for the same thing (seed 000's `chat_id`, seed
   * 004's `skip`): accepted and read as the name they map to. Giving both is a 400.
   */
  queryAliases?: Record<string, string>;
  /** The handler reads the body itself (the contact import: CSV or JSON up to 5 MB); `body` only documents it. */
  readsOwnBody?: boolean;
  /**
   * Query parameters the doc does not name are let through (and left out of the parsed query)
   * instead of refused. Only for callers we do not control that may add their own: the webhooks
   * (Meta, Twilio). Everything else refuses unknown parameters.
   */
  anyQuery?: boolean;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What a route's handler is given: its input parsed by the schemas its doc declares. */
export interface RouteInput<D extends RouteDoc> {
  params: Out<D['params']>;
  query: Out<D['query']>;
  body: Out<D['body']>;
  req: Request;
  res: Response;
}

const DOC = Symbol.for('whatsapp-temporal.route-doc');

export type DocumentedHandler = RequestHandler & { [DOC]: RouteDoc };

export function routeDocOf(handler: unknown): RouteDoc | undefined {
  return typeof handler === 'function' ? (handler as Partial<DocumentedHandler>)[DOC] : undefined;
}

/** 401 without a caller, 403 when the caller's role is not in `access` (admin always may). */
function checkAccess(access: RouteAccess, req: Request): void {
  if (access === 'public') return;
  const role = req.principal?.role;
  if (!role) throw new HttpError('AUTHENTICATION_ERROR', 'Authentication required');
  if (access === 'authenticated' || role === 'admin' || access.includes(role)) return;
  throw new HttpError('AUTHORIZATION_ERROR', `Role ${role} may not do this`, { required: access });
}

/**
 * The query as the doc's schema reads it: aliases renamed, and any parameter the route does not
 * document refused by name (a misspelt filter must not quietly return unfiltered data).
 */
export function parseQuery(doc: RouteDoc, raw: Record<string, unknown>): unknown {
  if (!doc.query && doc.anyQuery) return undefined;
  if (!doc.query) {
    const unknown = Object.keys(raw);
    if (unknown.length > 0) throw unknownQuery(unknown, []);
    return undefined;
  }
  const query: Record<string, unknown> = { ...raw };
  for (const [alias, name] of Object.entries(doc.queryAliases ?? {})) {
    if (!(alias in query)) continue;
    if (name in query) throw new HttpError('VALIDATION_ERROR', `Give ${name} or ${alias}, not both: ${alias} is another name for ${name}`);
    query[name] = query[alias];
    delete query[alias];
  }
  const known = Object.keys(doc.query.shape);
  const unknown = Object.keys(query).filter((k) => !known.includes(k));
  // The object schema strips what it does not name, so the handler still sees only documented parameters.
  if (unknown.length > 0 && !doc.anyQuery) throw unknownQuery(unknown, [...known, ...Object.keys(doc.queryAliases ?? {})]);
  return doc.query.parse(query);
}

function unknownQuery(unknown: string[], allowed: string[]): HttpError {
  const list = unknown.map((k) => JSON.stringify(k)).join(', ');
  return new HttpError(
    'VALIDATION_ERROR',
    `Unknown query parameter${unknown.length > 1 ? 's' : ''} ${list}: ${allowed.length > 0 ? `this route takes ${allowed.join(', ')}` : 'this route takes none'}`,
    unknown.map((field) => ({ field, reason: 'unknown query parameter' })),
  );
}

/**
 * Every route is `router.get(path, route(doc, handler))`: one handler that checks the caller's
 * role against `doc.access`, parses params, query and body with exactly the schemas the doc
 * declares (and documents in /openapi.json), and hands the typed values to `handler`. A path
 * parameter that does not parse names nothing: 404. Whatever the handler returns is sent as JSON
 * unless it answered itself.
 */
export function route<const D extends RouteDoc>(doc: D, handler: (input: RouteInput<D>) => unknown): DocumentedHandler {
  const run: RequestHandler = async (req, res) => {
    checkAccess(doc.access, req);
    let params: unknown;
    if (doc.params) {
      const parsed = doc.params.safeParse(req.params);
      if (!parsed.success)
        throw new HttpError(
          'NOT_FOUND',
          `Nothing found at ${req.path}`,
          parsed.error.issues.map((i) => ({ field: i.path.join('.'), reason: i.message })),
        );
      params = parsed.data;
    }
    const query = parseQuery(doc, req.query as Record<string, unknown>);
    const body = doc.body && !doc.readsOwnBody ? doc.body.parse(req.body ?? {}) : undefined;
    const result = await handler({ params, query, body, req, res } as RouteInput<D>);
    if (result !== undefined && !res.headersSent) res.json(result);
  };
  return Object.assign(run, { [DOC]: doc });
}

/** Every role but admin may read; admin may anyway. */
export const READ: readonly Role[] = ['viewer', 'operator', 'marketer', 'sales'];
