import { sql, type Kysely } from 'kysely';

/**
 * The inbox (issue 12): a conversation's lifecycle as its chat workflow holds it (status,
 * archive, assignee, tags, priority), mirrored here before an update answers so lists agree at
 * once, and the team's read state, which only Postgres keeps: inbound messages recorded since an
 * operator last marked the conversation read (the recorder counts them as it inserts them).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table conversations
      add column status text not null default 'open' check (status in ('open', 'closed')),
      add column archived_at timestamptz,
      add column closed_at timestamptz,
      add column assigned_to integer references users(id) on delete set null,
      add column tags text[] not null default '{}',
      add column priority text not null default 'normal' check (priority in ('low', 'normal', 'high', 'urgent')),
      add column unread_count integer not null default 0 check (unread_count >= 0),
      add column last_read_at timestamptz
  `.execute(db);
  await sql`create index conversations_assigned_idx on conversations (assigned_to) where status = 'open'`.execute(db);
  await sql`create index conversations_unread_idx on conversations (unread_count) where unread_count > 0`.execute(db);
  await sql`create index conversations_tags_idx on conversations using gin (tags)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table conversations
      drop column status, drop column archived_at, drop column closed_at, drop column assigned_to,
      drop column tags, drop column priority, drop column unread_count, drop column last_read_at
  `.execute(db);
}
