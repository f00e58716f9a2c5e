import { sql } from 'kysely';
import type { Db } from './database';
import { applyEarlyReceipt } from './messages';

/**
 * The bookkeeping of a chat send around the provider call (src/activities/send.ts). A row with
 * send_started_at set and no wamid is a send in doubt: it may have reached WhatsApp. Meta's receipt
 * carries the client key (biz_opaque_callback_data; Twilio: the status callback's ?key=) and
 * fills in the wamid (recordReceipts), which is how a retry learns that it did.
 */

export interface SendState {
  wamid: string | null;
  /** Still within the grace period after send_started_at (by the database's clock). */
  waiting: boolean;
}

/** The row's wamid and whether a receipt for an earlier attempt may still come. */
export async function readSendState(db: Db, clientKey: string, graceMs: number): Promise<SendState | undefined> {
  return db
    .selectFrom('messages')
    .select(['wamid', sql<boolean>`coalesce(send_started_at + make_interval(secs => ${graceMs / 1000}) > now(), false)`.as('waiting')])
    .where('client_key', '=', clientKey)
    .executeTakeFirst();
}

/** Marks a send about to start again; false when a wamid arrived meanwhile (nothing to send). */
export async function restartSend(db: Db, clientKey: string): Promise<boolean> {
  const rows = await db
    .updateTable('messages')
    .set({ send_started_at: sql`now()` })
    .where('client_key', '=', clientKey)
    .where('wamid', 'is', null)
    .returning('id')
    .execute();
  return rows.length > 0;
}

/** The provider refused the send in a way that proves nothing went out: a retry need not wait. */
export async function clearSendStarted(db: Db, clientKey: string): Promise<void> {
  await db.updateTable('messages').set({ send_started_at: null }).where('client_key', '=', clientKey).where('wamid', 'is', null).execute();
}

/**
 * The provider accepted the send: stores its wamid, marks the row sent and the conversation
 * active, and applies a receipt that came first. `at` is when the provider answered; a wamid
 * adopted by a later attempt (from a receipt, or from the earlier attempt's heartbeat) counts as
 * sent when that send started. Forward only: a receipt's delivered/read/failed stays, and doing it
 * twice changes nothing.
 */
export async function storeSent(db: Db, clientKey: string, conversationId: string, wamid: string, at?: Date): Promise<void> {
  const sentAt = at ?? sql<Date>`coalesce(send_started_at, created_at)`;
  const pending = sql<boolean>`delivery_status = 'pending'`;
  const message = db
    .updateTable('messages')
    .set({
      wamid: sql`coalesce(wamid, ${wamid})`,
      delivery_status: sql`case when ${pending} then 'sent' else delivery_status end`,
      status_updated_at: sql`case when ${pending} then ${sentAt} else status_updated_at end`,
      created_at: sentAt,
      send_started_at: null,
    })
    .where('client_key', '=', clientKey)
    .returning('created_at');
  const conversation = (last: Date) =>
    db
      .updateTable('conversations')
      .set({ last_message_at: sql`greatest(last_message_at, ${last})`, updated_at: new Date() })
      .where('id', '=', conversationId)
      .execute();
  if (at) {
    // The reply's critical path: both rows at once.
    await Promise.all([message.execute().then(() => applyEarlyReceipt(db, wamid)), conversation(at)]);
    return;
  }
  const adopted = await message.executeTakeFirst();
  await Promise.all([applyEarlyReceipt(db, wamid), conversation(adopted?.created_at ?? new Date())]);
}
