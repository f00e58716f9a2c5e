import { z } from 'zod';
import type { Receipt } from '../../db/messages';
import type { InboundMessage, MediaInfo } from '../../workflows/definitions';
import { cleanText } from '../../db/clean-text';
import { MAX_ID_LENGTH, boundInbound, cleanJson, plausibleTime } from './inbound-bounds';

// Only the fields we use are described; Meta adds fields over time and unknown ones must not fail.
const Media = z
  .object({
    id: z.string().optional(),
    mime_type: z.string().optional(),
    sha256: z.string().optional(),
    caption: z.string().optional(),
    filename: z.string().optional(),
    voice: z.boolean().optional(),
  })
  .loose();

const Message = z
  .object({
    id: z.string().min(1).max(MAX_ID_LENGTH),
    from: z.string().regex(/^\d{5,20}$/),
    // Checked for plausibility, not shape: an odd timestamp must not cost the message (see boundInbound).
    timestamp: z.union([z.string(), z.number()]).optional(),
    type: z.string().default('unknown'),
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
    contacts: z
      .array(
        z
          .object({
            name: z.object({ formatted_name: z.string().optional() }).loose().optional(),
            phones: z.array(z.object({ phone: z.string().optional() }).loose()).optional(),
          })
          .loose(),
      )
      .optional(),
  })
  .loose();

const Status = z
  .object({
    id: z.string().min(1).max(MAX_ID_LENGTH),
    status: z.enum(['sent', 'delivered', 'read', 'failed']),
    timestamp: z.union([z.string(), z.number()]).optional(),
    recipient_id: z.string().max(64).optional(),
    biz_opaque_callback_data: z.string().max(512).optional(),
    errors: z.array(z.unknown()).max(20).optional(),
  })
  .loose();

const Contact = z.object({ wa_id: z.string(), profile: z.object({ name: z.string().optional() }).loose().optional() }).loose();

/**
 * The envelope only: each message, status and contact is checked on its own (parseMetaWebhook),
 * so one element we cannot use is logged and skipped while the rest of the batch is processed.
 * Meta never resends a batch it got 200 for, and it must get 200 or it resends the valid ones too.
 */
export const MetaWebhookSchema = z
  .object({
    object: z.string(),
    entry: z.array(
      z
        .object({
          changes: z
            .array(
              z
                .object({
                  field: z.string().optional(),
                  value: z
                    .object({ contacts: z.array(z.unknown()).optional(), messages: z.array(z.unknown()).optional(), statuses: z.array(z.unknown()).optional() })
                    .loose()
                    .describe('contacts[], messages[] and statuses[] as Meta documents them; each element is validated on its own'),
                })
                .loose(),
            )
            .default([]),
        })
        .loose(),
    ),
  })
  .loose();

/** An element of the batch that was left out, and why (logged and counted; the rest went on). */
export interface SkippedElement {
  kind: 'message' | 'status' | 'contact';
  id?: string;
  reason: string;
}

export interface ParsedWebhook {
  messages: InboundMessage[];
  /** Per message wamid, the business number it was sent to (metadata.phone_number_id). */
  addressedTo: Map<string, string | undefined>;
  receipts: Receipt[];
  /** Events that were validly signed but are not something we act on, for the log. */
  ignored: string[];
  skipped: SkippedElement[];
}

type MetaMessage = z.infer<typeof Message>;

export function parseMetaWebhook(payload: z.infer<typeof MetaWebhookSchema>, receivedAt: number = Date.now()): ParsedWebhook {
  const out: ParsedWebhook = { messages: [], addressedTo: new Map(), receipts: [], ignored: [], skipped: [] };
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
      const names = new Map<string, string | undefined>();
      for (const raw of change.value.contacts ?? []) {
        const c = checked(Contact, raw, 'contact', out.skipped);
        if (c) names.set(c.wa_id, c.profile?.name);
      }
      const metadata = (change.value as { metadata?: { phone_number_id?: unknown } }).metadata;
      const to = typeof metadata?.phone_number_id === 'string' ? metadata.phone_number_id : undefined;
      for (const raw of change.value.messages ?? []) {
        const m = checked(Message, raw, 'message', out.skipped);
        if (!m) continue;
        const inbound = boundInbound(toInbound(m, names.get(m.from)), receivedAt, m.timestamp === undefined ? undefined : String(m.timestamp));
        out.messages.push(inbound);
        out.addressedTo.set(inbound.wamid, to);
      }
      for (const raw of change.value.statuses ?? []) {
        const s = checked(Status, raw, 'status', out.skipped);
        if (!s) continue;
        out.receipts.push({
          wamid: s.id,
          status: s.status,
          recipientId: s.recipient_id === undefined ? undefined : cleanText(s.recipient_id),
          callbackData: s.biz_opaque_callback_data === undefined ? undefined : cleanText(s.biz_opaque_callback_data),
          occurredAt: new Date(plausibleTime(epochMs(s.timestamp), receivedAt) ? epochMs(s.timestamp) : receivedAt),
          errors: s.errors === undefined ? undefined : (cleanJson(s.errors) as unknown[]),
        });
      }
    }
  }
  return out;
}

function checked<T>(schema: z.ZodType<T>, raw: unknown, kind: SkippedElement['kind'], skipped: SkippedElement[]): T | undefined {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const id = (raw as { id?: unknown; wa_id?: unknown } | null)?.id ?? (raw as { wa_id?: unknown } | null)?.wa_id;
  const issue = result.error.issues[0];
  skipped.push({
    kind,
    ...(typeof id === 'string' ? { id: id.slice(0, MAX_ID_LENGTH) } : {}),
    reason: issue ? `${issue.path.join('.') || kind}: ${issue.message}` : 'not understood',
  });
  return undefined;
}

/** Meta's epoch seconds as milliseconds; NaN when it is not a number at all. */
function epochMs(timestamp: string | number | undefined): number {
  const seconds = typeof timestamp === 'number' ? timestamp : /^\d{1,30}$/.test(timestamp ?? '') ? Number(timestamp) : NaN;
  return seconds * 1000;
}

function toInbound(m: MetaMessage, contactName: string | undefined): InboundMessage {
  const base = { wamid: m.id, waId: m.from, sentAt: epochMs(m.timestamp), type: m.type, contactName };
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
