import { sql } from 'kysely';
import type { Db } from './database';

export interface ChatRecordStats {
  conversations: {
    total: number;
    bot: number;
    operator: number;
    needs_human: number;
    /** The user wrote within the last 24 h: free-form replies are allowed. */
    active_24h: number;
    /** The user wrote last: a reply (bot or operator) is due or on its way. */
    awaiting_reply: number;
  };
  messages: {
    total: number;
    inbound: number;
    outbound: number;
    by_sender: { user: number; bot: number; operator: number; campaign: number };
    /** Since 00:00 UTC today. */
    today: { inbound: number; outbound: number };
    /** Outbound, not yet accepted by WhatsApp. */
    pending: number;
    failed: number;
  };
}

/** Counts over the durable record, two scans: conversations and messages. */
export async function chatRecordStats(db: Db, now = new Date()): Promise<ChatRecordStats> {
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const dayAgo = new Date(now.getTime() - 86_400_000);
  const count = (where: ReturnType<typeof sql>) => sql<string>`count(*) filter (where ${where})`;
  const [c, m] = await Promise.all([
    db
      .selectFrom('conversations')
      .select([
        sql<string>`count(*)`.as('total'),
        count(sql`mode = 'bot'`).as('bot'),
        count(sql`mode = 'operator'`).as('operator'),
        count(sql`needs_human`).as('needs_human'),
        count(sql`last_inbound_at >= ${dayAgo}`).as('active_24h'),
        count(sql`last_inbound_at is not null and last_inbound_at >= last_message_at`).as('awaiting_reply'),
      ])
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('messages')
      .select([
        sql<string>`count(*)`.as('total'),
        count(sql`direction = 'inbound'`).as('inbound'),
        count(sql`direction = 'outbound'`).as('outbound'),
        count(sql`sender_type = 'user'`).as('user'),
        count(sql`sender_type = 'bot'`).as('bot'),
        count(sql`sender_type = 'operator'`).as('operator'),
        count(sql`sender_type = 'campaign'`).as('campaign'),
        count(sql`direction = 'inbound' and created_at >= ${today}`).as('today_inbound'),
        count(sql`direction = 'outbound' and created_at >= ${today}`).as('today_outbound'),
        count(sql`direction = 'outbound' and delivery_status = 'pending'`).as('pending'),
        count(sql`delivery_status = 'failed'`).as('failed'),
      ])
      .executeTakeFirstOrThrow(),
  ]);
  const n = Number;
  return {
    conversations: {
      total: n(c.total),
      bot: n(c.bot),
      operator: n(c.operator),
      needs_human: n(c.needs_human),
      active_24h: n(c.active_24h),
      awaiting_reply: n(c.awaiting_reply),
    },
    messages: {
      total: n(m.total),
      inbound: n(m.inbound),
      outbound: n(m.outbound),
      by_sender: { user: n(m.user), bot: n(m.bot), operator: n(m.operator), campaign: n(m.campaign) },
      today: { inbound: n(m.today_inbound), outbound: n(m.today_outbound) },
      pending: n(m.pending),
      failed: n(m.failed),
    },
  };
}
