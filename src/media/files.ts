import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { sql, type RawBuilder } from 'kysely';
import { HttpError } from '../api/errors';
import { SendError, type MediaUploader } from '../channels/types';
import { inTransaction, type Db } from '../db/database';
import type { MediaFile } from '../db/schema';
import type { MediaProvider } from './rules';

/**
 * Uploaded files and their provider references (issue 13).
 *
 * One row per content (sha256 and MIME type) and provider: the same bytes uploaded again return
 * the row there is, and nothing goes to the provider twice. The row is inserted first, as
 * 'uploading' with a claim (a random id) and the time; the request holding the claim uploads and
 * then stores the reference as 'ready', only while the claim is still its own. A concurrent upload
 * of the same bytes meets the unique index, finds the row 'uploading' and waits for it. A request
 * that died between the provider's answer and the update leaves an 'uploading' row: once it is
 * older than STALE_UPLOAD_MS the next upload of the same bytes claims it and uploads again (Graph
 * then holds one unused copy, which expires). A failed upload removes a row that was never ready.
 *
 * Graph keeps an uploaded file for 30 days; a row is taken as expired a day before that, so a send
 * that retries for a while never names an id Graph has dropped. Uploading the same bytes after
 * that uploads them again into the same row (same file id, new media id). A message that names an
 * expired file is refused with 409: we do not keep the bytes of Graph uploads, only Graph does.
 *
 * Twilio has no media upload: it fetches a URL. The bytes go into media_file_chunks (Postgres, so
 * every API process can serve them) and GET /media/<token> serves them, the token being 32 random
 * bytes; such a row does not expire.
 */

export const GRAPH_MEDIA_TTL_MS = 30 * 24 * 3600_000;
export const EXPIRY_MARGIN_MS = 24 * 3600_000;
/** An 'uploading' row older than this was left by a request that died: Graph's upload timeout (120 s) and then some. */
export const STALE_UPLOAD_MS = 150_000;
const CHUNK_BYTES = 1024 * 1024;
const UPLOAD_ATTEMPTS = 3;

/** What the API needs to upload: the deployment's provider, Graph's uploader, Twilio's public URL. */
export interface MediaSettings {
  provider: MediaProvider;
  /** Meta: the Graph client that uploads. */
  uploader?: MediaUploader;
  /** Twilio: the API's public URL (PUBLIC_BASE_URL), on which the /media/<token> links are built. */
  publicBaseUrl?: string;
  /** How often a request waiting for another's upload of the same bytes looks again; default 200 ms. */
  pollMs?: number;
}

export interface NewUpload {
  path: string;
  size: number;
  sha256: string;
  mimeType: string;
  filename: string | null;
  caption: string | null;
  createdBy: string;
}

/** Rows with whether they can be used now: ready and not (nearly) expired. */
const withUsable = (db: Db) =>
  db
    .selectFrom('media_files')
    .selectAll()
    .select(sql<boolean>`state = 'ready' and (expires_at is null or expires_at > now() + make_interval(secs => ${EXPIRY_MARGIN_MS / 1000}))`.as('usable'));

/** Stores an upload, or finds the same bytes stored: `created` when this request uploaded them. */
export async function storeUpload(db: Db, settings: MediaSettings, file: NewUpload): Promise<{ file: MediaFile; created: boolean }> {
  const waitUntil = Date.now() + STALE_UPLOAD_MS + 30_000;
  for (;;) {
    const claim = randomUUID();
    const inserted = await db
      .insertInto('media_files')
      .values({
        id: randomUUID(),
        sha256: file.sha256,
        mime_type: file.mimeType,
        size: file.size,
        filename: file.filename,
        caption: file.caption,
        provider: settings.provider,
        state: 'uploading',
        upload_claim: claim,
        upload_started_at: sql`now()`,
        created_by: file.createdBy,
      })
      // The only conflict an insert can meet is media_files_content_idx (ids and tokens are random).
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) {
      const stored = await upload(db, settings, inserted, claim, file);
      if (stored) return { file: stored, created: true };
      continue;
    }
    const row = await withUsable(db)
      .where('provider', '=', settings.provider)
      .where('sha256', '=', file.sha256)
      .where('mime_type', '=', file.mimeType)
      .where(sql`coalesce(filename, '')`, '=', file.filename ?? '')
      .where(sql`coalesce(caption, '')`, '=', file.caption ?? '')
      .executeTakeFirst();
    // Gone since the insert met it (its upload failed): insert again.
    if (!row) continue;
    if (row.usable) return { file: strip(row), created: false };
    // Expired, or left 'uploading' by a request that died: this request uploads again.
    const claimed = await db
      .updateTable('media_files')
      .set({ state: 'uploading', upload_claim: claim, upload_started_at: sql`now()` })
      .where('id', '=', row.id)
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'ready'), eb('expires_at', '<=', sql<Date>`now() + make_interval(secs => ${EXPIRY_MARGIN_MS / 1000})`)]),
          eb.and([eb('state', '=', 'uploading'), eb('upload_started_at', '<', sql<Date>`now() - make_interval(secs => ${STALE_UPLOAD_MS / 1000})`)]),
        ]),
      )
      .returningAll()
      .executeTakeFirst();
    if (claimed) {
      const stored = await upload(db, settings, claimed, claim, file);
      if (stored) return { file: stored, created: true };
      continue;
    }
    // Another request is uploading these bytes right now: wait for its answer.
    if (Date.now() > waitUntil) {
      throw new HttpError('CONFLICT', 'The same file is being uploaded by another request; try again in a moment', {
        reason: 'upload_in_progress',
        id: row.id,
      });
    }
    await new Promise((r) => setTimeout(r, settings.pollMs ?? 200));
  }
}

