import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import * as initial from '../../migrations/2026-11-23T0001_conversations_and_messages';
import * as campaigns from '../../migrations/2026-11-23T0002_contacts_templates_campaigns';
import * as leads from '../../migrations/2026-11-23T0003_leads';
import * as users from '../../migrations/2026-11-23T0004_users';
import * as llmUsage from '../../migrations/2026-11-23T0005_llm_usage';
import * as streamIndex from '../../migrations/2026-11-23T0006_conversation_stream_index';
import * as sendStarted from '../../migrations/2026-11-23T0007_message_send_started';
import * as lifecycle from '../../migrations/2026-12-04T0008_conversation_lifecycle';
import * as webhookLogs from '../../migrations/2026-12-04T0009_webhook_logs';
import * as mediaFiles from '../../migrations/2026-12-04T0010_media_files';
import * as numbers from '../../migrations/2026-12-04T0011_numbers_and_ai_configurations';

/** Listed explicitly, in order: no directory scanning, so bundling and renames cannot reorder them. */
const MIGRATIONS: Record<string, Migration> = {
  '2026-11-23T0001_conversations_and_messages': initial,
  '2026-11-23T0002_contacts_templates_campaigns': campaigns,
  '2026-11-23T0003_leads': leads,
  '2026-11-23T0004_users': users,
  '2026-11-23T0005_llm_usage': llmUsage,
  '2026-11-23T0006_conversation_stream_index': streamIndex,
  '2026-11-23T0007_message_send_started': sendStarted,
  '2026-12-04T0008_conversation_lifecycle': lifecycle,
  '2026-12-04T0009_webhook_logs': webhookLogs,
  '2026-12-04T0010_media_files': mediaFiles,
  '2026-12-04T0011_numbers_and_ai_configurations': numbers,
};

class ListedMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

/** Creates the database named in the URL when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`unsupported database name "${name}"`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`create database "${name}"`);
    return true;
  } catch (err) {
    // Two processes racing to create it: the other one won, which is fine.
    if ((err as { code?: string }).code === '42P04') return false;
    throw err;
  } finally {
    await client.end();
  }
}

export interface MigrateResult {
  created: boolean;
  applied: string[];
}

export async function migrateToLatest(databaseUrl: string): Promise<MigrateResult> {
  const created = await ensureDatabase(databaseUrl);
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }),
  });
  try {
    const migrator = new Migrator({ db, provider: new ListedMigrations() });
    const { error, results } = await migrator.migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (error || failed) {
      const which = failed ? ` (migration ${failed.migrationName})` : '';
      throw new Error(`migration failed${which}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return { created, applied: (results ?? []).map((r) => r.migrationName) };
  } finally {
    await db.destroy();
  }
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

/** Which of the listed migrations the database has and lacks; read-only (validate-config). */
export async function migrationStatus(databaseUrl: string): Promise<MigrationStatus> {
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1, connectionTimeoutMillis: 5000 }) }),
  });
  try {
    const migrations = await new Migrator({ db, provider: new ListedMigrations() }).getMigrations();
    return {
      applied: migrations.filter((m) => m.executedAt).map((m) => m.name),
      pending: migrations.filter((m) => !m.executedAt).map((m) => m.name),
    };
  } finally {
    await db.destroy();
  }
}
