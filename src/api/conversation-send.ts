import { WorkflowNotFoundError } from '@temporalio/client';
import type { Request } from 'express';
import { z } from 'zod';
import { mediaKind } from '../channels/types';
import { normalizePhone } from '../contacts/phone-number';
import { idsOf } from '../temporal/workflow-ids';
import { operatorMessageUpdate, type OperatorMessageResult } from '../workflows/definitions';
import { updateChat } from './chat-updates';
import { getConversationByWaId } from '../db/conversation-queries';
import { actorOf, idempotencyOf } from './conversation-access';
import { lifecycleOfRow } from './conversation-view';
import type { AppDeps } from './deps';
import { HttpError } from './errors';
import { TemplateRef, resolveTemplate } from './outbound-template';
import { mediaOfFile } from './file-media';
import { chatNumberFor, type ChatRef } from './chat-ref';

export const MessageText = z.string().max(4096, 'message may be at most 4096 characters');

export const MediaField = z
  .object({
    id: z.string().min(1).optional(),
    // WhatsApp fetches the link itself; a plain-http (or any other scheme) link is refused here, not by Meta later.
    link: z
      .url({ protocol: /^https$/, error: 'media.link must be an https:// URL' })
      .max(2048)
      .optional(),
    mimeType: z.string().min(3).optional(),
    caption: z.string().max(1024).optional(),
    filename: z.string().max(240).optional(),
    // A file uploaded with POST /api/v1/files/upload: its provider id (or link) and stored type are sent.
    file_id: z.string().min(1).max(64).optional().describe('A file uploaded with POST /api/v1/files/upload; its stored type and name are used'),
  })
  .refine((m) => [m.id, m.link, m.file_id].filter(Boolean).length === 1, 'media needs exactly one of id, link or file_id');

/** What an operator sends: text, media (text becomes its caption), or an approved template. */
export interface OutboundContent {
  message?: string | null;
  media?: z.infer<typeof MediaField> | null;
  template?: TemplateRef | null;
}

/** The rules across fields, for any body that carries OutboundContent (zod superRefine). */
export function checkOutbound(b: OutboundContent, ctx: z.RefinementCtx, required = true): void {
  const text = b.message?.trim();
  if (b.template && (text || b.media)) {
    ctx.addIssue({ code: 'custom', message: 'a template is sent on its own: give template, or message and/or media', path: ['template'] });
    return;
  }
  if (required && !text && !b.media && !b.template) {
    ctx.addIssue({ code: 'custom', message: 'Message text, media or a template is required', path: ['message'] });
    return;
  }
  // With media the message becomes its caption: WhatsApp sends one message, text on the media.
  if (!b.media || !text) return;
  const kind = mediaKind(b.media.mimeType);
  const problem = b.media.caption
    ? 'give the text as message or as media.caption, not both'
    : kind === 'audio' || kind === 'sticker'
      ? `WhatsApp cannot put text on ${kind}; send the message separately`
      : text.length > 1024
        ? 'a message sent with media is its caption, at most 1024 characters'
        : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['message'] });
}

export const hasContent = (b: OutboundContent) => Boolean(b.message?.trim() || b.media || b.template);

/**
 * The WhatsApp id a business-started conversation goes to: a valid international number
 * (libphonenumber), or the number of a conversation we already have (WhatsApp's word beats the
 * library's tables). Seed 000's `573107601252@c.us` form is accepted.
 */
export async function outboundWaId(deps: AppDeps, raw: string): Promise<string> {
  const given = raw.trim().replace(/@(c\.us|s\.whatsapp\.net)$/i, '');
  const parsed = normalizePhone(given);
  if (parsed.ok) return parsed.waId;
  const digits = given.replace(/[\s\-().+]/g, '');
  if (/^\d{6,15}$/.test(digits)) {
    const known = await deps.db.selectFrom('conversations').select('wa_id').where('wa_id', '=', digits).executeTakeFirst();
    if (known) return known.wa_id;
  }
  throw new HttpError('VALIDATION_ERROR', `phone: ${parsed.reason}`);
}

