import { sql, type Kysely } from 'kysely';

/**
 * When the sender last handed an outbound message to WhatsApp without knowing the outcome yet.
 * Set just before the provider is called; cleared once the outcome is known (the wamid stored by
 * the sender, or a refusal that proves nothing went out). A row found with it set and no wamid is a
 * send in doubt: a retry waits a grace period for Meta's receipt (which carries the client key)
 * before sending again.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table messages add column send_started_at timestamptz`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table messages drop column send_started_at`.execute(db);
}