const strip = ({ usable: _usable, ...row }: MediaFile & { usable: boolean }): MediaFile => row;

/**
 * Uploads the claimed row's bytes and marks it ready; undefined when the claim was lost meanwhile
 * (this request took so long that another one took the row over).
 */
async function upload(db: Db, settings: MediaSettings, row: MediaFile, claim: string, file: NewUpload): Promise<MediaFile | undefined> {
  const ready = (ref: { provider_media_id: string; expires_at?: RawBuilder<Date> } | { token: string }, trx: Db = db) =>
    trx
      .updateTable('media_files')
      .set({ state: 'ready', upload_claim: null, upload_started_at: null, uploaded_at: sql`now()`, expires_at: null, ...ref })
      .where('id', '=', row.id)
      .where('upload_claim', '=', claim)
      .returningAll()
      .executeTakeFirst();
  try {
    if (settings.provider === 'meta') {
      if (!settings.uploader) throw new HttpError('INTERNAL_ERROR', 'No Graph client to upload with');
      const { id } = await uploadToGraph(settings.uploader, file, row.filename ?? `${row.id}`);
      return await ready({ provider_media_id: id, expires_at: sql<Date>`now() + make_interval(secs => ${GRAPH_MEDIA_TTL_MS / 1000})` });
    }
    if (settings.provider === 'twilio') {
      return await inTransaction(db, async (trx) => {
        const mine = await trx.selectFrom('media_files').select('id').where('id', '=', row.id).where('upload_claim', '=', claim).forUpdate().executeTakeFirst();
        if (!mine) return undefined;
        await trx.deleteFrom('media_file_chunks').where('file_id', '=', row.id).execute();
        let seq = 0;
        for await (const data of createReadStream(file.path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
          await trx.insertInto('media_file_chunks').values({ file_id: row.id, seq: seq++, data }).execute();
        }
        return ready({ token: row.token ?? randomBytes(32).toString('base64url') }, trx);
      });
    }
    // The console provider sends nothing anywhere: the id only names the file in its log lines.
    return await ready({ provider_media_id: `console-media.${row.id}` });
  } catch (err) {
    // Nothing stays of a file that was never ready; an expired one goes back to how it was.
    if (!row.uploaded_at) {
      await db.deleteFrom('media_files').where('id', '=', row.id).where('upload_claim', '=', claim).execute();
    } else {
      await db
        .updateTable('media_files')
        .set({ state: 'ready', upload_claim: null, upload_started_at: null })
        .where('id', '=', row.id)
        .where('upload_claim', '=', claim)
        .execute();
    }
    throw err;
  }
}

/** Graph's upload, tried again (up to 3 times) when Graph says a retry can help: 5xx, 429, throttling. */
async function uploadToGraph(uploader: MediaUploader, file: NewUpload, filename: string): Promise<{ id: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await uploader.uploadMedia({ path: file.path, mimeType: file.mimeType, size: file.size, filename });
    } catch (err) {
      if (!(err instanceof SendError)) throw err;
      if (!err.retryable || attempt >= UPLOAD_ATTEMPTS) {
        throw new HttpError('EXTERNAL_SERVICE_ERROR', `WhatsApp did not take the upload: ${err.message}`, {
          provider: uploader.provider,
          ...(err.code !== undefined ? { provider_code: err.code } : {}),
          retryable: err.retryable,
        });
      }
      await new Promise((r) => setTimeout(r, Math.min(err.retryAfterMs ?? 500 * 2 ** (attempt - 1), 5000)));
    }
  }
}