/**
 * Free text to a number we have never heard from is refused before anything starts: no row in
 * Postgres and no chat running. Otherwise the chat decides against its own state (a message that
 * arrived a moment ago is in the chat before it is in Postgres), and answers 409 just the same.
 */
async function refuseFreeTextToStranger(deps: AppDeps, { waId, number }: ChatRef, content: OutboundContent, known: boolean): Promise<void> {
  if (content.template || known) return;
  try {
    const { status } = await deps.temporal.workflow.getHandle(idsOf(deps).chat(waId, number?.id)).describe();
    if (status.name === 'RUNNING') return;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  throw new HttpError('CONFLICT', `${waId} has never written to us, so WhatsApp only delivers an approved template: send template instead of free text`, {
    reason: 'outside_24h_window',
  });
}

/**
 * Sends an operator's message through the chat (starting it for a number that never wrote), with
 * the request's Idempotency-Key: a repeat answers the first message and sends nothing, and the
 * same key for a different message is a 409.
 */
export async function sendThroughChat(
  deps: AppDeps,
  req: Request,
  chat: ChatRef,
  content: OutboundContent,
): Promise<OperatorMessageResult & { replayed: boolean }> {
  const { waId, number } = chat;
  const numberId = number?.id ?? 1;
  const idem = idempotencyOf(req, chat);
  if (idem) {
    const earlier = await deps.db
      .selectFrom('messages')
      .select(['wamid', 'message_type', 'content'])
      .where('client_key', '=', idem.clientKey)
      .executeTakeFirst();
    if (earlier?.wamid) {
      const kind = earlier.message_type === 'text' ? 'text' : earlier.message_type === 'template' ? 'template' : 'media';
      const askedKind = content.template ? 'template' : content.media ? 'media' : 'text';
      if (kind !== askedKind || (kind === 'text' && earlier.content !== content.message)) {
        throw new HttpError('CONFLICT', 'This Idempotency-Key was used for a different message; use a new key for a new message', {
          reason: 'idempotency_key_reused',
        });
      }
      return { wamid: earlier.wamid, kind, replayed: true };
    }
  }
  // A disabled number sends nothing (400), whether the conversation was named by id or by number.
  await chatNumberFor(deps, numberId);
  const row = await getConversationByWaId(deps.db, waId, numberId);
  await refuseFreeTextToStranger(deps, chat, content, row !== undefined);
  if (content.media?.file_id && numberId !== 1) {
    // Uploads are kept with the default number's provider (POST /api/v1/files/upload); another number cannot send them.
    throw new HttpError(
      'VALIDATION_ERROR',
      'media.file_id: uploaded files are sent from the default number only; send this media by link (media.link) instead',
    );
  }
  const template = content.template ? await resolveTemplate(deps.db, content.template, waId) : undefined;
  const text = content.message?.trim() ? content.message : undefined;
  // media.file_id becomes the provider's media id (or Twilio link) here, so the chat sends a fixed reference.
  const given = content.media?.file_id ? await mediaOfFile(deps, content.media, text) : content.media;
  const media = given ? { ...given, ...(text ? { caption: text } : {}) } : undefined;
  const actor = actorOf(req);
  const result = await updateChat(
    deps.temporal,
    idsOf(deps),
    chat,
    operatorMessageUpdate,
    {
      operator: actor.operator,
      actor,
      ...(template ? { template } : media ? { media } : { text }),
      ...(idem ? { clientKey: idem.clientKey } : {}),
    },
    {
      timeoutMs: 60_000,
      // A conversation whose chat is gone starts again with the inbox state Postgres has for it.
      start: { taskQueue: deps.taskQueue, ...(row ? { lifecycle: lifecycleOfRow(row) } : {}) },
      ...(idem ? { updateId: idem.updateId } : {}),
    },
  );
  return { ...result, kind: result.kind ?? (template ? 'template' : media ? 'media' : 'text'), replayed: false };
}
