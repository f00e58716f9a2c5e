import { sql } from 'kysely';
import type { Db } from './database';
import type { ChatMode } from './schema';

/** The conversation row for a WhatsApp user, created on first sight. Returns its id. */
export async function ensureConversation(db: Db, waId: string, contactName?: string): Promise<string> {
  const row = await db
    .insertInto('conversations')
    .values({ wa_id: waId, contact_name: contactName ?? null, mode: 'bot', needs_human: false, operator: null, updated_at: new Date() })
    .onConflict((oc) =>
      oc.column('wa_id').doUpdateSet({
        contact_name: contactName ? sql`excluded.contact_name` : sql`conversations.contact_name`,
      }),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function updateConversationMode(
  db: Db,
  waId: string,
  mode: ChatMode,
  needsHuman: boolean,
  operator: string | null,
): Promise<void> {
  const now = new Date();
  await db
    .insertInto('conversations')
    .values({ wa_id: waId, mode, needs_human: needsHuman, operator, updated_at: now })
    .onConflict((oc) => oc.column('wa_id').doUpdateSet({ mode, needs_human: needsHuman, operator, updated_at: now }))
    .execute();
}
