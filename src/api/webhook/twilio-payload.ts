import type { DeliveryStatus } from '../../db/schema';
import type { Receipt } from '../../db/messages';
import { mediaKind } from '../../channels/types';
import type { InboundMessage, MediaInfo } from '../../workflows/definitions';
import { cleanText } from '../../db/clean-text';
import { MAX_ID_LENGTH, boundInbound } from './inbound-bounds';
import type { TwilioParams } from './twilio-signature';

const one = (p: TwilioParams, name: string): string | undefined => {
  const v = p[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
};

/** "whatsapp:+15551234567" → "15551234567"; anything not on WhatsApp (SMS, voice) → undefined. */
export function waIdOf(address: string | undefined): string | undefined {
  return /^whatsapp:\+?(\d{5,20})$/i.exec(address?.trim() ?? '')?.[1];
}

/**
 * An inbound Twilio message as the chat workflow takes it; a string says why it is not one. Twilio
 * sends no timestamp, so the time it reached us stands in for it.
 */
export function parseTwilioInbound(p: TwilioParams, now: number): InboundMessage | string {
  const wamid = one(p, 'MessageSid');
  if (!wamid) return 'no MessageSid';
  if (wamid.length > MAX_ID_LENGTH) return 'MessageSid is too long to be one';
  const fromWaId = waIdOf(one(p, 'From'));
  if (!fromWaId) return `not a WhatsApp sender (${one(p, 'From') ?? 'no From'})`;
  const waIdParam = one(p, 'WaId');
  const waId = waIdParam && /^\d{5,20}$/.test(waIdParam) ? waIdParam : fromWaId;
  // The same bounds as Meta's messages: nothing Postgres would refuse reaches the chat.
  return boundInbound({ wamid, waId, sentAt: now, contactName: one(p, 'ProfileName'), ...describe(p) }, now);
}

/** The same descriptions the Meta webhook gives the LLM: "[image] caption", places, button titles. */
function describe(p: TwilioParams): { type: string; text: string; media?: MediaInfo; answerable: boolean } {
  const body = one(p, 'Body');
  const mediaUrl = Number(one(p, 'NumMedia') ?? 0) > 0 ? one(p, 'MediaUrl0') : undefined;
  if (mediaUrl) {
    const mimeType = one(p, 'MediaContentType0');
    const kind = mediaKind(mimeType);
    const media: MediaInfo = { link: mediaUrl, mimeType, ...(body ? { caption: body } : {}) };
    const label = kind === 'audio' ? '[audio]' : `[${kind}]`;
    return { type: kind, text: body && kind !== 'audio' ? `${label} ${body}` : label, media, answerable: true };
  }
  const latitude = one(p, 'Latitude');
  const longitude = one(p, 'Longitude');
  if (latitude && longitude) {
    const place = [one(p, 'Label'), one(p, 'Address')].filter(Boolean).join(', ');
    return { type: 'location', text: `[location${place ? `: ${place}` : ''} (${Number(latitude)}, ${Number(longitude)})]`, answerable: true };
  }
  const button = one(p, 'ButtonText') ?? one(p, 'ButtonPayload');
  if (button) return { type: 'button', text: button, answerable: true };
  const listTitle = one(p, 'ListTitle');
  if (listTitle) return { type: 'interactive', text: listTitle, answerable: true };
  const messageType = one(p, 'MessageType');
  if (!body && messageType && messageType !== 'text') {
    // Kinds Twilio forwards that we do not describe: kept on record, never answered by the bot.
    return { type: messageType, text: `[${messageType} message]`, answerable: false };
  }
  return { type: 'text', text: body ?? '', answerable: true };
}

const STATUS: Record<string, DeliveryStatus> = {
  queued: 'sent',
  accepted: 'sent',
  scheduled: 'sent',
  sending: 'sent',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
  undelivered: 'failed',
};

/** A status callback as a receipt; a string says why it is not one (e.g. statuses of inbound messages). */
export function parseTwilioStatus(p: TwilioParams, sendKey: string | undefined, now: Date): Receipt | string {
  const wamid = one(p, 'MessageSid');
  const raw = one(p, 'MessageStatus');
  if (!wamid || !raw) return 'no MessageSid or MessageStatus';
  if (wamid.length > MAX_ID_LENGTH) return 'MessageSid is too long to be one';
  const status = STATUS[raw];
  if (!status) return `status ${raw}`;
  const errorCode = one(p, 'ErrorCode');
  const errors =
    status === 'failed'
      ? [
          {
            code: errorCode ? Number(errorCode) : undefined,
            message: cleanText(one(p, 'ErrorMessage') ?? (errorCode ? `Twilio error ${errorCode}` : raw)).slice(0, 1000),
          },
        ]
      : undefined;
  return { wamid, status, recipientId: waIdOf(one(p, 'To')), occurredAt: now, errors, callbackData: sendKey };
}
