import { sql, type Kysely } from 'kysely';

/**
 * Several WhatsApp numbers and AI configurations at run time (issue 13).
 *
 * - ai_configurations: named model settings; one may be the default. Every change is a new
 *   version, kept whole in ai_configuration_versions, because a chat records the (id, version) it
 *   answered with in its history and a retried reply must use exactly that snapshot. Deleting
 *   one only marks it deleted, so its versions stay readable for replies in flight.
 * - whatsapp_numbers: the business's numbers. Row 1 is the default number: the one the
 *   environment configures (WHATSAPP_* / TWILIO_*), brought up to date by every API and worker
 *   start; its credentials stay in the environment. Other rows keep theirs encrypted
 *   (credentials_encrypted, AES-256-GCM under CREDENTIALS_ENCRYPTION_KEY).
 * - conversations, campaigns and leads name their number; existing rows are the default
 *   number's, which is what a single-number deployment has been serving all along.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table ai_configurations (
      id serial primary key,
      name text not null,
      base_url text,
      api_key_encrypted text,
      model text not null,
      temperature real not null check (temperature >= 0 and temperature <= 2),
      max_tokens integer not null check (max_tokens > 0),
      system_prompt text not null,
      context_messages integer not null check (context_messages > 0),
      tools_enabled boolean not null default true,
      debounce_ms integer not null check (debounce_ms >= 0),
      max_wait_ms integer not null check (max_wait_ms >= debounce_ms),
      is_default boolean not null default false,
      version integer not null default 1,
      deleted_at timestamptz,
      created_by text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )
  `.execute(db);
  await sql`create unique index ai_configurations_name_idx on ai_configurations (lower(name)) where deleted_at is null`.execute(db);
  await sql`create unique index ai_configurations_one_default on ai_configurations (is_default) where is_default and deleted_at is null`.execute(db);
  await sql`
    create table ai_configuration_versions (
      configuration_id integer not null references ai_configurations(id),
      version integer not null,
      settings jsonb not null,
      created_by text,
      created_at timestamptz not null default now(),
      primary key (configuration_id, version)
    )
  `.execute(db);

  await sql`
    create table whatsapp_numbers (
      id serial primary key,
      phone_number_id text not null,
      display_number text,
      name text,
      provider text not null check (provider in ('meta', 'twilio', 'console')),
      credentials_encrypted text,
      ai_configuration_id integer references ai_configurations(id),
      enabled boolean not null default true,
      is_default boolean not null default false,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (is_default = (id = 1))
    )
  `.execute(db);
  await sql`create unique index whatsapp_numbers_phone_number_id_idx on whatsapp_numbers (phone_number_id)`.execute(db);
  await sql`
    insert into whatsapp_numbers (id, phone_number_id, name, provider, is_default)
    values (1, '', 'Default number (from the environment)', 'console', true)
  `.execute(db);
  await sql`select setval('whatsapp_numbers_id_seq', 1)`.execute(db);

  await sql`alter table conversations add column number_id integer not null default 1 references whatsapp_numbers(id)`.execute(db);
  await sql`alter table conversations drop constraint conversations_wa_id_key`.execute(db);
  await sql`alter table conversations add constraint conversations_number_wa_id_key unique (number_id, wa_id)`.execute(db);
  await sql`create index conversations_wa_id_idx on conversations (wa_id)`.execute(db);
  await sql`alter table campaigns add column number_id integer not null default 1 references whatsapp_numbers(id)`.execute(db);
  await sql`alter table leads add column number_id integer not null default 1 references whatsapp_numbers(id)`.execute(db);
  await sql`alter table llm_usage add column number_id integer`.execute(db);
  await sql`alter table llm_usage add column ai_configuration_id integer`.execute(db);
  await sql`alter table llm_usage add column ai_configuration_version integer`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table llm_usage drop column ai_configuration_version, drop column ai_configuration_id, drop column number_id`.execute(db);
  await sql`alter table leads drop column number_id`.execute(db);
  await sql`alter table campaigns drop column number_id`.execute(db);
  await sql`drop index conversations_wa_id_idx`.execute(db);
  await sql`alter table conversations drop constraint conversations_number_wa_id_key`.execute(db);
  await sql`alter table conversations add constraint conversations_wa_id_key unique (wa_id)`.execute(db);
  await sql`alter table conversations drop column number_id`.execute(db);
  await sql`drop table whatsapp_numbers`.execute(db);
  await sql`drop table ai_configuration_versions`.execute(db);
  await sql`drop table ai_configurations`.execute(db);
}
