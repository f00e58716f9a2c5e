import { Router } from 'express';
import { z } from 'zod';
import { idsOf } from '../../temporal/workflow-ids';
import { handbackUpdate, takeoverUpdate } from '../../workflows/definitions';
import { updateChat } from '../chat-updates';
import { CONVERSATION_WRITE, actorOf } from '../conversation-access';
import { MediaField, MessageText, checkOutbound, outboundWaId, sendThroughChat } from '../conversation-send';
import type { AppDeps } from '../deps';
import { TemplateRef } from '../outbound-template';
import { phoneField } from '../phone';
import { route } from '../route-doc';
import { NumberIdField, chatNumberFor, chatRefByPhone } from '../chat-ref';

/** Seed 001 clients send `operator`; it is accepted and ignored: the caller is who is recorded. */
const IgnoredOperator = z.string().max(100).optional().describe('Ignored: the authenticated caller (user id or API key name) is recorded as the operator');

const ModeBody = z.object({ phone: phoneField, number_id: NumberIdField.optional(), operator: IgnoredOperator });

const MessageBody = z
  .object({
    phone: z.string({ error: 'Phone number is required' }).min(1, 'Phone number is required').max(40),
    number_id: NumberIdField.optional(),
    operator: IgnoredOperator,
    message: MessageText.nullish(),
    messageId: z.string().nullish(),
    media: MediaField.nullish(),
    template: TemplateRef.nullish(),
  })
  .superRefine((b, ctx) => checkOutbound(b, ctx));

const ModeResponse = (status: string) => z.object({ status: z.literal(status) });
const MessageResponse = z.object({ status: z.literal('success'), message: z.string(), message_id: z.string().describe('The WhatsApp message id') });

const SALES_NOTE = 'Sales may act only in conversations assigned to them (403 otherwise).';

/** Seed 001's operator endpoints, with their documented success bodies. */
export function operatorRouter(deps: AppDeps): Router {
  const { temporal } = deps;
  const ids = idsOf(deps);
  const router = Router();

  router.post(
    '/takeover',
    route(
      {
        summary: 'Take a chat over from the bot',
        description: `From now on no LLM call is made for this chat: a pending burst is dropped from bot handling and a reply being generated is not sent. Inbound messages are still recorded. A closed conversation is reopened; a user taking over an unassigned one becomes its assignee. ${SALES_NOTE}`,
        access: CONVERSATION_WRITE,
        body: ModeBody,
        responses: { 200: { description: 'The operator holds the chat', schema: ModeResponse('takeover_complete') } },
        errors: ['NOT_FOUND', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ req, body }) => {
        const actor = actorOf(req);
        const chat = await chatRefByPhone(deps, body.phone, body.number_id);
        await updateChat(temporal, ids, chat, takeoverUpdate, { operator: actor.operator, actor }, 10_000);
        return { status: 'takeover_complete' };
      },
    ),
  );

  router.post(
    '/handback',
    route(
      {
        summary: 'Hand a chat back to the bot',
        description: `The bot answers the next inbound message. ${SALES_NOTE}`,
        access: CONVERSATION_WRITE,
        body: ModeBody,
        responses: { 200: { description: 'The bot holds the chat again', schema: ModeResponse('handback_complete') } },
        errors: ['NOT_FOUND', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ req, body }) => {
        const actor = actorOf(req);
        const chat = await chatRefByPhone(deps, body.phone, body.number_id);
        await updateChat(temporal, ids, chat, handbackUpdate, { operator: actor.operator, actor }, 10_000);
        return { status: 'handback_complete' };
      },
    ),
  );

  router.post(
    '/operator-message',
    route(
      {
        summary: 'Send a message (text, media by id or link, or a template) as an operator',
        description: `Sent through the chat's workflow, so it is recorded and joins the LLM context; a number that never wrote gets its conversation started (seed 001). Outside the 24-hour customer service window, and to a new number, only an APPROVED template is sent: free text is refused with 409. An Idempotency-Key header makes a retry send nothing more. ${SALES_NOTE}`,
        access: CONVERSATION_WRITE,
        body: MessageBody,
        responses: { 200: { description: 'Sent', schema: MessageResponse } },
        errors: ['CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ req, body }) => {
        const number = await chatNumberFor(deps, body.number_id);
        const { wamid } = await sendThroughChat(deps, req, { waId: await outboundWaId(deps, body.phone), number }, body);
        return { status: 'success', message: 'Message sent', message_id: wamid };
      },
    ),
  );

  return router;
}