/** The public link Twilio fetches a stored file from. */
export function mediaLink(settings: MediaSettings, token: string): string {
  if (!settings.publicBaseUrl) throw publicUrlMissing();
  return `${settings.publicBaseUrl.replace(/\/+$/, '')}/media/${token}`;
}

export const publicUrlMissing = () =>
  new HttpError(
    'CONFLICT',
    "Twilio fetches media from a public URL, and PUBLIC_BASE_URL (this API's public address) is not set: set it to upload and send files through Twilio",
    { reason: 'not_configured', setting: 'PUBLIC_BASE_URL' },
  );

/** A file as the API shows it. */
export function fileView(row: MediaFile, settings: MediaSettings) {
  const url = row.token && settings.publicBaseUrl ? mediaLink(settings, row.token) : null;
  return {
    id: row.id,
    file_id: row.id,
    media_id: row.provider === 'twilio' ? null : row.provider_media_id,
    url,
    provider: row.provider,
    state: row.state,
    mime_type: row.mime_type,
    size: row.size,
    size_bytes: row.size,
    filename: row.filename,
    caption: row.caption,
    sha256: row.sha256,
    uploaded_at: row.uploaded_at,
    expires_at: row.expires_at,
    created_by: row.created_by,
    created_at: row.created_at,
  };
}

export async function findFile(db: Db, id: string): Promise<(MediaFile & { usable: boolean }) | undefined> {
  return withUsable(db).where('id', '=', id).executeTakeFirst();
}

/** What a message names with `media: {file_id}`: the provider's id or our link, with the stored type and name. */
export interface ResolvedMedia {
  id?: string;
  link?: string;
  mimeType: string;
  filename?: string;
  caption?: string;
}

/**
 * The provider reference of an uploaded file, for a message: 400 when there is no such file,
 * 409 when it is still uploading, was uploaded for another provider, or Graph's copy expired.
 */
export async function resolveFile(db: Db, settings: MediaSettings, fileId: string): Promise<ResolvedMedia> {
  const row = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(fileId) ? await findFile(db, fileId) : undefined;
  if (!row) {
    throw new HttpError('VALIDATION_ERROR', `media.file_id: no uploaded file has the id ${fileId}`, [{ field: 'media.file_id', reason: 'no such file' }]);
  }
  if (row.provider !== settings.provider) {
    throw new HttpError('CONFLICT', `File ${row.id} was uploaded for ${row.provider}, and messages now go through ${settings.provider}: upload it again`, {
      reason: 'other_provider',
      file_id: row.id,
    });
  }
  if (row.state !== 'ready') {
    throw new HttpError('CONFLICT', `File ${row.id} is still being uploaded; try again in a moment`, { reason: 'upload_in_progress', file_id: row.id });
  }
  if (!row.usable) {
    throw new HttpError(
      'CONFLICT',
      `WhatsApp's copy of file ${row.id} expires ${row.expires_at?.toISOString()} (media ids last 30 days): upload the same file again, which keeps its file_id`,
      { reason: 'media_expired', file_id: row.id, expires_at: row.expires_at },
    );
  }
  const ref = row.provider === 'twilio' ? { link: mediaLink(settings, row.token!) } : { id: row.provider_media_id! };
  return {
    ...ref,
    mimeType: row.mime_type,
    ...(row.filename ? { filename: row.filename } : {}),
    ...(row.caption ? { caption: row.caption } : {}),
  };
}

/** Writes a stored (Twilio) file to the response chunk by chunk, minding backpressure; false when there is none. */
export async function streamStoredFile(db: Db, token: string, res: ServerResponse): Promise<boolean> {
  const row = await db
    .selectFrom('media_files')
    .select(['id', 'mime_type', 'size', 'filename'])
    .where('token', '=', token)
    .where('state', '=', 'ready')
    .where('provider', '=', 'twilio')
    .executeTakeFirst();
  if (!row) return false;
  res.statusCode = 200;
  res.setHeader('Content-Type', row.mime_type);
  res.setHeader('Content-Length', String(row.size));
  res.setHeader('Cache-Control', 'private, max-age=3600');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (row.filename) res.setHeader('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(row.filename)}`);
  if (res.req?.method === 'HEAD') {
    res.end();
    return true;
  }
  for (let seq = 0; !res.destroyed; seq++) {
    const chunk = await db.selectFrom('media_file_chunks').select('data').where('file_id', '=', row.id).where('seq', '=', seq).executeTakeFirst();
    if (!chunk) break;
    if (!res.write(chunk.data)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
  res.end();
  return true;
}
