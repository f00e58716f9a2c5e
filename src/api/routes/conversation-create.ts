import { Router } from 'express';
import { z } from 'zod';
import { getConversationByWaId } from '../../db/conversation-queries';
import { idsOf } from '../../temporal/workflow-ids';
import { conversationUpdate, type ConversationChange } from '../../workflows/definitions';
import { updateChat } from '../chat-updates';
import { CONVERSATION_WRITE, actorOf, idempotencyOf, requireAssignableUser } from '../conversation-access';
import { MediaField, MessageText, checkOutbound, hasContent, outboundWaId, sendThroughChat } from '../conversation-send';
import { ConversationView, conversationView, lifecycleOfRow } from '../conversation-view';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { TemplateRef } from '../outbound-template';
import { route } from '../route-doc';
import { AssigneeField, PriorityField, TagsField } from './conversation-lifecycle';
import { requireConversation } from '../conversation-lookup';
import { NumberIdField, chatNumberFor, chatRefOfRow } from '../chat-ref';

const SentMessage = z.object({
  message_id: z.string().describe('The WhatsApp message id'),
  kind: z.enum(['text', 'media', 'template']),
});

const CreateBody = z
  .object({
    phone: z.string().max(40).optional().describe('The number with its country code (alias: chat_id, e.g. "573107601252@c.us")'),
    chat_id: z.string().max(60).optional(),
    number_id: NumberIdField.optional(),
    message: MessageText.nullish(),
    initial_message: MessageText.nullish().describe("Seed 000's name for message"),
    media: MediaField.nullish(),
    template: TemplateRef.nullish(),
    tags: TagsField.optional(),
    priority: PriorityField.optional(),
    assigned_to: AssigneeField.optional(),
    metadata: z.object({ priority: PriorityField.optional(), tags: TagsField.optional() }).optional().describe("Seed 000's form of priority and tags"),
  })
  .transform(({ initial_message, chat_id, metadata, ...b }) => ({
    ...b,
    phone: b.phone ?? chat_id,
    message: b.message ?? initial_message,
    tags: b.tags ?? metadata?.tags,
    priority: b.priority ?? metadata?.priority,
  }))
  .superRefine((b, ctx) => {
    if (!b.phone) ctx.addIssue({ code: 'custom', message: 'phone (or chat_id) is required', path: ['phone'] });
    checkOutbound(b, ctx, false);
  });

const MessageBody = z
  .object({ message: MessageText.nullish(), media: MediaField.nullish(), template: TemplateRef.nullish() })
  .superRefine((b, ctx) => checkOutbound(b, ctx));

const Created = z.object({
  conversation: ConversationView,
  message: SentMessage.nullable().describe('The first message, when one was given'),
  created: z.boolean().describe('false when the conversation existed already (200)'),
});

const IDEMPOTENCY =
  'With an Idempotency-Key header (1-255 printable characters), a repeated request sends nothing more and answers the same message id; the same key for a different message is a 409.';

