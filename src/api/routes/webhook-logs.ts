import { Router } from 'express';
import { z } from 'zod';
import { getWebhookLog, listWebhookLogs, webhookLogStats, type WebhookLogFilter } from '../../db/webhook-logs';
import type { WebhookLog } from '../../db/schema';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { route } from '../route-doc';
import { SIGNATURE_VERDICTS, WEBHOOK_LOG_OUTCOMES, normalizeNumber } from '../webhook/webhook-log';

const ADMIN = ['admin'] as const;
const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** The filters both the list and the stats take. */
const Filters = {
  provider: z.enum(['meta', 'twilio']).optional(),
  number: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .optional()
    .describe(
      "The business number the request was for: Meta's phone_number_id or display number, Twilio's To (From for status callbacks); + and spaces are ignored",
    ),
  signature: z
    .enum(SIGNATURE_VERDICTS as [string, ...string[]])
    .optional()
    .describe('valid, missing, invalid, or not_checked (no secret configured, or the GET handshake)'),
  status: z
    .string()
    .trim()
    .regex(/^([1-5]\d\d|[1-5]xx)$/i, 'must be a status code (401) or a class (4xx)')
    .optional()
    .describe('An HTTP status answered (401) or a class of them (4xx). Alias: status_code'),
  outcome: z.enum(WEBHOOK_LOG_OUTCOMES).optional(),
  method: z
    .string()
    .trim()
    .toUpperCase()
    .pipe(z.enum(['GET', 'POST']))
    .optional(),
  has_error: flag.optional().describe('true: answered 4xx or 5xx, or not answered at all'),
  from: isoDate.optional().describe('Received at or after (ISO 8601 with offset). Alias: start_date'),
  to: isoDate.optional().describe('Received before (ISO 8601 with offset). Alias: end_date'),
  message_id: z.string().trim().min(1).max(256).optional().describe('A wamid or Twilio message SID the body named (messages and statuses)'),
  search: z.string().trim().min(1).max(200).optional().describe('Text anywhere in the stored body (case-insensitive; not in redacted text)'),
};

const ListQuery = z.object({
  ...Filters,
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0).describe('Alias: skip'),
});
const StatsQuery = z.object(Filters);
const ALIASES = { skip: 'offset', start_date: 'from', end_date: 'to', status_code: 'status' };
const STATS_ALIASES = { start_date: 'from', end_date: 'to', status_code: 'status' };

const IdParams = z.object({
  id: z
    .string()
    .regex(/^\d{1,18}$/)
    .describe('webhook log id'),
});

