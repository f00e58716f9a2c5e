import { randomBytes } from 'node:crypto';
import { signBody } from '../../src/api/webhook/signature';

export interface InboundText {
  from: string;
  name: string;
  text: string;
  /** The business number's id, as Meta puts it in value.metadata. */
  phoneNumberId: string;
}

/** A webhook body as Meta sends it for one text message: a fresh wamid, the current time. */
export function inboundTextWebhook(m: InboundText): string {
  const wamid = `wamid.${randomBytes(30).toString('base64')}`;
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '0',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: m.phoneNumberId, phone_number_id: m.phoneNumberId },
              contacts: [{ profile: { name: m.name }, wa_id: m.from }],
              messages: [{ from: m.from, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: m.text } }],
            },
          },
        ],
      },
    ],
  });
}

/** POSTs it to the API's webhook, signed with X-Hub-Signature-256 when there is an app secret. */
export function postWebhook(api: string, body: string, appSecret: string | undefined): Promise<Response> {
  return fetch(`${api}/webhooks/whatsapp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(appSecret ? { 'x-hub-signature-256': signBody(body, appSecret) } : {}) },
    body,
  });
}
