import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';
import { twilioSignature } from '../../src/api/webhook/twilio-signature';
import { HttpFake, type Fault } from './http-fake';

export interface TwilioSend {
  at: number;
  sid: string;
  to: string;
  from: string;
  body?: string;
  mediaUrls: string[];
  statusCallback?: string;
  params: Record<string, string>;
}

/** What Twilio got when it fetched a message's MediaUrl. */
export interface TwilioMediaFetch {
  url: string;
  status: number;
  contentType: string | null;
  size: number;
  sha256: string;
}

export const twilioSid = (prefix: 'SM' | 'MM' | 'AC' | 'ME') => `${prefix}${randomBytes(16).toString('hex')}`;

/**
 * Twilio Messages API stand-in: POST /2010-04-01/Accounts/{sid}/Messages.json with basic auth and a
 * form body, answering 201 and a message resource like Twilio does (or its error JSON).
 */
export class FakeTwilio extends HttpFake {
  readonly sends: TwilioSend[] = [];
  /** Like Twilio, fetch each MediaUrl of a send before answering (off by default: other tests' links lead nowhere). */
  fetchMedia = false;
  readonly mediaFetches: TwilioMediaFetch[] = [];
  /** GET requests for the account's numbers (a number's check), with their Authorization header. */
  readonly lookups: { url: string; authorization?: string }[] = [];

  constructor(
    readonly accountSid: string,
    readonly authToken: string,
    /** The business number the account owns, E.164: a From other than whatsapp:<it> is refused (63007). */
    readonly from: string,
  ) {
    super();
  }

  protected async handle(req: http.IncomingMessage, body: unknown) {
    if (req.method === 'GET') return this.incomingPhoneNumbers(req);
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return FakeTwilio.twilioError(404, 20404, 'The requested resource was not found');
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    if (req.headers.authorization !== expected || match[1] !== this.accountSid) return FakeTwilio.twilioError(401, 20003, 'Authenticate');
    if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      return FakeTwilio.twilioError(400, 20001, 'Unsupported content type');
    }
    const form = new URLSearchParams(typeof body === 'string' ? body : '');
    const to = form.get('To') ?? '';
    const from = form.get('From') ?? '';
    if (!/^whatsapp:\+\d{5,20}$/.test(to)) return FakeTwilio.twilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (from !== `whatsapp:${this.from}`) return FakeTwilio.twilioError(400, 63007, 'Twilio could not find a Channel with the specified From address');
    const mediaUrls = form.getAll('MediaUrl');
    if (!form.get('Body') && mediaUrls.length === 0) return FakeTwilio.twilioError(400, 21602, 'Message body is required');

    if (this.fetchMedia) {
      for (const url of mediaUrls) {
        const res = await fetch(url).catch(() => undefined);
        const bytes = res ? Buffer.from(await res.arrayBuffer()) : Buffer.alloc(0);
        this.mediaFetches.push({
          url,
          status: res?.status ?? 0,
          contentType: res?.headers.get('content-type') ?? null,
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        });
        // Twilio takes the message and fails it later (11200) when the media cannot be had; refused here at once.
        if (!res?.ok) return FakeTwilio.twilioError(400, 11200, `HTTP retrieval failure: ${url}`);
      }
    }
    const send: TwilioSend = {
      at: Date.now(),
      sid: twilioSid(mediaUrls.length ? 'MM' : 'SM'),
      to,
      from,
      body: form.get('Body') ?? undefined,
      mediaUrls,
      statusCallback: form.get('StatusCallback') ?? undefined,
      params: Object.fromEntries(form),
    };
    this.sends.push(send);
    const now = new Date().toUTCString();
    return {
      status: 201,
      body: {
        sid: send.sid,
        account_sid: this.accountSid,
        api_version: '2010-04-01',
        body: send.body ?? '',
        date_created: now,
        date_updated: now,
        date_sent: null,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from,
        to,
        num_media: String(mediaUrls.length),
        num_segments: '1',
        status: 'queued',
        uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${send.sid}.json`,
      },
    };
  }

  /**
   * GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json?PhoneNumber=+<digits>: the account's
   * numbers matching, as validate-config reads them. The account owns `from` only.
   */
  private incomingPhoneNumbers(req: http.IncomingMessage) {
    this.lookups.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const url = new URL(req.url ?? '/', 'http://twilio.local');
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/IncomingPhoneNumbers\.json$/.exec(url.pathname);
    if (!match) return FakeTwilio.twilioError(404, 20404, 'The requested resource was not found');
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    if (req.headers.authorization !== expected || match[1] !== this.accountSid) return FakeTwilio.twilioError(401, 20003, 'Authenticate');
    const wanted = url.searchParams.get('PhoneNumber');
    const owned = [{ sid: `PN${'0'.repeat(32)}`, account_sid: this.accountSid, phone_number: this.from, friendly_name: 'Test WhatsApp number' }];
    const listed = wanted ? owned.filter((n) => n.phone_number === wanted) : owned;
    return { status: 200, body: { incoming_phone_numbers: listed, page: 0, page_size: 50, start: 0, end: listed.length - 1 } };
  }

  sentTo(waId: string): TwilioSend[] {
    return this.sends.filter((s) => s.to === `whatsapp:+${waId}`);
  }

  /** Like Twilio: POSTs a signed status callback for a send to the StatusCallback URL it was given. */
  async postStatus(send: TwilioSend, status: string, extra: Record<string, string> = {}): Promise<Response> {
    if (!send.statusCallback) throw new Error(`send ${send.sid} has no StatusCallback`);
    const params: Record<string, string> = {
      AccountSid: this.accountSid,
      ApiVersion: '2010-04-01',
      ChannelPrefix: 'whatsapp',
      From: send.from,
      To: send.to,
      MessageSid: send.sid,
      SmsSid: send.sid,
      MessageStatus: status,
      SmsStatus: status,
      ...extra,
    };
    return fetch(send.statusCallback, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(this.authToken, send.statusCallback, params),
      },
      body: new URLSearchParams(params).toString(),
    });
  }

  static twilioError(status: number, code: number, message: string, headers?: Record<string, string>): Fault {
    return { status, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, ...(headers ? { headers } : {}) };
  }
}
