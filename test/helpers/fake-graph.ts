import { createHash } from 'node:crypto';
import type http from 'node:http';
import { signBody } from '../../src/api/webhook/signature';
import { HttpFake, type Fault } from './http-fake';
import { webhookBody } from './webhook-payload';

export interface GraphSend {
  at: number;
  phoneNumberId: string;
  to: string;
  type: string;
  text?: string;
  wamid: string;
  authorization?: string;
  body: Record<string, unknown>;
}

/** A file Graph took at POST /{phone-number-id}/media. */
export interface GraphUpload {
  at: number;
  phoneNumberId: string;
  /** The media id answered. */
  id: string;
  /** The form's `type`. */
  type: string;
  /** The file part's own Content-Type and name. */
  fileType: string;
  filename: string;
  size: number;
  sha256: string;
  authorization?: string;
}

/** WhatsApp Cloud API stand-in: POST /{phone-number-id}/messages and /media, answering like Graph does. */
export class FakeGraph extends HttpFake {
  readonly sends: GraphSend[] = [];
  /** Media uploads Graph took (answered with an id); refused ones are not here. */
  readonly uploads: GraphUpload[] = [];
  /** Answered to the next uploads, in order, instead of taking them (the general `faults` apply to any request). */
  readonly uploadFaults: Fault[] = [];
  /** Called as each upload is taken, before the answer goes back. */
  onUpload: ((upload: GraphUpload) => void) | undefined;
  /** GET requests for a phone number's details (validate-config), with their Authorization header. */
  readonly lookups: { url: string; authorization?: string }[] = [];
  /** Access tokens Graph refuses on those lookups (401, code 190), as it does an expired or revoked one. */
  readonly refusedTokens = new Set<string>();
  /** Called as each send is accepted, before the answer goes back (a test may kill the sender here). */
  onSend: ((send: GraphSend) => void) | undefined;
  /** Like Meta: after accepting a send, POST its "sent" status (with our callback data) here. */
  receiptsTo: { url: string; appSecret: string } | undefined;
  private seq = 0;

  protected async handle(req: http.IncomingMessage, body: unknown, raw: Buffer) {
    // GET /{phone-number-id}?fields=...: the number's details, as validate-config reads them.
    const number = /^\/([^/?]+)(\?.*)?$/.exec(req.url ?? '');
    if (req.method === 'GET' && number) {
      this.lookups.push({ url: req.url!, authorization: req.headers.authorization });
      const token = req.headers.authorization?.replace(/^Bearer /, '');
      if (token && this.refusedTokens.has(token)) return FakeGraph.graphError(401, 190, 'Error validating access token: Session has expired');
      return { status: 200, body: { id: number[1], display_phone_number: '+1 555-000-0000', verified_name: 'Test Business' } };
    }
    const upload = /^\/([^/]+)\/media$/.exec(req.url ?? '');
    if (req.method === 'POST' && upload) return this.upload(req, upload[1]!, raw);
    const match = /^\/([^/]+)\/messages$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      return { status: 404, body: { error: { message: 'Unknown path', code: 100 } } };
    }
    const b = body as Record<string, unknown> & { to: string; type: string; text?: { body: string } };
    const wamid = `wamid.graph-${++this.seq}-${Date.now()}`;
    const send: GraphSend = {
      at: Date.now(),
      phoneNumberId: match[1]!,
      to: b.to,
      type: b.type,
      text: b.text?.body,
      wamid,
      authorization: req.headers.authorization,
      body: b,
    };
    this.sends.push(send);
    this.onSend?.(send);
    if (this.receiptsTo) setTimeout(() => void this.postReceipt(send), 20);
    return { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: b.to, wa_id: b.to }], messages: [{ id: wamid }] } };
  }

  /**
   * POST /{phone-number-id}/media: multipart with messaging_product=whatsapp, type and file, as
   * Graph takes it; the body is read with the platform's own multipart parser (undici's), not the
   * API's. Answers {id} like Graph, or Graph's (#100) errors for a missing or wrong parameter.
   */
  private async upload(req: http.IncomingMessage, phoneNumberId: string, raw: Buffer) {
    if (!req.headers.authorization?.startsWith('Bearer ')) return FakeGraph.graphError(401, 190, 'Invalid OAuth access token');
    const fault = this.uploadFaults.shift();
    if (fault) return fault;
    let form: FormData;
    try {
      form = await new Request('http://graph.local/', {
        method: 'POST',
        headers: { 'content-type': String(req.headers['content-type']) },
        body: raw,
      }).formData();
    } catch {
      return FakeGraph.graphError(400, 100, '(#100) The request body is not multipart/form-data');
    }
    if (form.get('messaging_product') !== 'whatsapp') return FakeGraph.graphError(400, 100, '(#100) The parameter messaging_product is required.');
    const type = form.get('type');
    if (typeof type !== 'string' || !type) return FakeGraph.graphError(400, 100, '(#100) The parameter type is required.');
    const file = form.get('file');
    if (!(file instanceof Blob)) return FakeGraph.graphError(400, 100, '(#100) The parameter file is required.');
    const bytes = Buffer.from(await file.arrayBuffer());
    if (file.type !== type) return FakeGraph.graphError(400, 131053, `Media upload error: the file is ${file.type}, type says ${type}`);
    const taken: GraphUpload = {
      at: Date.now(),
      phoneNumberId,
      id: String(1_013_859_600_000_000 + ++this.seq),
      type,
      fileType: file.type,
      filename: (file as File).name ?? '',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      authorization: req.headers.authorization,
    };
    this.uploads.push(taken);
    this.onUpload?.(taken);
    return { status: 200, body: { id: taken.id } };
  }

  private async postReceipt(send: GraphSend): Promise<void> {
    const status = {
      id: send.wamid,
      status: 'sent',
      timestamp: String(Math.floor(Date.now() / 1000)),
      recipient_id: send.to,
      ...(send.body.biz_opaque_callback_data ? { biz_opaque_callback_data: send.body.biz_opaque_callback_data } : {}),
    };
    const body = JSON.stringify(webhookBody({ statuses: [status] }));
    const { url, appSecret } = this.receiptsTo!;
    // Like Meta, a delivery the webhook did not take (5xx, or no answer) is tried again, here
    // every second for a minute (Meta keeps at it for days).
    for (let attempt = 0; attempt < 60; attempt++) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, appSecret) },
        body,
      }).catch(() => undefined);
      if (res && res.status < 500) return;
      if (!this.receiptsTo) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  sentTo(waId: string): GraphSend[] {
    return this.sends.filter((s) => s.to === waId);
  }

  static graphError(status: number, code: number, message: string) {
    return { status, body: { error: { message, type: 'OAuthException', code, fbtrace_id: 'test' } } };
  }
}
