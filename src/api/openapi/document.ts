import type { Express } from 'express';
import { z } from 'zod';
import { STATUS, type ErrorCode } from '../errors';
import type { RouteDoc, RouteResponse } from '../route-doc';
import { routeTable, type RouteEntry } from './route-table';

type JsonSchema = Record<string, unknown>;

/**
 * zod → JSON Schema 2020-12, which OpenAPI 3.1 uses as is. Dates travel as ISO strings. Responses
 * stay open to new fields (zod would close them), so adding a field never breaks a client's validator.
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      const type = (ctx.zodSchema as { _zod?: { def?: { type?: string } } })._zod?.def?.type;
      if (type === 'date') Object.assign(ctx.jsonSchema, { type: 'string', format: 'date-time' });
      if (io === 'output' && ctx.jsonSchema.additionalProperties === false) delete ctx.jsonSchema.additionalProperties;
    },
  }) as JsonSchema;
  delete out.$schema;
  return out;
}

const ErrorSchema: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details', 'request_id', 'timestamp'],
      properties: {
        code: { type: 'string', enum: Object.keys(STATUS) },
        message: { type: 'string' },
        details: { description: 'What exactly was wrong: invalid fields, limits, conflicting ids' },
        request_id: { type: 'string', description: 'Also in the X-Request-Id header; quote it when reporting a problem' },
        timestamp: { type: 'string', format: 'date-time' },
      },
    },
  },
};

const ERROR_TEXT: Record<ErrorCode, string> = {
  VALIDATION_ERROR: 'Invalid input: details lists each field and reason',
  AUTHENTICATION_ERROR: 'Missing, invalid or expired credential',
  AUTHORIZATION_ERROR: "The caller's role may not do this",
  NOT_FOUND: 'Not found',
  CONFLICT: 'Conflicts with the current state',
  PAYLOAD_TOO_LARGE: 'Request body too large',
  UNSUPPORTED_MEDIA_TYPE: 'A file type WhatsApp does not take, or bytes that are not the type given',
  RATE_LIMIT_EXCEEDED: 'Too many requests: see Retry-After and the X-RateLimit headers',
  EXTERNAL_SERVICE_ERROR: 'Temporal, WhatsApp or another service did not answer; retry later',
  SERVICE_UNAVAILABLE: 'The database is unreachable for now: retry after Retry-After seconds',
  INTERNAL_ERROR: 'Unexpected server error',
};

function errorsOf(entry: RouteEntry, doc: RouteDoc): ErrorCode[] {
  const codes = new Set<ErrorCode>(doc.errors ?? []);
  // Path ids that cannot exist are 404s (see ids.ts), so only a query or a body can be invalid.
  if (doc.query || doc.body) codes.add('VALIDATION_ERROR');
  if (doc.access !== 'public') codes.add('AUTHENTICATION_ERROR');
  if (Array.isArray(doc.access)) codes.add('AUTHORIZATION_ERROR');
  if (doc.body) codes.add('PAYLOAD_TOO_LARGE');
  if (entry.path.startsWith('/api/v1/') && doc.access !== 'public') codes.add('RATE_LIMIT_EXCEEDED');
  // Every /api/v1 route reads Postgres (a user's row, at least, for a signed-in caller).
  if (entry.path.startsWith('/api/v1/')) codes.add('SERVICE_UNAVAILABLE');
  codes.add('INTERNAL_ERROR');
  return [...codes];
}

function parameters(entry: RouteEntry, doc: RouteDoc): JsonSchema[] {
  const out: JsonSchema[] = [];
  const params = doc.params ? jsonSchema(doc.params, 'input') : undefined;
  for (const name of entry.path.match(/:(\w+)/g)?.map((p) => p.slice(1)) ?? []) {
    const schema = (params?.properties as Record<string, JsonSchema> | undefined)?.[name] ?? { type: 'string' };
    out.push({ name, in: 'path', required: true, schema });
  }
  if (doc.query) {
    const q = jsonSchema(doc.query, 'input');
    const required = new Set((q.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((q.properties as Record<string, JsonSchema>) ?? {})) {
      const { description, ...rest } = schema;
      out.push({ name, in: 'query', required: required.has(name), ...(description ? { description } : {}), schema: rest });
    }
  }
  return out;
}

function response(r: RouteResponse | string): JsonSchema {
  const res = typeof r === 'string' ? { description: r } : r;
  if (!res.schema && !res.contentType) return { description: res.description };
  const schema = res.schema ? jsonSchema(res.schema, 'output') : { type: 'string' };
  return { description: res.description, content: { [res.contentType ?? 'application/json']: { schema } } };
}

const tagOf = (path: string) => /^\/api\/v1\/([^/]+)/.exec(path)?.[1] ?? (path.startsWith('/webhook') ? 'webhooks' : 'system');

function operation(entry: RouteEntry, doc: RouteDoc): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, r] of Object.entries(doc.responses)) responses[status] = response(r);
  for (const code of errorsOf(entry, doc)) {
    const status = String(STATUS[code]);
    const existing = responses[status];
    responses[status] = existing ?? { description: ERROR_TEXT[code], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  const op: JsonSchema = {
    operationId: `${entry.method}${entry.path.replace(/:(\w+)/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: doc.summary,
    tags: [doc.tag ?? tagOf(entry.path)],
    parameters: parameters(entry, doc),
    responses,
    security: doc.access === 'public' ? [] : [{ bearerAuth: [] }],
  };
  const roles = doc.access === 'public' ? 'no credential' : doc.access === 'authenticated' ? 'any role' : `roles: ${['admin', ...doc.access].join(', ')}`;
  op.description = [doc.description, `Access: ${roles}.`].filter(Boolean).join('\n\n');
  op['x-access'] = doc.access === 'public' || doc.access === 'authenticated' ? doc.access : ['admin', ...doc.access];
  if (doc.body) {
    const content: Record<string, JsonSchema> = {};
    for (const type of doc.bodyContentTypes ?? ['application/json']) {
      content[type] = { schema: type.startsWith('text/') ? { type: 'string' } : jsonSchema(doc.body, 'input') };
    }
    op.requestBody = { required: true, content };
  }
  return op;
}

/** The OpenAPI 3.1 document of everything the app answers, built from the route table. */
export function openApiDocument(app: Express, info: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const entry of routeTable(app)) {
    const doc = entry.doc ?? { summary: 'Undocumented route', access: 'authenticated' as const, responses: { 200: 'OK' } };
    const path = entry.path.replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[entry.method] = operation(entry, doc);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'WhatsApp assistant on Temporal',
      version: info.version,
      description:
        'Every /api/v1 route except login and refresh needs `Authorization: Bearer <token>`: an API key (API_KEYS) or an access token from POST /api/v1/auth/login. Errors share one format (components.schemas.Error).',
    },
    paths,
    components: {
      schemas: { Error: ErrorSchema },
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key, or an access token (JWT) from /api/v1/auth/login' } },
    },
  };
}
