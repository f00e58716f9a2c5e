import { sql, type Transaction } from 'kysely';
import type { CampaignCounts } from '../workflows/campaign-definitions';
import type { Db } from './database';
import { applyEarlyReceipt } from './messages';
import type { Database } from './schema';

export interface RecipientIntent {
  campaignId: number;
  contactId: number;
  waId: string;
  clientKey: string;
  kind: 'template' | 'text';
  /** The rendered text, recorded as the message content. */
  text: string;
  templateName: string;
  provider: string;
  /** The number the campaign sends from: its conversation is with that number. */
  numberId: number;
}

/**
 * What the sender must do for one recipient. `send`: the row was just reserved. `notify`: sent
 * earlier but its chat never heard of it. `done`: handled before (or a send died mid-flight, now
 * marked unconfirmed). `ineligible`: the contact opted out since the page was read.
 */
export type Reservation = { action: 'send' } | { action: 'notify'; wamid: string; sentAt: Date } | { action: 'done'; state: string } | { action: 'ineligible' };

export const campaignClientKey = (campaignId: number, contactId: number) => `campaign:${campaignId}:${contactId}`;

/**
 * Reserves the recipient under the (campaign, contact) primary key before anything is sent. The
 * insert re-checks the opt-in, so a STOP that arrives mid-campaign is honoured from then on.
 */
export async function reserveRecipient(db: Db, r: RecipientIntent, reclaimUnconfirmed = false): Promise<Reservation> {
  return db.transaction().execute(async (trx) => {
    const inserted = await sql<{ state: string }>`
      insert into campaign_recipients (campaign_id, contact_id, wa_id, client_key, state, kind)
      select ${r.campaignId}, ${r.contactId}, ${r.waId}, ${r.clientKey}, 'sending', ${r.kind}
      where exists (select 1 from contacts where id = ${r.contactId} and opt_in_status)
      on conflict do nothing
      returning state`.execute(trx);
    if (inserted.rows.length > 0) {
      const metadata = JSON.stringify({ provider: r.provider, campaign_id: r.campaignId, template: r.templateName, kind: r.kind });
      await sql`
        with conversation as (
          insert into conversations (number_id, wa_id, mode, needs_human, updated_at) values (${r.numberId}, ${r.waId}, 'bot', false, now())
          on conflict (number_id, wa_id) do update set updated_at = conversations.updated_at
          returning id
        )
        insert into messages (conversation_id, direction, sender_type, client_key, message_type, content, metadata, delivery_status, created_at)
        select id, 'outbound', 'campaign', ${r.clientKey}, ${r.kind}, ${r.text}, ${metadata}::jsonb, 'pending', now() from conversation
        on conflict (client_key) do nothing`.execute(trx);
      return { action: 'send' };
    }
    const existing = await trx
      .selectFrom('campaign_recipients')
      .select(['state', 'wamid', 'chat_notified', 'sent_at'])
      .where('campaign_id', '=', r.campaignId)
      .where('contact_id', '=', r.contactId)
      .executeTakeFirst();
    if (!existing) return { action: 'ineligible' };
    if (existing.state === 'sending') {
      // An earlier attempt died between handing the message to WhatsApp and storing the answer:
      // it may have gone out. Never send twice; a status webhook can still confirm it later.
      await markOutcome(trx, r.campaignId, r.contactId, 'unconfirmed', { message: 'the sender stopped mid-send; outcome unknown' });
      return { action: 'done', state: 'unconfirmed' };
    }
    if (existing.state === 'unconfirmed' && reclaimUnconfirmed) {
      // No receipt came within the grace period: it never reached WhatsApp, so it is sent now.
      // ...provided receipts are flowing: WhatsApp's receipts for messages sent after this one
      // have arrived. Without that evidence (our webhook down, Meta holding receipts back) the
      // missing receipt proves nothing, and the recipient stays unconfirmed rather than risk two.
      const reclaimed = await sql`
        update campaign_recipients me set state = 'sending', attempts = attempts + 1, error = null
        where me.campaign_id = ${r.campaignId} and me.contact_id = ${r.contactId} and me.state = 'unconfirmed'
          and exists (select 1 from contacts where id = ${r.contactId} and opt_in_status)
          and exists (
            select 1 from campaign_recipients later join delivery_receipts d on d.wamid = later.wamid
            where later.campaign_id = me.campaign_id and later.sent_at > me.created_at)`.execute(trx);
      if (Number(reclaimed.numAffectedRows ?? 0) > 0) return { action: 'send' };
    }
    if (existing.state === 'sent' && !existing.chat_notified && existing.wamid) {
      return { action: 'notify', wamid: existing.wamid, sentAt: existing.sent_at ?? new Date() };
    }
    return { action: 'done', state: existing.state };
  });
}

type Executor = Db | Transaction<Database>;

