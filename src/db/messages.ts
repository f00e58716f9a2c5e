import { sql, type Transaction } from 'kysely';
import type { Db } from './database';
import { mediaKind, type TemplateContent } from '../channels/types';
import type { MediaInfo } from '../workflows/definitions';
import type { Database, DeliveryStatus, NewMessage } from './schema';

/** Statuses only move forward: sent → delivered → read, or failed; a late "sent" never undoes "read". */
export const STATUS_RANK: Record<DeliveryStatus, number> = {
  received: 0,
  pending: 0,
  sent: 1,
  delivered: 2,
  read: 3,
  failed: 3,
};

/** STATUS_RANK as SQL, so a status column can be compared in the database. */
const rankOf = (column: string) =>
  sql<number>`case ${sql.ref(column)} ${sql.join(
    Object.entries(STATUS_RANK).map(([status, rank]) => sql`when ${sql.lit(status)} then ${sql.lit(rank)}`),
    sql` `,
  )} else 0 end`;

/** Inserts inbound messages once each (wamid is unique); returns how many were new. */
export async function insertInbound(db: Db | Transaction<Database>, rows: NewMessage[]): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await db
    .insertInto('messages')
    .values(rows)
    .onConflict((oc) => oc.column('wamid').doNothing())
    .returning(['id', 'conversation_id'])
    .execute();
  // The inbox's unread count: messages stored now, never again for a redelivery (conflicts return nothing).
  const perConversation = new Map<string, number>();
  for (const r of inserted) perConversation.set(r.conversation_id, (perConversation.get(r.conversation_id) ?? 0) + 1);
  for (const [id, n] of perConversation) {
    await db
      .updateTable('conversations')
      .set({ unread_count: sql`unread_count + ${n}` })
      .where('id', '=', id)
      .execute();
  }
  return inserted.length;
}

/** Moves a message's delivery status forward only. */
export async function advanceMessageStatus(db: Db | Transaction<Database>, wamid: string, status: DeliveryStatus, at: Date, error: unknown): Promise<void> {
  await db
    .updateTable('messages')
    .set({
      delivery_status: status,
      status_updated_at: at,
      ...(error ? { error: JSON.stringify(error) } : {}),
    })
    .where('wamid', '=', wamid)
    .where(rankOf('delivery_status'), '<', STATUS_RANK[status])
    .execute();
}

export interface Receipt {
  wamid: string;
  status: DeliveryStatus;
  recipientId?: string;
  occurredAt: Date;
  errors?: unknown;
  /** biz_opaque_callback_data: our client key, echoed by Meta for messages we sent with one. */
  callbackData?: string;
}

/** Records status receipts forward-only, both as receipts and on the messages they describe. */
export async function recordReceipts(db: Db, receipts: Receipt[]): Promise<void> {
  if (receipts.length === 0) return;
  await db.transaction().execute(async (trx) => {
    for (const r of receipts) {
      await trx
        .insertInto('delivery_receipts')
        .values({
          wamid: r.wamid,
          status: r.status,
          recipient_id: r.recipientId ?? null,
          occurred_at: r.occurredAt,
          errors: r.errors ? JSON.stringify(r.errors) : null,
        })
        .onConflict((oc) =>
          oc
            .column('wamid')
            .doUpdateSet({
              status: sql`excluded.status`,
              occurred_at: sql`excluded.occurred_at`,
              errors: sql`coalesce(excluded.errors, delivery_receipts.errors)`,
              updated_at: sql`now()`,
            })
            .where(rankOf('delivery_receipts.status'), '<', STATUS_RANK[r.status]),
        )
        .execute();
      if (r.callbackData) await confirmBySendKey(trx, r.callbackData, r.wamid, r.occurredAt, r.status === 'failed' ? r.errors : undefined);
      await advanceMessageStatus(trx, r.wamid, r.status, r.occurredAt, r.errors);
    }
  });
}

/**
 * A campaign send whose worker died before it stored WhatsApp's answer is "unconfirmed"; Meta's
 * receipt, carrying our client key, proves it went out and supplies the wamid.
 */
async function confirmBySendKey(trx: Transaction<Database>, clientKey: string, wamid: string, at: Date, failure?: unknown): Promise<void> {
  // Recipient row first, then the message: the sender's own bookkeeping locks in this order too.
  // A failed receipt settles it as failed (WhatsApp took it and could not deliver it): never resent.
  await trx
    .updateTable('campaign_recipients')
    .set(failure === undefined ? { wamid, state: 'sent', sent_at: at, error: null } : { wamid, state: 'failed', error: JSON.stringify(failure) })
    .where('client_key', '=', clientKey)
    .where('state', 'in', ['sending', 'unconfirmed'])
    .execute();
  await trx.updateTable('messages').set({ wamid }).where('client_key', '=', clientKey).where('wamid', 'is', null).execute();
}

/** A receipt that beat the send's own bookkeeping is applied once the wamid is known. */
export async function applyEarlyReceipt(db: Db, wamid: string): Promise<void> {
  const receipt = await db.selectFrom('delivery_receipts').selectAll().where('wamid', '=', wamid).executeTakeFirst();
  if (receipt) await advanceMessageStatus(db, wamid, receipt.status, receipt.occurred_at, receipt.errors);
}

export interface ReservedOutbound {
  conversation_id: string;
  wamid: string | null;
  send_started_at: Date | null;
  /** Reserved just now: no earlier attempt exists. */
  fresh: boolean;
}

