import type http from 'node:http';
import { signBody } from '../../src/api/webhook/signature';
import { HttpFake } from './http-fake';
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

/** WhatsApp Cloud API stand-in: POST /{phone-number-id}/messages, answering like Graph does. */
export class FakeGraph extends HttpFake {
  readonly sends: GraphSend[] = [];
  /** GET requests for a phone number's details (validate-config), with their Authorization header. */
  readonly lookups: { url: string; authorization?: string }[] = [];
  /** Called as each send is accepted, before the answer goes back (a test may kill the sender here). */
  onSend: ((send: GraphSend) => void) | undefined;
  /** Like Meta: after accepting a send, POST its "sent" status (with our callback data) here. */
  receiptsTo: { url: string; appSecret: string } | undefined;
  private seq = 0;

  protected async handle(req: http.IncomingMessage, body: unknown) {
    // GET /{phone-number-id}?fields=...: the number's details, as validate-config reads them.
    const number = /^\/([^/?]+)(\?.*)?$/.exec(req.url ?? '');
    if (req.method === 'GET' && number) {
      this.lookups.push({ url: req.url!, authorization: req.headers.authorization });
      return { status: 200, body: { id: number[1], display_phone_number: '+1 555-000-0000', verified_name: 'Test Business' } };
    }
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
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, appSecret) }, body }).catch(
        () => undefined,
      );
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
