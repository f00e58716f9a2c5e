import { sql } from 'kysely';
import type { Db } from './database';
import { inTransaction } from './database';
import type { AiConfiguration, AiConfigurationSnapshot } from './schema';
import type { AiConfigurationChoice } from '../workflows/definitions';

/** The fields of an AI configuration a caller sets (the key already sealed, or null for OPENAI_API_KEY). */
export type AiConfigurationFields = AiConfigurationSnapshot & { isDefault: boolean };

export function snapshotOf(row: AiConfiguration): AiConfigurationSnapshot {
  return {
    name: row.name,
    baseUrl: row.base_url,
    apiKeyEncrypted: row.api_key_encrypted,
    model: row.model,
    temperature: row.temperature,
    maxTokens: row.max_tokens,
    systemPrompt: row.system_prompt,
    contextMessages: row.context_messages,
    toolsEnabled: row.tools_enabled,
    debounceMs: row.debounce_ms,
    maxWaitMs: row.max_wait_ms,
  };
}

const columns = (f: AiConfigurationSnapshot) => ({
  name: f.name,
  base_url: f.baseUrl,
  api_key_encrypted: f.apiKeyEncrypted,
  model: f.model,
  temperature: f.temperature,
  max_tokens: f.maxTokens,
  system_prompt: f.systemPrompt,
  context_messages: f.contextMessages,
  tools_enabled: f.toolsEnabled,
  debounce_ms: f.debounceMs,
  max_wait_ms: f.maxWaitMs,
});

/** Only one default: making one the default takes it from the other, in the same transaction. */
async function clearDefault(trx: Db, except?: number): Promise<void> {
  let q = trx.updateTable('ai_configurations').set({ is_default: false }).where('is_default', '=', true);
  if (except !== undefined) q = q.where('id', '!=', except);
  await q.execute();
}

export async function createAiConfiguration(db: Db, f: AiConfigurationFields, by: string): Promise<AiConfiguration> {
  return inTransaction(db, async (trx) => {
    if (f.isDefault) await clearDefault(trx);
    const row = await trx
      .insertInto('ai_configurations')
      .values({ ...columns(f), is_default: f.isDefault, version: 1, created_by: by })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('ai_configuration_versions')
      .values({ configuration_id: row.id, version: 1, settings: JSON.stringify(snapshotOf(row)), created_by: by })
      .execute();
    return row;
  });
}

/**
 * A change is a new version (kept whole in ai_configuration_versions): chats pick it up at their
 * next burst, and a reply in flight keeps the version its burst started with. Making it the
 * default alone is not a new version (the settings did not change). Undefined: no such configuration.
 */
export async function updateAiConfiguration(db: Db, id: number, f: AiConfigurationFields, by: string): Promise<AiConfiguration | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await trx.selectFrom('ai_configurations').selectAll().where('id', '=', id).where('deleted_at', 'is', null).forUpdate().executeTakeFirst();
    if (!current) return undefined;
    if (f.isDefault && !current.is_default) await clearDefault(trx, id);
    const changed = JSON.stringify(snapshotOf(current)) !== JSON.stringify(snapshotOf({ ...current, ...columns(f) } as AiConfiguration));
    const version = changed ? current.version + 1 : current.version;
    const row = await trx
      .updateTable('ai_configurations')
      .set({ ...columns(f), is_default: f.isDefault, version, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (changed) {
      await trx
        .insertInto('ai_configuration_versions')
        .values({ configuration_id: id, version, settings: JSON.stringify(snapshotOf(row)), created_by: by })
        .execute();
    }
    return row;
  });
}

/** Marks it deleted (its versions stay for replies in flight); refused while a number uses it. */
export async function deleteAiConfiguration(db: Db, id: number): Promise<'deleted' | 'missing' | { usedBy: number[] }> {
  return inTransaction(db, async (trx) => {
    const current = await trx.selectFrom('ai_configurations').select('id').where('id', '=', id).where('deleted_at', 'is', null).forUpdate().executeTakeFirst();
    if (!current) return 'missing';
    const users = await trx.selectFrom('whatsapp_numbers').select('id').where('ai_configuration_id', '=', id).orderBy('id').execute();
    if (users.length > 0) return { usedBy: users.map((u) => u.id) };
    await trx.updateTable('ai_configurations').set({ deleted_at: new Date(), is_default: false, updated_at: new Date() }).where('id', '=', id).execute();
    return 'deleted';
  });
}

export async function getAiConfiguration(db: Db, id: number): Promise<AiConfiguration | undefined> {
  return db.selectFrom('ai_configurations').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

export async function listAiConfigurations(db: Db): Promise<AiConfiguration[]> {
  return db.selectFrom('ai_configurations').selectAll().where('deleted_at', 'is', null).orderBy('id').execute();
}

/** One version, whole (versions never change, so callers may cache them). */
export async function getAiConfigurationVersion(db: Db, id: number, version: number): Promise<AiConfigurationSnapshot | undefined> {
  const row = await db
    .selectFrom('ai_configuration_versions')
    .select('settings')
    .where('configuration_id', '=', id)
    .where('version', '=', version)
    .executeTakeFirst();
  return row?.settings;
}

/** The configuration a number answers with now: its own, else the default, else none (the environment's settings). */
export type AiChoice = AiConfigurationChoice;

export async function aiChoiceForNumber(db: Db, numberId: number): Promise<AiChoice | null> {
  const row = await db
    .selectFrom('ai_configurations as a')
    .select(['a.id', 'a.version', 'a.debounce_ms', 'a.max_wait_ms', 'a.context_messages'])
    .where('a.deleted_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('a.id', '=', eb.selectFrom('whatsapp_numbers').select('ai_configuration_id').where('id', '=', numberId)),
        eb.and([
          eb('a.is_default', '=', true),
          eb.not(
            eb.exists(
              eb
                .selectFrom('whatsapp_numbers as n')
                .innerJoin('ai_configurations as own', 'own.id', 'n.ai_configuration_id')
                .select('n.id')
                .where('n.id', '=', numberId)
                .where('own.deleted_at', 'is', null),
            ),
          ),
        ]),
      ]),
    )
    .orderBy(sql`a.is_default`, 'asc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  return { id: row.id, version: row.version, debounceMs: row.debounce_ms, maxWaitMs: row.max_wait_ms, contextMessages: row.context_messages };
}
