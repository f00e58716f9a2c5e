import { SendError, type OutboundContent, type SendOptions, type SendResult, type WhatsAppSender } from './types';

export interface TwilioOptions {
  /** https://api.twilio.com, or a local stand-in. */
  baseUrl: string;
  accountSid: string;
  authToken: string;
  /** The business's WhatsApp number: +14155238886, 14155238886 or whatsapp:+14155238886. */
  from: string;
  /** The API's public URL: when set, Twilio posts delivery statuses to {publicBaseUrl}/webhooks/twilio/status. */
  publicBaseUrl?: string;
  timeoutMs?: number;
}

/** Query parameter of the status callback URL carrying our send key, Twilio's stand-in for Meta's callback data. */
export const SEND_KEY_PARAM = 'key';

// Twilio's "Too Many Requests" error code; any 429 or 5xx is retried anyway.
const THROTTLE_CODES = new Set([20429]);
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** Twilio Programmable Messaging for WhatsApp: POST /2010-04-01/Accounts/{sid}/Messages.json. */
export class TwilioSender implements WhatsAppSender {
  readonly provider = 'twilio';
  private readonly from: string;
  constructor(private readonly options: TwilioOptions) {
    this.from = `whatsapp:+${options.from.replace(/^whatsapp:/i, '').replace(/\D/g, '')}`;
  }

  async send(to: string, content: OutboundContent, options: SendOptions = {}): Promise<SendResult> {
    const { baseUrl, accountSid, authToken, publicBaseUrl } = this.options;
    const form = new URLSearchParams({ From: this.from, To: `whatsapp:+${to.replace(/\D/g, '')}` });
    for (const [name, value] of messageParams(content)) form.append(name, value);
    if (publicBaseUrl) {
      const key = options.callbackData ? `?${SEND_KEY_PARAM}=${encodeURIComponent(options.callbackData)}` : '';
      form.set('StatusCallback', `${publicBaseUrl.replace(/\/+$/, '')}/webhooks/twilio/status${key}`);
    }
    const url = `${baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
    } catch (err) {
      // As with Graph: only a connection never made is known not to have sent anything.
      const code = ((err as Error).cause as { code?: string } | undefined)?.code;
      const neverConnected = code !== undefined && NOT_CONNECTED.has(code);
      throw new SendError(`Twilio unreachable: ${(err as Error).message}`, true, undefined, undefined, !neverConnected);
    }
    const body = (await res.json().catch(() => ({}))) as TwilioResponse;
    if (res.ok && body.sid) return { wamid: body.sid };
    const code = typeof body.code === 'number' ? body.code : undefined;
    const message = `Twilio ${res.status}${code ? ` code ${code}` : ''}: ${body.message ?? 'no message sid in response'}`;
    const retryAfter = Number(res.headers.get('retry-after'));
    const retryable = res.status >= 500 || res.status === 429 || (code !== undefined && THROTTLE_CODES.has(code));
    throw new SendError(message, retryable, code, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
  }
}

interface TwilioResponse {
  sid?: string;
  code?: number;
  message?: string;
}

function messageParams(content: OutboundContent): [string, string][] {
  if (content.kind === 'text') return [['Body', content.text]];
  // Outside the 24 h window WhatsApp only takes approved templates, which Twilio sends as Content
  // templates (ContentSid + ContentVariables) that we do not map; the rendered text goes out as a
  // plain Body. Inside the window that works; outside it Twilio answers 63016, which is 4xx and
  // therefore not retried.
  if (content.kind === 'template') return [['Body', content.template.text]];
  const { media } = content;
  if (!media.link) {
    throw new SendError(`Twilio sends media by public URL only; media ${media.id ?? '(none)'} has no link (WhatsApp media ids are a Meta Graph thing)`, false);
  }
  return [['MediaUrl', media.link], ...(media.caption ? ([['Body', media.caption]] as [string, string][]) : [])];
}
