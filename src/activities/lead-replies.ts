import { sql } from 'kysely';
import { createContact, findContactByWaId } from '../db/contacts';
import { ContactConflict } from '../db/contact-phones';
import { isUniqueViolation } from '../db/pg-errors';
import type { Db } from '../db/database';
import { createLeadForContact, recordLeadActivityOnce } from '../db/leads';
import { optKeyword } from '../workflows/chat-state';
import type { InboundMessage } from '../workflows/definitions';
import { notifyLeadFollowUp } from '../temporal/lead-follow-ups';
import { idsOf } from '../temporal/workflow-ids';
import type { ActivityDeps } from './index';

/**
 * A reply from a contact with an open lead lands in its timeline and ends its follow-up.
 * Idempotent (keyed by wamid), so a retried recording activity repeats nothing.
 */
export async function applyInboundToLeads(deps: Pick<ActivityDeps, 'db' | 'temporal' | 'ids'>, waId: string, messages: InboundMessage[]): Promise<void> {
  const { db } = deps;
  // STOP is an answer of sorts, but not a sales conversation.
  const answerable = messages.filter((m) => m.answerable && optKeyword(m) !== false);
  if (answerable.length === 0) return;
  // One lookup on the chat's recording path: most people who write have no open lead.
  const lead = await db
    .selectFrom('leads')
    .innerJoin('contact_phone_numbers as p', 'p.contact_id', 'leads.contact_id')
    .select('leads.id')
    .where('p.wa_id', '=', waId)
    .where('leads.status', 'not in', ['won', 'lost'])
    .executeTakeFirst();
  if (!lead) return;
  // Our clock, not Meta's whole-second timestamp: a reply must never look older than the
  // follow-up it answers.
  const at = new Date();
  await db
    .updateTable('leads')
    // A reply makes any pending follow-up moot (its workflow ends below).
    .set({ last_reply_at: sql`greatest(last_reply_at, ${at})`, overdue_since: null, next_follow_up_at: null, updated_at: new Date() })
    .where('id', '=', lead.id)
    .execute();
  for (const m of answerable) {
    await recordLeadActivityOnce(db, lead.id, 'replied', `Replied: ${m.text.slice(0, 200)}`, {
      key: `reply:${m.wamid}`,
      metadata: { wamid: m.wamid },
      actor: 'whatsapp',
    });
  }
  await notifyLeadFollowUp(deps.temporal, lead.id, 'replied', idsOf(deps));
}

export async function openLeadForCampaignReply(db: Db, reply: { campaignId: number; contactId: number }, first: InboundMessage) {
  const campaign = await db.selectFrom('campaigns').select(['name', 'number_id']).where('id', '=', reply.campaignId).executeTakeFirst();
  await createLeadForContact(db, {
    contactId: reply.contactId,
    campaignId: reply.campaignId,
    title: `Reply to campaign ${campaign?.name ?? reply.campaignId}`,
    source: 'whatsapp_campaign',
    numberId: campaign?.number_id,
    description: first.text.slice(0, 500),
    actor: 'campaign reply',
  });
}

/**
 * The LLM's qualify_lead call: the chat's contact (created without any opt-in when the number is
 * new, since chatting is not consent to marketing) gets an open lead, once.
 */
export async function openLeadFromChat(db: Db, waId: string, contactName: string | undefined, lead: { interest: string; score?: number }, numberId = 1) {
  let contact = await findContactByWaId(db, waId);
  if (!contact) {
    try {
      await createContact(db, { fields: { first_name: contactName ?? null }, phones: [{ e164: `+${waId}`, waId, isPrimary: true }] });
    } catch (err) {
      // A concurrent first message created it; use that one.
      if (!(err instanceof ContactConflict) && !isUniqueViolation(err)) throw err;
    }
    contact = await findContactByWaId(db, waId);
  }
  if (!contact) return;
  await createLeadForContact(db, {
    contactId: contact.id,
    title: `Interested: ${lead.interest}`,
    source: 'whatsapp_chat',
    description: `Qualified by the assistant: ${lead.interest}`,
    score: lead.score,
    actor: 'assistant',
    numberId,
  });
}
