import { sql, type Kysely } from 'kysely';

/**
 * The live conversation stream (inbox) asks every 500 ms for conversations changed since its last
 * look; without this index that is a scan of every conversation.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index conversations_updated_at on conversations (updated_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index conversations_updated_at`.execute(db);
}
