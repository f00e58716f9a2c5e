import { openAsBlob } from 'node:fs';
import {
  SendError,
  mediaKind,
  type MediaUploader,
  type MediaUploadFile,
  type OutboundContent,
  type SendOptions,
  type SendResult,
  type WhatsAppSender,
} from './types';

export interface MetaGraphOptions {
  baseUrl: string;
  phoneNumberId: string;
  accessToken: string;
  timeoutMs?: number;
  /** For media uploads (up to 100 MB); default 120 s. */
  uploadTimeoutMs?: number;
}

// Graph error codes that mean "slow down" rather than "this will never work".
const THROTTLE_CODES = new Set([4, 80007, 130429, 131056]);
const TRANSIENT_CODES = new Set([1, 2, 131000, 131016]);
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** WhatsApp Cloud API client: POST /{phone-number-id}/messages, and /media for uploads. */
export class MetaGraphSender implements WhatsAppSender, MediaUploader {
  readonly provider = 'meta';
  constructor(private readonly options: MetaGraphOptions) {}

  async send(to: string, content: OutboundContent, options: SendOptions = {}): Promise<SendResult> {
    const url = `${this.options.baseUrl.replace(/\/$/, '')}/${this.options.phoneNumberId}/messages`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          ...graphBody(to, content),
          ...(options.callbackData ? { biz_opaque_callback_data: options.callbackData } : {}),
        }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
    } catch (err) {
      throw unreachable(err);
    }
    const body = (await res.json().catch(() => ({}))) as GraphResponse;
    if (res.ok && body.messages?.[0]?.id) return { wamid: body.messages[0].id };
    throw graphError(res, body, 'no message id in response');
  }

  /**
   * POST /{phone-number-id}/media (multipart: messaging_product, type, file): Graph keeps the file
   * for 30 days and answers its media id. The file is read from disk as it is sent. Errors are
   * classified as for sends; a timeout or dropped connection may have left an upload at Graph,
   * which costs nothing but an unused id that expires.
   */
  async uploadMedia(file: MediaUploadFile): Promise<{ id: string }> {
    const url = `${this.options.baseUrl.replace(/\/$/, '')}/${this.options.phoneNumberId}/media`;
    const form = new FormData();
    form.append('messaging_product', 'whatsapp');
    form.append('type', file.mimeType);
    form.append('file', await openAsBlob(file.path, { type: file.mimeType }), file.filename);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.accessToken}` },
        body: form,
        signal: AbortSignal.timeout(this.options.uploadTimeoutMs ?? 120_000),
      });
    } catch (err) {
      throw unreachable(err);
    }
    const body = (await res.json().catch(() => ({}))) as GraphResponse;
    if (res.ok && typeof body.id === 'string' && body.id) return { id: body.id };
    throw graphError(res, body, 'no media id in response');
  }
}

/** Only a connection that was never made is known not to have reached Graph; a timeout or a
 * connection dropped after the request was written may have been accepted (and sent). */
function unreachable(err: unknown): SendError {
  const code = ((err as Error).cause as { code?: string } | undefined)?.code;
  const neverConnected = code !== undefined && NOT_CONNECTED.has(code);
  return new SendError(`Graph API unreachable: ${(err as Error).message}`, true, undefined, undefined, !neverConnected);
}

function graphError(res: Response, body: GraphResponse, missing: string): SendError {
  const code = body.error?.code;
  const message = `Graph API ${res.status}${code ? ` code ${code}` : ''}: ${body.error?.message ?? missing}`;
  const retryAfter = Number(res.headers.get('retry-after'));
  const retryable = res.status >= 500 || res.status === 429 || (code !== undefined && (THROTTLE_CODES.has(code) || TRANSIENT_CODES.has(code)));
  return new SendError(message, retryable, code, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
}

interface GraphResponse {
  messages?: { id: string }[];
  /** An upload's media id. */
  id?: string;
  error?: { message?: string; code?: number; error_subcode?: number };
}

function graphBody(to: string, content: OutboundContent): Record<string, unknown> {
  const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to };
  if (content.kind === 'text') return { ...base, type: 'text', text: { body: content.text, preview_url: false } };
  if (content.kind === 'template') return { ...base, type: 'template', template: templateBody(content.template) };
  const kind = mediaKind(content.media.mimeType);
  const media: Record<string, string> = content.media.id ? { id: content.media.id } : { link: content.media.link! };
  if (content.media.caption && kind !== 'audio' && kind !== 'sticker') media.caption = content.media.caption;
  if (content.media.filename && kind === 'document') media.filename = content.media.filename;
  return { ...base, type: kind, [kind]: media };
}

/** Named parameters carry parameter_name (Meta's named-variable templates); positional ones ({{1}}) do not. */
function templateBody(t: Extract<OutboundContent, { kind: 'template' }>['template']): Record<string, unknown> {
  const parameters = t.parameters.map((p) =>
    /^\d+$/.test(p.name) ? { type: 'text', text: p.value } : { type: 'text', parameter_name: p.name, text: p.value },
  );
  return {
    name: t.name,
    language: { code: t.language },
    ...(parameters.length ? { components: [{ type: 'body', parameters }] } : {}),
  };
}
