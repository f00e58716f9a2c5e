import { Router } from 'express';
import { z } from 'zod';
import { mediaKind } from '../../channels/types';
import { idsOf } from '../../temporal/workflow-ids';
import { handbackUpdate, operatorMessageUpdate, takeoverUpdate } from '../../workflows/definitions';
import { operatorOf } from '../auth';
import { updateChat } from '../chat-updates';
import type { AppDeps } from '../deps';
import { phoneField } from '../phone';
import { routeAccess } from '../route-doc';

/** Seed 001 clients send `operator`; it is accepted and ignored: the caller is who is recorded. */
const IgnoredOperator = z.string().max(100).optional().describe('Ignored: the authenticated caller (user id or API key name) is recorded as the operator');

const ModeBody = z.object({ phone: phoneField, operator: IgnoredOperator });

const MessageBody = z
  .object({
    phone: phoneField,
    operator: IgnoredOperator,
    message: z.string().max(4096, 'message may be at most 4096 characters').nullish(),
    messageId: z.string().nullish(),
    media: z
      .object({
        id: z.string().min(1).optional(),
        // WhatsApp fetches the link itself; a plain-http (or any other scheme) link is refused here, not by Meta later.
        link: z.url({ protocol: /^https$/, error: 'media.link must be an https:// URL' }).max(2048).optional(),
        mimeType: z.string().min(3).optional(),
        caption: z.string().max(1024).optional(),
        filename: z.string().max(240).optional(),
      })
      .refine((m) => Boolean(m.id) !== Boolean(m.link), 'media needs exactly one of id or link')
      .nullish(),
  })
  .refine((b) => Boolean(b.message?.trim()) || Boolean(b.media), { message: 'Message text or media is required', path: ['message'] })
  .superRefine((b, ctx) => {
    // With media the message becomes its caption: WhatsApp sends one message, text on the media.
    if (!b.media || !b.message?.trim()) return;
    const kind = mediaKind(b.media.mimeType);
    const problem = b.media.caption
      ? 'give the text as message or as media.caption, not both'
      : kind === 'audio' || kind === 'sticker'
        ? `WhatsApp cannot put text on ${kind}; send the message separately`
        : b.message.length > 1024
          ? 'a message sent with media is its caption, at most 1024 characters'
          : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['message'] });
  });

const ModeResponse = (status: string) => z.object({ status: z.literal(status) });
const MessageResponse = z.object({ status: z.literal('success'), message: z.string(), message_id: z.string().describe('The WhatsApp message id') });

/** Seed 001's operator endpoints, with their documented success bodies. */
export function operatorRouter(deps: AppDeps): Router {
  const { temporal } = deps;
  const ids = idsOf(deps);
  const router = Router();
  const operator = ['operator'] as const;

  router.post(
    '/takeover',
    routeAccess({
      summary: 'Take a chat over from the bot',
      description:
        'From now on no LLM call is made for this chat: a pending burst is dropped from bot handling and a reply being generated is not sent. Inbound messages are still recorded.',
      access: operator,
      body: ModeBody,
      responses: { 200: { description: 'The operator holds the chat', schema: ModeResponse('takeover_complete') } },
      errors: ['NOT_FOUND', 'EXTERNAL_SERVICE_ERROR'],
    }),
    async (req, res) => {
    const body = ModeBody.parse(req.body ?? {});
    await updateChat(temporal, ids, body.phone, takeoverUpdate, { operator: operatorOf(req.principal) }, 10_000);
    res.json({ status: 'takeover_complete' });
  });

  router.post(
    '/handback',
    routeAccess({
      summary: 'Hand a chat back to the bot',
      description: 'The bot answers the next inbound message.',
      access: operator,
      body: ModeBody,
      responses: { 200: { description: 'The bot holds the chat again', schema: ModeResponse('handback_complete') } },
      errors: ['NOT_FOUND', 'EXTERNAL_SERVICE_ERROR'],
    }),
    async (req, res) => {
    const body = ModeBody.parse(req.body ?? {});
    await updateChat(temporal, ids, body.phone, handbackUpdate, { operator: operatorOf(req.principal) }, 10_000);
    res.json({ status: 'handback_complete' });
  });

  router.post(
    '/operator-message',
    routeAccess({
      summary: 'Send a message (text or media by id or link) as an operator',
      description:
        "Sent through the chat's workflow, so it is recorded and joins the LLM context. Outside the 24-hour customer service window free-form messages are refused with 409: use a template.",
      access: operator,
      body: MessageBody,
      responses: { 200: { description: 'Sent', schema: MessageResponse } },
      errors: ['NOT_FOUND', 'CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
    }),
    async (req, res) => {
    const body = MessageBody.parse(req.body ?? {});
    const text = body.message?.trim() ? body.message : undefined;
    const media = body.media ? { ...body.media, ...(text ? { caption: text } : {}) } : undefined;
    const { wamid } = await updateChat(
      temporal,
      ids,
      body.phone,
      operatorMessageUpdate,
      { operator: operatorOf(req.principal), text: media ? undefined : text, media },
      60_000,
    );
    res.json({ status: 'success', message: 'Message sent', message_id: wamid });
  });

  return router;
}
