import { sql } from 'kysely';
import type { Db } from './database';
import type { ChatMode } from './schema';
import type { ConversationPriority, ConversationStatus } from '../workflows/definitions';

/** The conversation row for a WhatsApp user, created on first sight. Returns its id. */
export async function ensureConversation(db: Db, waId: string, contactName?: string, numberId = 1): Promise<string> {
  const row = await db
    .insertInto('conversations')
    .values({ number_id: numberId, wa_id: waId, contact_name: contactName ?? null, mode: 'bot', needs_human: false, operator: null, updated_at: new Date() })
    .onConflict((oc) =>
      oc.columns(['number_id', 'wa_id']).doUpdateSet({
        contact_name: contactName ? sql`excluded.contact_name` : sql`conversations.contact_name`,
      }),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The inbox's state of a conversation as its chat holds it (see chat-lifecycle.ts). */
export interface ConversationLifecycleRecord {
  status: ConversationStatus;
  archived: boolean;
  assignedTo: number | null;
  tags: string[];
  priority: ConversationPriority;
  /** ISO time of the last close. */
  closedAt: string | null;
}

/**
 * The chat's mirror: its mode, operator, NeedsHuman and inbox state, as the workflow has them.
 * An assignee whose user was deleted since is written as nobody (the workflow still names them
 * until someone reassigns), so the write can never be refused for good.
 */
export async function updateConversationMode(
  db: Db,
  waId: string,
  mode: ChatMode,
  needsHuman: boolean,
  operator: string | null,
  lifecycle?: ConversationLifecycleRecord,
  /** The business number (whatsapp_numbers.id) the conversation is with. */
  numberId = 1,
): Promise<void> {
  const now = new Date();
  const inbox = lifecycle
    ? {
        status: lifecycle.status,
        archived_at: lifecycle.archived ? sql<Date>`coalesce(conversations.archived_at, ${now})` : null,
        closed_at: lifecycle.closedAt === null ? null : new Date(lifecycle.closedAt),
        assigned_to: lifecycle.assignedTo === null ? null : sql<number | null>`(select id from users where id = ${lifecycle.assignedTo})`,
        tags: lifecycle.tags,
        priority: lifecycle.priority,
      }
    : {};
  const inserted = lifecycle
    ? {
        ...inbox,
        archived_at: lifecycle.archived ? now : null,
      }
    : {};
  await db
    .insertInto('conversations')
    .values({ number_id: numberId, wa_id: waId, mode, needs_human: needsHuman, operator, updated_at: now, ...inserted })
    .onConflict((oc) => oc.columns(['number_id', 'wa_id']).doUpdateSet({ mode, needs_human: needsHuman, operator, updated_at: now, ...inbox }))
    .execute();
}
