import type { Db } from './database';
import type { AiConfiguration } from './schema';

// What the admin routes need of ai_configurations besides src/db/ai-configurations.ts.

/** The row, locked until the transaction ends: a partial change merges into what it locked, so two changes never lose one another. */
export async function lockAiConfiguration(trx: Db, id: number): Promise<AiConfiguration | undefined> {
  return trx.selectFrom('ai_configurations').selectAll().where('id', '=', id).where('deleted_at', 'is', null).forUpdate().executeTakeFirst();
}

/** The default configuration, locked as lockAiConfiguration locks one; undefined when there is none. */
export async function lockDefaultAiConfiguration(trx: Db): Promise<AiConfiguration | undefined> {
  return trx.selectFrom('ai_configurations').selectAll().where('is_default', '=', true).where('deleted_at', 'is', null).forUpdate().executeTakeFirst();
}

/** Which numbers name each configuration as their own (whatsapp_numbers.ai_configuration_id). */
export async function numbersByAiConfiguration(db: Db): Promise<Map<number, number[]>> {
  const rows = await db
    .selectFrom('whatsapp_numbers')
    .select(['id', 'ai_configuration_id'])
    .where('ai_configuration_id', 'is not', null)
    .orderBy('id')
    .execute();
  const byConfiguration = new Map<number, number[]>();
  for (const r of rows) byConfiguration.set(r.ai_configuration_id!, [...(byConfiguration.get(r.ai_configuration_id!) ?? []), r.id]);
  return byConfiguration;
}

/** Every version of a configuration (deleted ones' too), newest first. */
export async function listAiConfigurationVersions(db: Db, id: number) {
  return db
    .selectFrom('ai_configuration_versions')
    .select(['version', 'settings', 'created_by', 'created_at'])
    .where('configuration_id', '=', id)
    .orderBy('version', 'desc')
    .execute();
}
