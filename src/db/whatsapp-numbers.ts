import type { Insertable, Updateable } from 'kysely';
import { inTransaction, type Db } from './database';
import type { WhatsAppNumber, WhatsAppNumbersTable } from './schema';

/** The admin routes' reads and writes of whatsapp_numbers (src/api/routes/numbers.ts). */

export type NewNumber = Omit<Insertable<WhatsAppNumbersTable>, 'id' | 'is_default' | 'created_at' | 'updated_at'>;
export type NumberChanges = Omit<Updateable<WhatsAppNumbersTable>, 'id' | 'phone_number_id' | 'provider' | 'is_default' | 'created_at' | 'updated_at'>;

export async function listNumberRows(db: Db): Promise<WhatsAppNumber[]> {
  return db.selectFrom('whatsapp_numbers').selectAll().orderBy('id').execute();
}

export async function getNumberRow(db: Db, id: number): Promise<WhatsAppNumber | undefined> {
  return db.selectFrom('whatsapp_numbers').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function numberIdOfPhoneNumberId(db: Db, phoneNumberId: string): Promise<number | undefined> {
  return (await db.selectFrom('whatsapp_numbers').select('id').where('phone_number_id', '=', phoneNumberId).executeTakeFirst())?.id;
}

/** Conversations per number; numbers without any are absent. */
export async function conversationCounts(db: Db, ids?: number[]): Promise<Map<number, number>> {
  let q = db
    .selectFrom('conversations')
    .select(['number_id', (eb) => eb.fn.countAll<string>().as('n')])
    .groupBy('number_id');
  if (ids) q = q.where('number_id', 'in', ids.length ? ids : [0]);
  const rows = await q.execute();
  return new Map(rows.map((r) => [r.number_id, Number(r.n)]));
}

/** What still names a number: the reasons it cannot be deleted. */
export async function numberUsage(db: Db, id: number): Promise<{ conversations: number; campaigns: number; leads: number }> {
  const count = (table: 'conversations' | 'campaigns' | 'leads') =>
    db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('number_id', '=', id)
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
  const [conversations, campaigns, leads] = await Promise.all([count('conversations'), count('campaigns'), count('leads')]);
  return { conversations, campaigns, leads };
}

/**
 * Runs `write` with the AI configuration it names (if any) locked against changes until it
 * commits: 'missing' when that configuration does not exist or is deleted, and nothing is written.
 */
async function withAiConfiguration<T>(db: Db, aiConfigurationId: number | null | undefined, write: (trx: Db) => Promise<T>): Promise<T | 'missing'> {
  return inTransaction(db, async (trx) => {
    if (aiConfigurationId != null) {
      const found = await trx
        .selectFrom('ai_configurations')
        .select('id')
        .where('id', '=', aiConfigurationId)
        .where('deleted_at', 'is', null)
        .forShare()
        .executeTakeFirst();
      if (!found) return 'missing';
    }
    return write(trx);
  });
}

/** The new row; 'missing' when its AI configuration does not exist. A taken phone_number_id throws (23505). */
export async function insertNumber(db: Db, values: NewNumber): Promise<WhatsAppNumber | 'missing'> {
  return withAiConfiguration(db, values.ai_configuration_id, (trx) =>
    trx.insertInto('whatsapp_numbers').values(values).returningAll().executeTakeFirstOrThrow(),
  );
}

/** The updated row (updated_at bumped), undefined when there is none, 'missing' when its new AI configuration does not exist. */
export async function updateNumber(db: Db, id: number, changes: NumberChanges): Promise<WhatsAppNumber | undefined | 'missing'> {
  return withAiConfiguration(db, changes.ai_configuration_id, (trx) =>
    trx
      .updateTable('whatsapp_numbers')
      .set({ ...changes, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst(),
  );
}

/** True when a row was deleted; conversations, campaigns or leads still naming it make Postgres refuse (23503). */
export async function deleteNumber(db: Db, id: number): Promise<boolean> {
  const result = await db.deleteFrom('whatsapp_numbers').where('id', '=', id).where('is_default', '=', false).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
