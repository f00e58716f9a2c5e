import { rm } from 'node:fs/promises';
import { Router } from 'express';
import { z } from 'zod';
import { fileView, findFile, publicUrlMissing, storeUpload, streamStoredFile } from '../../media/files';
import { kindOf, supportedTypes, maxBytesFor } from '../../media/rules';
import { formatBytes, receiveUpload } from '../../media/upload-stream';
import { operatorOf } from '../auth';
import { mediaSettingsOf } from '../file-media';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { READ, route, type RouteDoc, type RouteInput } from '../route-doc';

/** Control characters are dropped from a file name (WhatsApp shows it to the customer). */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/g;

const UploadForm = z.object({
  file: z
    .string()
    .meta({ format: 'binary', contentMediaType: 'application/octet-stream' })
    .describe("The file; its part's Content-Type is its type (or application/octet-stream: typed by its bytes and name)"),
  filename: z.string().max(240).optional().describe("The name a document is shown with; default the file part's name"),
  caption: z.string().max(1024).optional().describe('Sent with the file when a message gives no caption (not for audio or stickers)'),
  conversation_id: z.string().max(100).optional().describe("Seed 000's field: accepted and ignored (a file can be sent in any conversation)"),
  metadata: z.string().max(8192).optional().describe("Seed 000's field: a JSON string, accepted and ignored"),
});
const FIELD_LIMITS = { filename: 240, caption: 1024, conversation_id: 100, metadata: 8192 };

const FileRecord = z.object({
  id: z.string().describe('Our file id: send it as media.file_id'),
  file_id: z.string().describe("Seed 000's name for id"),
  media_id: z.string().nullable().describe("Graph's media id (Meta); null on Twilio"),
  url: z.string().nullable().describe('Twilio: the public link Twilio fetches the file from; null on Meta'),
  provider: z.enum(['meta', 'twilio', 'console']),
  state: z.enum(['uploading', 'ready']),
  mime_type: z.string(),
  size: z.number().int(),
  size_bytes: z.number().int().describe("Seed 000's name for size"),
  filename: z.string().nullable(),
  caption: z.string().nullable(),
  sha256: z.string(),
  uploaded_at: z.date().nullable(),
  expires_at: z.date().nullable().describe('When Graph drops its copy (30 days after the upload); null on Twilio. A file is taken as expired a day early'),
  created_by: z.string(),
  created_at: z.date(),
});

function limitsText(): string {
  return supportedTypes('meta')
    .map((t) => `${t} ${formatBytes(maxBytesFor(t, 'meta')!)}${t === 'image/webp' ? ' (animated; static 100 KB)' : ''}`)
    .join(', ');
}

const UPLOAD_DOC = {
  summary: 'Upload a file to send as media',
  description: [
    'multipart/form-data with the file in the field `file`. Its type comes from the part\'s Content-Type and must match the file\'s first bytes (a "PNG" that is not one is refused with 415); an application/octet-stream part is typed by its bytes and file name.',
    `WhatsApp's types and limits: ${limitsText()}. Through Twilio: at most 16 MB, and of documents only PDF. Another type is a 415, a larger file a 413, and nothing is stored or uploaded.`,
    'Meta: the file goes to Graph (POST /{phone-number-id}/media) and its media id is kept, valid 30 days. Twilio: the file is kept here and served at an unguessable /media/<token> link for Twilio to fetch. The same bytes again (same type) answer the stored file (200) without uploading; an expired one is uploaded again into the same record (201).',
    'Send it with `media: {file_id}` in an operator message.',
  ].join('\n\n'),
  access: ['operator', 'sales'],
  body: UploadForm,
  bodyContentTypes: ['multipart/form-data'],
  readsOwnBody: true,
  responses: {
    201: { description: 'Uploaded now', schema: FileRecord },
    200: { description: 'These bytes were uploaded before and are still valid: that file', schema: FileRecord },
  },
  errors: ['UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE', 'CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
} satisfies RouteDoc;

/** POST /api/v1/files/upload (seed 000's path; POST /api/v1/files the same) and GET /api/v1/files/:id. */
export function filesRouter(deps: AppDeps): Router {
  const router = Router();

  const upload = async ({ req, res }: RouteInput<typeof UPLOAD_DOC>) => {
    const settings = mediaSettingsOf(deps);
    if (settings.provider === 'twilio' && !settings.publicBaseUrl) {
      req.resume();
      throw publicUrlMissing();
    }
    const received = await receiveUpload(req, { provider: settings.provider, fields: FIELD_LIMITS });
    try {
      const { fields } = received;
      if (fields.metadata !== undefined) {
        try {
          JSON.parse(fields.metadata);
        } catch {
          throw new HttpError('VALIDATION_ERROR', 'metadata: must be a JSON string', [{ field: 'metadata', reason: 'not JSON' }]);
        }
      }
      const caption = fields.caption?.trim() || null;
      const kind = kindOf(received.mimeType);
      if (caption && (kind === 'audio' || kind === 'sticker')) {
        throw new HttpError('VALIDATION_ERROR', `caption: WhatsApp cannot put text on ${kind}`, [{ field: 'caption', reason: `no captions on ${kind}` }]);
      }
      const filename = (fields.filename ?? received.partFilename ?? '').replace(CONTROL_CHARS, '').trim().slice(0, 240) || null;
      const { file, created } = await storeUpload(deps.db, settings, {
        path: received.path,
        size: received.size,
        sha256: received.sha256,
        mimeType: received.mimeType,
        filename,
        caption,
        createdBy: operatorOf(req.principal),
      });
      res.status(created ? 201 : 200);
      return fileView(file, settings);
    } finally {
      await rm(received.path, { force: true });
    }
  };
  router.post('/upload', route(UPLOAD_DOC, upload));
  router.post('/', route({ ...UPLOAD_DOC, summary: 'Upload a file to send as media (as POST /api/v1/files/upload)' }, upload));

  router.get(
    '/:id',
    route(
      {
        summary: 'An uploaded file: its provider reference and when it expires',
        access: READ,
        params: z.object({ id: z.uuid() }),
        responses: { 200: { description: 'The file', schema: FileRecord } },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => {
        const row = await findFile(deps.db, params.id);
        if (!row) throw new HttpError('NOT_FOUND', `No file ${params.id}`);
        const { usable: _usable, ...file } = row;
        return fileView(file, mediaSettingsOf(deps));
      },
    ),
  );
  return router;
}

/** GET /media/:token: a stored file for Twilio to fetch (public; the token is the credential). */
export function mediaRouter(deps: AppDeps): Router {
  const router = Router();
  router.get(
    '/media/:token',
    route(
      {
        summary: 'A stored file, for Twilio to fetch',
        description:
          'Files uploaded on a Twilio deployment are served here for Twilio (which sends media by URL) to fetch. No credential: the token (32 random bytes) is one, and only Twilio and whoever holds the link know it. 404 for any other token.',
        tag: 'media',
        access: 'public',
        params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/) }),
        responses: { 200: { description: 'The file, with its type', contentType: 'application/octet-stream' } },
        errors: ['NOT_FOUND'],
      },
      async ({ params, res }) => {
        if (!(await streamStoredFile(deps.db, params.token, res))) throw new HttpError('NOT_FOUND', 'No such file');
      },
    ),
  );
  return router;
}