async function markOutcome(db: Executor, campaignId: number, contactId: number, state: 'failed' | 'unconfirmed', error: unknown) {
  const now = new Date();
  const row = await db
    .updateTable('campaign_recipients')
    .set({ state, error: JSON.stringify(error) })
    .where('campaign_id', '=', campaignId)
    .where('contact_id', '=', contactId)
    .returning('client_key')
    .executeTakeFirst();
  if (row && state === 'failed') {
    await db
      .updateTable('messages')
      .set({ delivery_status: 'failed', status_updated_at: now, error: JSON.stringify(error) })
      .where('client_key', '=', row.client_key)
      .execute();
  }
}

export async function markRecipientSent(db: Db, campaignId: number, contactId: number, clientKey: string, wamid: string): Promise<Date> {
  const now = new Date();
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('campaign_recipients')
      .set({ state: 'sent', wamid, sent_at: now, error: null })
      .where('campaign_id', '=', campaignId)
      .where('contact_id', '=', contactId)
      .execute();
    const message = await trx
      .updateTable('messages')
      .set({ wamid, delivery_status: 'sent', status_updated_at: now, created_at: now })
      .where('client_key', '=', clientKey)
      .returning('conversation_id')
      .executeTakeFirst();
    if (message) {
      await trx.updateTable('conversations').set({ last_message_at: now }).where('id', '=', message.conversation_id).execute();
    }
  });
  await applyEarlyReceipt(db, wamid);
  return now;
}

export async function markRecipientFailed(db: Db, campaignId: number, contactId: number, state: 'failed' | 'unconfirmed', error: unknown) {
  await markOutcome(db, campaignId, contactId, state, error);
}

/** A recipient that cannot be sent at all (a template variable is missing): on record, never sent. */
export async function recordUnsendable(db: Db, r: Omit<RecipientIntent, 'text' | 'templateName' | 'provider' | 'numberId'>, error: unknown) {
  await db
    .insertInto('campaign_recipients')
    .values({
      campaign_id: r.campaignId,
      contact_id: r.contactId,
      wa_id: r.waId,
      client_key: r.clientKey,
      state: 'failed',
      kind: r.kind,
      error: JSON.stringify(error),
    })
    .onConflict((oc) => oc.columns(['campaign_id', 'contact_id']).doNothing())
    .execute();
}

/** WhatsApp answered "not now" (throttled): nothing went out, so the reservation is undone. */
export async function releaseRecipient(db: Db, campaignId: number, contactId: number, clientKey: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const released = await trx
      .deleteFrom('campaign_recipients')
      .where('campaign_id', '=', campaignId)
      .where('contact_id', '=', contactId)
      .where('state', '=', 'sending')
      .executeTakeFirst();
    // Only our own reservation: a retry elsewhere may have moved the row on meanwhile.
    if (Number(released.numDeletedRows) > 0) {
      await trx.deleteFrom('messages').where('client_key', '=', clientKey).where('wamid', 'is', null).execute();
    }
  });
}

export async function markChatNotified(db: Db, campaignId: number, contactId: number): Promise<void> {
  await db.updateTable('campaign_recipients').set({ chat_notified: true }).where('campaign_id', '=', campaignId).where('contact_id', '=', contactId).execute();
}

export async function recipientCounts(db: Db, campaignId: number): Promise<CampaignCounts> {
  const rows = await db
    .selectFrom('campaign_recipients')
    .select(['state', (eb) => eb.fn.countAll<string>().as('n')])
    .where('campaign_id', '=', campaignId)
    .groupBy('state')
    .execute();
  const by = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  return { sent: by.sent ?? 0, failed: by.failed ?? 0, unconfirmed: by.unconfirmed ?? 0 };
}

/**
 * Counts an inbound message as a reply to the latest campaign this user got (within 7 days)
 * before the reply was recorded; Meta's timestamps are whole seconds, so they are not compared.
 * Idempotent: only the first reply is counted.
 */
export async function recordCampaignReply(
  db: Executor,
  waId: string,
  at: Date,
  /** The number the reply came to: only campaigns sent from it count it. */
  numberId = 1,
): Promise<{ campaignId: number; contactId: number; first: boolean } | undefined> {
  const latest = await sql<{ campaign_id: number; contact_id: number }>`
    select r.campaign_id, r.contact_id from campaign_recipients r join campaigns c on c.id = r.campaign_id
    where r.wa_id = ${waId} and c.number_id = ${numberId} and r.state = 'sent' and r.sent_at <= now() and r.sent_at > now() - interval '7 days'
    order by r.sent_at desc limit 1`.execute(db);
  const row = latest.rows[0];
  if (!row) return undefined;
  const updated = await sql`
    update campaign_recipients set replied_at = ${at}
    where campaign_id = ${row.campaign_id} and contact_id = ${row.contact_id} and replied_at is null`.execute(db);
  return { campaignId: row.campaign_id, contactId: row.contact_id, first: Number(updated.numAffectedRows ?? 0) > 0 };
}