export interface OutboundIntent {
  waId: string;
  /** The business number (whatsapp_numbers.id); absent: the default number. */
  numberId?: number;
  clientKey: string;
  senderType: 'bot' | 'operator';
  operator?: string;
  text?: string;
  media?: MediaInfo;
  template?: TemplateContent;
}

/**
 * One round trip before a send (it is on the reply's critical path): makes sure the conversation
 * exists, stores the outbound row under its client key as pending with send_started_at = now (the
 * caller sends right away), and otherwise returns the row an earlier attempt left: its wamid, if
 * that attempt (or Meta's receipt) stored one, and its send_started_at, if it may have sent. A row
 * nobody has started to send (a pinned reply part, or one whose send failed for certain) is
 * claimed in the same statement and counts as fresh: nothing of it can have reached WhatsApp.
 */
export async function reserveOutbound(
  db: Db,
  intent: OutboundIntent,
  content: { kind: 'text' | 'media' | 'template' },
  provider: string,
  /** Extra metadata, e.g. {llm: 'offline'} on a bot message sent without a model. */
  labels?: Record<string, string>,
): Promise<ReservedOutbound> {
  const metadata = JSON.stringify({ provider, ...(intent.operator ? { operator: intent.operator } : {}), ...labels });
  // Media as WhatsApp names it (image, document, ...), like inbound rows; the MIME type is in `media`.
  const messageType = content.kind === 'media' ? mediaKind(intent.media?.mimeType) : content.kind;
  const body = intent.text ?? intent.template?.text ?? intent.media?.caption ?? '';
  const media = intent.media ? JSON.stringify(intent.media) : null;
  const { rows } = await sql<ReservedOutbound>`
    with ${conversationOf(intent.waId, intent.numberId)}, reserved as (
      insert into messages (conversation_id, direction, sender_type, client_key, message_type, content, media, metadata, delivery_status, created_at, send_started_at)
      select id, 'outbound', ${intent.senderType}, ${intent.clientKey}, ${messageType}, ${body}, ${media}::jsonb, ${metadata}::jsonb, 'pending', now(), now()
      from conversation
      on conflict (client_key) do update set send_started_at = now()
        where messages.wamid is null and messages.send_started_at is null
      returning conversation_id, wamid, send_started_at
    )
    select conversation_id, wamid, send_started_at, true as fresh from reserved
    union all select conversation_id, wamid, send_started_at, false from messages
      where client_key = ${intent.clientKey} and not exists (select 1 from reserved)
  `.execute(db);
  const row = rows[0];
  if (!row) throw new Error(`could not reserve outbound message ${intent.clientKey}`);
  return row;
}

export interface PinnedPart {
  client_key: string;
  content: string;
  /** How many messages of the burst the reply answers (its draft's burst). */
  burst_size: number | null;
}

/**
 * Pins a bot reply before any of it is sent: one pending row per part, keys `clientKey`,
 * `clientKey/2`, ..., all in one statement and only while the conversation's mode is 'bot'. If a
 * reply is pinned under this key already (an earlier activity for the same burst, cancelled after
 * it pinned), that one is returned instead and nothing new is written: a draft, once pinned, is
 * the reply, so whatever of it may have gone out is never followed by a different text under the
 * same key. Empty when an operator holds the chat and nothing was pinned before.
 */
export async function pinReply(
  db: Db,
  reply: { waId: string; numberId?: number; clientKey: string; parts: string[]; burstSize: number; metadata: Record<string, unknown> },
): Promise<PinnedPart[]> {
  const keys = reply.parts.map((_, i) => (i === 0 ? reply.clientKey : `${reply.clientKey}/${i + 1}`));
  const metadata = JSON.stringify({ ...reply.metadata, burst_size: reply.burstSize });
  const { rows } = await sql<PinnedPart & { id: string }>`
    with ${conversationOf(reply.waId, reply.numberId)}, earlier as (
      select id, client_key, content, (metadata->>'burst_size')::int as burst_size from messages
      where client_key = ${reply.clientKey} or client_key like ${`${reply.clientKey}/%`}
    ), pinned as (
      insert into messages (conversation_id, direction, sender_type, client_key, message_type, content, metadata, delivery_status, created_at)
      select conversation.id, 'outbound', 'bot', part.key, 'text', part.content, ${metadata}::jsonb, 'pending', now()
      from conversation, unnest(${keys}::text[], ${reply.parts}::text[]) with ordinality as part(key, content, n)
      where conversation.mode = 'bot' and not exists (select 1 from earlier)
      order by part.n
      on conflict (client_key) do nothing
      returning id, client_key, content, ${reply.burstSize}::int as burst_size
    )
    select id, client_key, content, burst_size from pinned
    union all select id, client_key, content, burst_size from earlier
    order by id
  `.execute(db);
  return rows.map(({ client_key, content, burst_size }) => ({ client_key, content, burst_size }));
}

/**
 * The CTEs `new_conversation` and `conversation (id, mode)`: the chat's conversation, created in
 * the same statement when it does not exist yet (a new one is in bot mode).
 */
function conversationOf(waId: string, numberId = 1) {
  return sql`new_conversation as (
      insert into conversations (number_id, wa_id, mode, needs_human, updated_at)
      values (${numberId}, ${waId}, 'bot', false, now())
      on conflict (number_id, wa_id) do nothing
      returning id
    ), conversation as (
      select id, 'bot' as mode from new_conversation
      union all select id, mode from conversations where number_id = ${numberId} and wa_id = ${waId}
      limit 1
    )`;
}
