import { sql, type Kysely } from 'kysely';

/**
 * Webhook logs (issue 13, seed 003): one row per request that reached a webhook (Meta, Twilio),
 * written by the API after it answered: who it was for, whether the signature held, what was
 * answered and why, how long it took, and the body as received (bounded, text optionally
 * redacted). Rows go after WEBHOOK_LOG_RETENTION_DAYS (the webhook-log-retention Schedule).
 * Indexes follow the admin list's filters; every filter is read newest first.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table webhook_logs (
      id bigserial primary key,
      received_at timestamptz not null,
      provider text not null check (provider in ('meta', 'twilio')),
      method text not null,
      path text not null,
      business_numbers text[] not null default '{}',
      signature text not null check (signature in ('valid', 'missing', 'invalid', 'not_checked')),
      status_code integer,
      outcome text not null,
      messages integer not null default 0,
      statuses integer not null default 0,
      skipped integer not null default 0,
      error text,
      duration_ms double precision not null,
      request_id text,
      content_type text,
      body text,
      body_bytes integer not null default 0,
      body_truncated boolean not null default false,
      body_redacted boolean not null default false,
      message_ids text[] not null default '{}'
    )
  `.execute(db);
  await sql`create index webhook_logs_received_idx on webhook_logs (received_at, id)`.execute(db);
  await sql`create index webhook_logs_provider_idx on webhook_logs (provider, received_at)`.execute(db);
  await sql`create index webhook_logs_outcome_idx on webhook_logs (outcome, received_at)`.execute(db);
  await sql`create index webhook_logs_status_idx on webhook_logs (status_code, received_at)`.execute(db);
  // Refused and unchecked signatures are the rare rows worth finding; valid ones are most of the table.
  await sql`create index webhook_logs_signature_idx on webhook_logs (signature, received_at) where signature <> 'valid'`.execute(db);
  await sql`create index webhook_logs_numbers_idx on webhook_logs using gin (business_numbers)`.execute(db);
  await sql`create index webhook_logs_message_ids_idx on webhook_logs using gin (message_ids)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_logs').execute();
}
