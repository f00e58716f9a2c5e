import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { ZodError } from 'zod';
import { isDatabaseUnavailable } from './db-unavailable';

export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'AUTHENTICATION_ERROR'
  | 'AUTHORIZATION_ERROR'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMIT_EXCEEDED'
  | 'EXTERNAL_SERVICE_ERROR'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR';

export const STATUS: Record<ErrorCode, number> = {
  VALIDATION_ERROR: 400,
  AUTHENTICATION_ERROR: 401,
  AUTHORIZATION_ERROR: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  // Beyond SPEC §5's list: a file upload of a type WhatsApp does not take, or whose bytes are not what it claims.
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMIT_EXCEEDED: 429,
  EXTERNAL_SERVICE_ERROR: 502,
  // Beyond SPEC §5's list: our own database is unreachable for now (see Retry-After).
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: unknown = null,
    status?: number,
  ) {
    super(message);
    this.status = status ?? STATUS[code];
  }
}

export function errorBody(req: Request, code: ErrorCode, message: string, details: unknown) {
  return {
    error: { code, message, details: details ?? null, request_id: String(req.id ?? ''), timestamp: new Date().toISOString() },
  };
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ZodError) {
    const first = err.issues[0];
    const field = first?.path.join('.');
    return new HttpError(
      'VALIDATION_ERROR',
      first ? `${field ? `${field}: ` : ''}${first.message}` : 'Invalid request',
      err.issues.map((i) => ({ field: i.path.join('.'), reason: i.message })),
    );
  }
  if (err instanceof WorkflowNotFoundError) return new HttpError('NOT_FOUND', 'Not found');
  if (err instanceof WorkflowExecutionAlreadyStartedError) return new HttpError('CONFLICT', 'Already started');
  // Temporal unreachable or too slow: the request may be retried later, it is not our bug.
  if (isTemporalUnavailable(err)) return new HttpError('EXTERNAL_SERVICE_ERROR', 'Temporal did not answer; retry later');
  if (isDatabaseUnavailable(err)) return new HttpError('SERVICE_UNAVAILABLE', 'The database is unreachable; retry later');
  const e = err as { type?: string; status?: number; message?: string };
  // body-parser errors carry a status and a type.
  if (e.type === 'entity.too.large') return new HttpError('PAYLOAD_TOO_LARGE', 'Request body is too large');
  if (e.type === 'entity.parse.failed') return new HttpError('VALIDATION_ERROR', 'Request body is not valid JSON');
  return new HttpError('INTERNAL_ERROR', 'Internal server error');
}

const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;
function isTemporalUnavailable(err: unknown): boolean {
  if (!(err instanceof ServiceError)) return false;
  const code = (err.cause as { code?: number } | undefined)?.code;
  return code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED || /deadline exceeded|unavailable|connect/i.test(err.message);
}

/** A hint, not a promise: a longer outage answers 503 again with the same hint. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

export const errorMiddleware: ErrorRequestHandler = (err, req, res, _next) => {
  const httpError = toHttpError(err);
  // pino-http logs the response once, with this error attached, at a level set by the status.
  if (httpError.status >= 500) res.err = err instanceof Error ? err : new Error(String(err));
  if (httpError.code === 'SERVICE_UNAVAILABLE') res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
  res.status(httpError.status).json(errorBody(req, httpError.code, httpError.message, httpError.details));
};

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError('NOT_FOUND', `No route for ${req.method} ${req.path}`));
};
