import type http from 'node:http';
import { HttpFake } from './http-fake';

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
  /** Called as each send is accepted, before the answer goes back (a test may kill the sender here). */
  onSend: ((send: GraphSend) => void) | undefined;
  private seq = 0;

  protected async handle(req: http.IncomingMessage, body: unknown) {
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
    return { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: b.to, wa_id: b.to }], messages: [{ id: wamid }] } };
  }

  sentTo(waId: string): GraphSend[] {
    return this.sends.filter((s) => s.to === waId);
  }

  static graphError(status: number, code: number, message: string) {
    return { status, body: { error: { message, type: 'OAuthException', code, fbtrace_id: 'test' } } };
  }
}
