import { sql } from 'kysely';
import type { Db } from './database';
import type { Campaign, CampaignStatus } from './schema';

export interface CampaignFilters {
  status?: CampaignStatus;
  search?: string;
  templateId?: number;
  skip: number;
  limit: number;
}

export async function getCampaign(db: Db, id: number): Promise<Campaign | undefined> {
  return db.selectFrom('campaigns').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listCampaigns(db: Db, f: CampaignFilters): Promise<{ rows: Campaign[]; total: number }> {
  let q = db.selectFrom('campaigns');
  if (f.status) q = q.where('status', '=', f.status);
  if (f.templateId) q = q.where('template_id', '=', f.templateId);
  if (f.search) q = q.where((eb) => eb.or([eb('name', 'ilike', `%${escapeLike(f.search!)}%`), eb('description', 'ilike', `%${escapeLike(f.search!)}%`)]));
  const [rows, count] = await Promise.all([
    q.selectAll().orderBy('id', 'desc').limit(f.limit).offset(f.skip).execute(),
    q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export interface CampaignStats {
  recipients: number;
  sent: number;
  delivered: number;
  read: number;
  failed: number;
  unconfirmed: number;
  replies: number;
  failures_by_code: Record<string, number>;
}

/**
 * Derived, never stored: recipients' states plus the delivery status WhatsApp reported for each
 * message (receipts land on the messages row), plus the replies the inbound side counted.
 */
export async function campaignStats(db: Db, campaignIds: number[] | 'all'): Promise<CampaignStats> {
  const scope = campaignIds === 'all' ? sql`true` : sql`r.campaign_id = any(${campaignIds}::int[])`;
  const { rows } = await sql<Record<string, string>>`
    select count(*) as recipients,
      count(*) filter (where r.state = 'sent' and m.delivery_status is distinct from 'failed') as sent,
      count(*) filter (where m.delivery_status in ('delivered', 'read')) as delivered,
      count(*) filter (where m.delivery_status = 'read') as read,
      count(*) filter (where r.state = 'failed' or m.delivery_status = 'failed') as failed,
      count(*) filter (where r.state = 'unconfirmed') as unconfirmed,
      count(*) filter (where r.replied_at is not null) as replies
    from campaign_recipients r left join messages m on m.client_key = r.client_key
    where ${scope}`.execute(db);
  const codes = await sql<{ code: string; n: string }>`
    select coalesce(r.error->>'code', m.error->0->>'code', r.error->>'reason', 'unknown') as code, count(*) as n
    from campaign_recipients r left join messages m on m.client_key = r.client_key
    where ${scope} and (r.state = 'failed' or m.delivery_status = 'failed')
    group by 1`.execute(db);
  const row = rows[0] ?? {};
  const n = (k: string) => Number(row[k] ?? 0);
  return {
    recipients: n('recipients'),
    sent: n('sent'),
    delivered: n('delivered'),
    read: n('read'),
    failed: n('failed'),
    unconfirmed: n('unconfirmed'),
    replies: n('replies'),
    failures_by_code: Object.fromEntries(codes.rows.map((c) => [c.code, Number(c.n)])),
  };
}

export async function campaignCountsByStatus(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('campaigns')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export async function listRecipients(db: Db, campaignId: number, state: string | undefined, skip: number, limit: number) {
  let q = db.selectFrom('campaign_recipients as r').leftJoin('messages as m', 'm.client_key', 'r.client_key').where('r.campaign_id', '=', campaignId);
  if (state) q = q.where('r.state', '=', state as never);
  const [rows, count] = await Promise.all([
    q
      .select(['r.contact_id', 'r.wa_id', 'r.state', 'r.kind', 'r.wamid', 'r.error', 'r.created_at', 'r.sent_at', 'r.replied_at', 'm.delivery_status'])
      .orderBy('r.contact_id')
      .limit(limit)
      .offset(skip)
      .execute(),
    q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}