const Summary = z.object({
  id: z.string(),
  received_at: z.date(),
  provider: z.enum(['meta', 'twilio']),
  method: z.string(),
  path: z.string().describe('The URL called, secrets in its query masked (hub.verify_token)'),
  business_numbers: z.array(z.string()).describe('The business numbers the body names'),
  signature: z.enum(SIGNATURE_VERDICTS as [string, ...string[]]),
  status_code: z.number().int().nullable().describe('null when the caller went away before the answer'),
  outcome: z.enum(WEBHOOK_LOG_OUTCOMES),
  messages: z.number().int(),
  statuses: z.number().int(),
  skipped: z.number().int().describe('Invalid elements left out of an accepted batch'),
  error: z.string().nullable(),
  duration_ms: z.number(),
  request_id: z.string().nullable().describe('X-Request-Id of the answer, as in the API logs'),
  content_type: z.string().nullable(),
  body_bytes: z.number().int().describe('Size of the body received'),
  body_truncated: z.boolean().describe('The stored body is cut at WEBHOOK_LOG_MAX_BODY_BYTES (or not stored)'),
  body_redacted: z.boolean().describe('Message texts were replaced (WEBHOOK_LOG_REDACT_TEXT)'),
  message_ids: z.array(z.string()).describe('wamids or Twilio SIDs the body names'),
});
const Detail = Summary.extend({
  body: z.string().nullable().describe('The body as received (bounded; redacted as configured)'),
  body_json: z.unknown().nullable().describe("The body read: Meta's JSON, Twilio's form fields; null when cut or unreadable"),
});
const List = z.object({ webhook_logs: z.array(Summary), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
const Counts = z.record(z.string(), z.number().int());
const Stats = z.object({
  from: z.date(),
  to: z.date(),
  total: z.number().int(),
  by_outcome: Counts,
  by_provider: Counts,
  by_signature: Counts,
  by_status: Counts.describe('By status class (2xx, 4xx, ...; none: not answered)'),
  duration_ms: z.object({ avg: z.number().nullable(), p95: z.number().nullable(), max: z.number().nullable() }),
});

type FilterQuery = z.output<z.ZodObject<typeof Filters>>;

function filterOf(q: FilterQuery): WebhookLogFilter {
  const status = q.status?.toLowerCase();
  if (q.from && q.to && q.to <= q.from) throw new HttpError('VALIDATION_ERROR', 'to must be after from', [{ field: 'to', reason: 'must be after from' }]);
  return {
    provider: q.provider as WebhookLogFilter['provider'],
    number: q.number ? normalizeNumber(q.number) : undefined,
    signature: q.signature as WebhookLogFilter['signature'],
    statusCode: status && !status.endsWith('xx') ? Number(status) : undefined,
    statusClass: status?.endsWith('xx') ? Number(status[0]) : undefined,
    outcome: q.outcome,
    method: q.method,
    hasError: q.has_error,
    from: q.from,
    to: q.to,
    messageId: q.message_id,
    search: q.search,
  };
}

/** The body read for the detail view: JSON parsed, a form as its fields (repeated names as lists). */
function bodyJson(row: WebhookLog): unknown {
  if (row.body === null || row.body_truncated) return null;
  if (row.provider === 'twilio') {
    const fields: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(row.body)) {
      const had = fields[k];
      fields[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
    }
    return fields;
  }
  try {
    return JSON.parse(row.body);
  } catch {
    return null;
  }
}

const DAY_MS = 86_400_000;

/**
 * Seed 003's webhook logs, for admins: every request the webhooks received (README, webhook
 * logs), newest first, to answer "Meta says it delivered": was it received, for which number,
 * did its signature hold, what was answered and why.
 */
export function webhookLogsRouter(deps: AppDeps): Router {
  const router = Router();

  router.get(
    '/',
    route(
      {
        summary: 'Webhook requests received, newest first',
        description:
          'Every request the Meta and Twilio webhooks received, recorded after it was answered: provider, path, business number, signature verdict, status, outcome, counts, duration, request id. The body is in the detail.',
        access: ADMIN,
        tag: 'webhook-logs',
        query: ListQuery,
        queryAliases: ALIASES,
        responses: { 200: { description: 'A page of webhook logs', schema: List } },
      },
      async ({ query: q }) => {
        const { rows, total } = await listWebhookLogs(deps.db, filterOf(q), { limit: q.limit, offset: q.offset });
        return { webhook_logs: rows, total, limit: q.limit, offset: q.offset };
      },
    ),
  );

  router.get(
    '/stats',
    route(
      {
        summary: 'Webhook requests counted by outcome, provider, signature and status',
        description: 'For the period from..to (default: the last 24 hours), with the list filters.',
        access: ADMIN,
        tag: 'webhook-logs',
        query: StatsQuery,
        queryAliases: STATS_ALIASES,
        responses: { 200: { description: 'Counts', schema: Stats } },
      },
      async ({ query: q }) => {
        const to = q.to ?? new Date();
        const from = q.from ?? new Date(to.getTime() - DAY_MS);
        const stats = await webhookLogStats(deps.db, filterOf({ ...q, from, to }));
        return { from, to, ...stats };
      },
    ),
  );

  router.get(
    '/:id',
    route(
      {
        summary: 'One webhook request, with its body',
        access: ADMIN,
        tag: 'webhook-logs',
        params: IdParams,
        responses: { 200: { description: 'The request', schema: Detail } },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => {
        const row = await getWebhookLog(deps.db, params.id);
        if (!row) throw new HttpError('NOT_FOUND', `Webhook log ${params.id} not found`);
        return { ...row, body_json: bodyJson(row) };
      },
    ),
  );

  return router;
}