/** Seed 000's POST /conversations and seed 004's POST /conversations/:id/messages: the business writes first. */
export function conversationCreateRouter(deps: AppDeps): Router {
  const router = Router();
  const ids = idsOf(deps);

  router.post(
    '/',
    route(
      {
        summary: 'Start a conversation (or write to an existing one) by number',
        description: `Starts the number's chat if it has none, applies tags, priority and assignee, and sends the first message through the chat. Inside the 24-hour window a free text; outside it, and always to a number that never wrote, an APPROVED template (409 otherwise, with nothing changed). A user who writes to an unassigned conversation becomes its assignee; sales get the conversations they start. ${IDEMPOTENCY}`,
        access: CONVERSATION_WRITE,
        body: CreateBody,
        responses: {
          201: { description: 'Started', schema: Created },
          200: { description: 'The conversation existed already', schema: Created },
        },
        errors: ['CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ req, res, body }) => {
        const number = await chatNumberFor(deps, body.number_id);
        const chat = { waId: await outboundWaId(deps, body.phone!), number };
        const { waId } = chat;
        if (body.assigned_to) await requireAssignableUser(deps.db, body.assigned_to);
        // Refused before anything is sent: sales assign conversations to themselves only.
        const me = req.principal?.role === 'sales' ? (req.principal.userId ?? null) : undefined;
        if (me !== undefined && body.assigned_to !== undefined && body.assigned_to !== null && body.assigned_to !== me) {
          throw new HttpError('AUTHORIZATION_ERROR', 'Sales may assign conversations to themselves only', { reason: 'not_assigned_to_you' });
        }
        const before = await getConversationByWaId(deps.db, waId, chat.number.id);
        const existed = before !== undefined;
        const sent = hasContent(body) ? await sendThroughChat(deps, req, chat, body) : undefined;

        const change: ConversationChange = {
          ...(body.assigned_to !== undefined ? { assignedTo: body.assigned_to } : {}),
          ...(body.tags ? { tags: body.tags } : {}),
          ...(body.priority ? { priority: body.priority } : {}),
        };
        // Sales own what they start; a conversation started without a message still needs its row.
        if (req.principal?.role === 'sales' && change.assignedTo === undefined && !sent) change.assignedTo = req.principal.userId ?? null;
        if (Object.keys(change).length > 0 || !sent) {
          const idem = idempotencyOf(req, chat);
          await updateChat(
            deps.temporal,
            ids,
            chat,
            conversationUpdate,
            { change, actor: actorOf(req) },
            {
              timeoutMs: 10_000,
              start: { taskQueue: deps.taskQueue, ...(before ? { lifecycle: lifecycleOfRow(before) } : {}) },
              ...(idem ? { updateId: `${idem.updateId}-conversation` } : {}),
            },
          );
        }
        const row = await getConversationByWaId(deps.db, waId, chat.number.id);
        if (!row)
          throw new HttpError('EXTERNAL_SERVICE_ERROR', 'The chat started but its conversation is not recorded yet; retry with the same Idempotency-Key');
        res.status(existed ? 200 : 201);
        return { conversation: conversationView(row, ids), message: sent ? { message_id: sent.wamid, kind: sent.kind ?? 'text' } : null, created: !existed };
      },
    ),
  );

  for (const path of ['/:id/messages', '/:id/replies'])
    router.post(
      path,
      route(
        {
          summary: path.endsWith('replies') ? 'Create a reply (seed 004; the same as POST /:id/messages)' : 'Send a message in a conversation',
          description: `Text, media (by id or https link; the text becomes its caption) or an APPROVED template, sent through the chat so it is recorded and joins the assistant's context. Outside the 24-hour window only a template (409 otherwise). Sales only in conversations assigned to them (or unassigned ones, which this gives them). ${IDEMPOTENCY}`,
          access: CONVERSATION_WRITE,
          params: z.object({ id: z.uuid().describe('conversation id') }),
          body: MessageBody,
          responses: { 201: { description: 'Sent', schema: SentMessage.extend({ conversation_id: z.string() }) } },
          errors: ['NOT_FOUND', 'CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
        },
        async ({ req, res, params, body }) => {
          const c = await requireConversation(deps, params.id);
          const sent = await sendThroughChat(deps, req, await chatRefOfRow(deps, c), body);
          res.status(201);
          return { message_id: sent.wamid, kind: sent.kind ?? 'text', conversation_id: c.id };
        },
      ),
    );

  return router;
}

/** Seed 000's POST /v1/messages, at /api/v1/messages: a message to a number, its conversation made if need be. */
export function messagesRouter(deps: AppDeps): Router {
  const router = Router();
  const Body = z
    .object({
      chat_id: z.string().max(60).optional().describe('The number (seed 000 form "573107601252@c.us" too)'),
      phone: z.string().max(40).optional(),
      number_id: NumberIdField.optional(),
      content: MessageText.nullish().describe('The text (alias: message)'),
      message: MessageText.nullish(),
      media: MediaField.nullish(),
      template: TemplateRef.nullish(),
      priority: z.number().optional().describe("Seed 000's send priority: accepted and ignored (WhatsApp has none)"),
      metadata: z.object({ correlation_id: z.string().max(200).optional(), message_type: z.string().optional() }).optional(),
    })
    .transform(({ chat_id, content, ...b }) => ({ ...b, phone: b.phone ?? chat_id, message: b.message ?? content }))
    .superRefine((b, ctx) => {
      if (!b.phone) ctx.addIssue({ code: 'custom', message: 'chat_id (or phone) is required', path: ['chat_id'] });
      checkOutbound(b, ctx);
    });
  router.post(
    '/',
    route(
      {
        summary: 'Send a message to a number',
        description: `Seed 000's send: like POST /conversations with a message. ${IDEMPOTENCY}`,
        tag: 'conversations',
        access: CONVERSATION_WRITE,
        body: Body,
        responses: {
          201: {
            description: 'Sent',
            schema: z.object({
              message_id: z.string(),
              status: z.literal('sent'),
              conversation_id: z.string().nullable(),
              correlation_id: z.string().nullable(),
            }),
          },
        },
        errors: ['CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ req, res, body }) => {
        const number = await chatNumberFor(deps, body.number_id);
        const waId = await outboundWaId(deps, body.phone!);
        const sent = await sendThroughChat(deps, req, { waId, number }, body);
        const row = await getConversationByWaId(deps.db, waId, number.id);
        res.status(201);
        return { message_id: sent.wamid, status: 'sent' as const, conversation_id: row?.id ?? null, correlation_id: body.metadata?.correlation_id ?? null };
      },
    ),
  );
  return router;
}
