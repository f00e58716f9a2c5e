import { sql, type ExpressionBuilder, type SelectQueryBuilder } from 'kysely';
import { likePattern } from './like';
import type { Db } from './database';
import type { Database, SignatureVerdict, WebhookLog, WebhookLogProvider } from './schema';

/** The admin list's filters (GET /api/v1/webhook-logs); every one optional, all of them ANDed. */
export interface WebhookLogFilter {
  provider?: WebhookLogProvider;
  /** A business number as stored (normalizeNumber): Meta's phone_number_id or display number, Twilio's To. */
  number?: string;
  signature?: SignatureVerdict;
  statusCode?: number;
  /** 1–5: 1xx … 5xx. */
  statusClass?: number;
  outcome?: string;
  method?: string;
  /** Answered 4xx or 5xx, or not answered at all. */
  hasError?: boolean;
  from?: Date;
  /** Exclusive. */
  to?: Date;
  /** A wamid or Twilio SID the body named. */
  messageId?: string;
  /** Text anywhere in the stored body (case-insensitive). */
  search?: string;
}

/** A row without its body: what a list shows. */
export type WebhookLogSummary = Omit<WebhookLog, 'body'>;

const SUMMARY_COLUMNS = [
  'id',
  'received_at',
  'provider',
  'method',
  'path',
  'business_numbers',
  'signature',
  'status_code',
  'outcome',
  'messages',
  'statuses',
  'skipped',
  'error',
  'duration_ms',
  'request_id',
  'content_type',
  'body_bytes',
  'body_truncated',
  'body_redacted',
  'message_ids',
] as const;

function filtered<O>(q: SelectQueryBuilder<Database, 'webhook_logs', O>, f: WebhookLogFilter): SelectQueryBuilder<Database, 'webhook_logs', O> {
  if (f.provider) q = q.where('provider', '=', f.provider);
  if (f.number) q = q.where(sql<boolean>`business_numbers @> array[${f.number}]::text[]`);
  if (f.signature) q = q.where('signature', '=', f.signature);
  if (f.statusCode !== undefined) q = q.where('status_code', '=', f.statusCode);
  if (f.statusClass !== undefined) q = q.where('status_code', '>=', f.statusClass * 100).where('status_code', '<', f.statusClass * 100 + 100);
  if (f.outcome) q = q.where('outcome', '=', f.outcome);
  if (f.method) q = q.where('method', '=', f.method);
  if (f.hasError === true)
    q = q.where((eb: ExpressionBuilder<Database, 'webhook_logs'>) => eb.or([eb('status_code', 'is', null), eb('status_code', '>=', 400)]));
  if (f.hasError === false) q = q.where('status_code', '<', 400);
  if (f.from) q = q.where('received_at', '>=', f.from);
  if (f.to) q = q.where('received_at', '<', f.to);
  if (f.messageId) q = q.where(sql<boolean>`message_ids @> array[${f.messageId}]::text[]`);
  if (f.search) q = q.where(sql<boolean>`body ilike ${likePattern(f.search)}`);
  return q;
}

export async function listWebhookLogs(
  db: Db,
  f: WebhookLogFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: WebhookLogSummary[]; total: number }> {
  const [rows, count] = await Promise.all([
    filtered(db.selectFrom('webhook_logs').select(SUMMARY_COLUMNS), f)
      .orderBy('received_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    filtered(
      db.selectFrom('webhook_logs').select((eb) => eb.fn.countAll<string>().as('n')),
      f,
    ).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

export function getWebhookLog(db: Db, id: string): Promise<WebhookLog | undefined> {
  return db.selectFrom('webhook_logs').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface WebhookLogStats {
  total: number;
  by_outcome: Record<string, number>;
  by_provider: Record<string, number>;
  by_signature: Record<string, number>;
  by_status: Record<string, number>;
  duration_ms: { avg: number | null; p95: number | null; max: number | null };
}

/** Counts of the requests received in [from, to), by outcome, provider, signature verdict and status class. */
export async function webhookLogStats(db: Db, f: WebhookLogFilter): Promise<WebhookLogStats> {
  const rows = await filtered(
    db
      .selectFrom('webhook_logs')
      .select([
        'outcome',
        'provider',
        'signature',
        sql<string>`coalesce((status_code / 100)::text || 'xx', 'none')`.as('status_class'),
        (eb) => eb.fn.countAll<string>().as('n'),
      ]),
    f,
  )
    .groupBy(['outcome', 'provider', 'signature', sql`status_code / 100`])
    .execute();
  const durations = await filtered(
    db
      .selectFrom('webhook_logs')
      .select([
        sql<number | null>`avg(duration_ms)`.as('avg'),
        sql<number | null>`percentile_cont(0.95) within group (order by duration_ms)`.as('p95'),
        sql<number | null>`max(duration_ms)`.as('max'),
      ]),
    f,
  ).executeTakeFirst();
  const stats: WebhookLogStats = {
    total: 0,
    by_outcome: {},
    by_provider: {},
    by_signature: {},
    by_status: {},
    duration_ms: { avg: null, p95: null, max: null },
  };
  const add = (to: Record<string, number>, key: string, n: number) => (to[key] = (to[key] ?? 0) + n);
  for (const r of rows) {
    const n = Number(r.n);
    stats.total += n;
    add(stats.by_outcome, r.outcome, n);
    add(stats.by_provider, r.provider, n);
    add(stats.by_signature, r.signature, n);
    add(stats.by_status, r.status_class, n);
  }
  const round = (v: number | string | null | undefined) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);
  stats.duration_ms = { avg: round(durations?.avg), p95: round(durations?.p95), max: round(durations?.max) };
  return stats;
}

/**
 * Deletes up to `limit` rows received before `before`, oldest first; how many went. Bounded so one
 * statement never holds a long lock or a huge transaction (the retention workflow calls it in a loop).
 */
export async function pruneWebhookLogs(db: Db, before: Date, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('webhook_logs')
    .where('id', 'in', (eb) => eb.selectFrom('webhook_logs').select('id').where('received_at', '<', before).orderBy('received_at').limit(limit))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
