import { z } from 'zod';
import type { Receipt } from '../../db/messages';
import type { InboundMessage, MediaInfo } from '../../workflows/definitions';

// Only the fields we use are described; Meta adds fields over time and unknown ones must not fail.
const Media = z
  .object({ id: z.string().optional(), mime_type: z.string().optional(), sha256: z.string().optional(), caption: z.string().optional(), filename: z.string().optional(), voice: z.boolean().optional() })
  .loose();

const Message = z
  .object({
    id: z.string().min(1),
    from: z.string().regex(/^\d{5,20}$/),
    timestamp: z.string().regex(/^\d+$/),
    type: z.string(),
    text: z.object({ body: z.string() }).loose().optional(),
    image: Media.optional(),
    video: Media.optional(),
    audio: Media.optional(),
    document: Media.optional(),
    sticker: Media.optional(),
    location: z.object({ latitude: z.number(), longitude: z.number(), name: z.string().optional(), address: z.string().optional() }).loose().optional(),
    interactive: z
      .object({
        type: z.string(),
        button_reply: z.object({ id: z.string(), title: z.string() }).loose().optional(),
        list_reply: z.object({ id: z.string(), title: z.string(), description: z.string().optional() }).loose().optional(),
      })
      .loose()
      .optional(),
    button: z.object({ text: z.string(), payload: z.string().optional() }).loose().optional(),
    reaction: z.object({ message_id: z.string().optional(), emoji: z.string().optional() }).loose().optional(),
    contacts: z.array(z.object({ name: z.object({ formatted_name: z.string().optional() }).loose().optional(), phones: z.array(z.object({ phone: z.string().optional() }).loose()).optional() }).loose()).optional(),
  })
  .loose();

const Status = z
  .object({
    id: z.string().min(1),
    status: z.enum(['sent', 'delivered', 'read', 'failed']),
    timestamp: z.string().regex(/^\d+$/),
    recipient_id: z.string().optional(),
    biz_opaque_callback_data: z.string().optional(),
    errors: z.array(z.unknown()).optional(),
  })
  .loose();

const Value = z
  .object({
    contacts: z.array(z.object({ wa_id: z.string(), profile: z.object({ name: z.string().optional() }).loose().optional() }).loose()).optional(),
    messages: z.array(Message).optional(),
    statuses: z.array(Status).optional(),
  })
  .loose();

export const MetaWebhookSchema = z
  .object({
    object: z.string(),
    entry: z.array(z.object({ changes: z.array(z.object({ field: z.string().optional(), value: Value }).loose()).default([]) }).loose()),
  })
  .loose();

export interface ParsedWebhook {
  messages: InboundMessage[];
  receipts: Receipt[];
  /** Events that were validly signed but are not something we act on, for the log. */
  ignored: string[];
}

type MetaMessage = z.infer<typeof Message>;

export function parseMetaWebhook(payload: z.infer<typeof MetaWebhookSchema>): ParsedWebhook {
  const out: ParsedWebhook = { messages: [], receipts: [], ignored: [] };
  if (payload.object !== 'whatsapp_business_account') {
    out.ignored.push(`object ${payload.object}`);
    return out;
  }
  for (const entry of payload.entry) {
    for (const change of entry.changes) {
      if (change.field && change.field !== 'messages') {
        out.ignored.push(`field ${change.field}`);
        continue;
      }
      const names = new Map((change.value.contacts ?? []).map((c) => [c.wa_id, c.profile?.name]));
      for (const m of change.value.messages ?? []) out.messages.push(toInbound(m, names.get(m.from)));
      for (const s of change.value.statuses ?? []) {
        out.receipts.push({
          wamid: s.id,
          status: s.status,
          recipientId: s.recipient_id,
          callbackData: s.biz_opaque_callback_data,
          occurredAt: new Date(Number(s.timestamp) * 1000),
          errors: s.errors,
        });
      }
    }
  }
  return out;
}

function toInbound(m: MetaMessage, contactName: string | undefined): InboundMessage {
  const base = { wamid: m.id, waId: m.from, sentAt: Number(m.timestamp) * 1000, type: m.type, contactName };
  const { text, media, answerable } = describe(m);
  return { ...base, text, ...(media ? { media } : {}), answerable };
}

function mediaOf(raw: z.infer<typeof Media>): MediaInfo {
  return { id: raw.id, mimeType: raw.mime_type, sha256: raw.sha256, caption: raw.caption, filename: raw.filename };
}

/** What the LLM reads for each kind of message: captions, file names, places and button titles. */
function describe(m: MetaMessage): { text: string; media?: MediaInfo; answerable: boolean } {
  const withCaption = (label: string, caption?: string) => (caption ? `${label} ${caption}` : label);
  switch (m.type) {
    case 'text':
      return { text: m.text?.body ?? '', answerable: true };
    case 'image':
    case 'video':
    case 'sticker':
      return { text: withCaption(`[${m.type}]`, m[m.type]?.caption), media: mediaOf(m[m.type] ?? {}), answerable: true };
    case 'audio':
      return { text: m.audio?.voice ? '[voice message]' : '[audio]', media: mediaOf(m.audio ?? {}), answerable: true };
    case 'document':
      return {
        text: withCaption(`[document${m.document?.filename ? `: ${m.document.filename}` : ''}]`, m.document?.caption),
        media: mediaOf(m.document ?? {}),
        answerable: true,
      };
    case 'location': {
      const l = m.location;
      const place = [l?.name, l?.address].filter(Boolean).join(', ');
      return { text: `[location${place ? `: ${place}` : ''}${l ? ` (${l.latitude}, ${l.longitude})` : ''}]`, answerable: true };
    }
    case 'interactive': {
      const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
      return { text: reply ? reply.title : '[interactive reply]', answerable: true };
    }
    case 'button':
      return { text: m.button?.text ?? '[button]', answerable: true };
    case 'contacts': {
      const cards = (m.contacts ?? []).map((c) => [c.name?.formatted_name, ...(c.phones ?? []).map((p) => p.phone)].filter(Boolean).join(' '));
      return { text: `[contact card: ${cards.join('; ') || 'empty'}]`, answerable: true };
    }
    case 'reaction':
      return { text: `[reaction ${m.reaction?.emoji ?? 'removed'}]`, answerable: false };
    default:
      // system notices, unsupported types, orders: kept on record, never answered by the bot.
      return { text: `[${m.type} message]`, answerable: false };
  }
}
