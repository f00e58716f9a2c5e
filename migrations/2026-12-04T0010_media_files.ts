import { sql, type Kysely } from 'kysely';

/**
 * Files operators upload to send as media (issue 13): one row per content (sha256 and type),
 * name, caption and provider, so the same upload is uploaded once, and one operator's file name or
 * caption is never handed to another who uploads the same bytes. A row is 'uploading' while one request holds its
 * upload (upload_claim, since upload_started_at) and 'ready' once the provider's reference is
 * stored: Graph's media id (it expires 30 days after the upload), or for Twilio, which fetches
 * media by URL, the token of our /media/<token> link and the bytes themselves in
 * media_file_chunks (Postgres, so any API process can serve them).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table media_files (
      id uuid primary key,
      sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
      mime_type text not null,
      size integer not null check (size > 0),
      filename text,
      caption text,
      provider text not null check (provider in ('meta', 'twilio', 'console')),
      state text not null check (state in ('uploading', 'ready')),
      upload_claim uuid,
      upload_started_at timestamptz,
      provider_media_id text,
      token text unique,
      uploaded_at timestamptz,
      expires_at timestamptz,
      created_by text not null,
      created_at timestamptz not null default now(),
      check (state = 'uploading' or provider_media_id is not null or token is not null)
    )
  `.execute(db);
  await sql`create unique index media_files_content_idx on media_files (provider, sha256, mime_type, coalesce(filename, ''), coalesce(caption, ''))`.execute(
    db,
  );
  await sql`
    create table media_file_chunks (
      file_id uuid not null references media_files(id) on delete cascade,
      seq integer not null check (seq >= 0),
      data bytea not null,
      primary key (file_id, seq)
    )
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table media_file_chunks`.execute(db);
  await sql`drop table media_files`.execute(db);
}
