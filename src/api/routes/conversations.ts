import { Router } from 'express';
import { z } from 'zod';
import { getConversation, listConversations, listMessages, senderCounts } from '../../db/conversation-queries';
import { idsOf, type WorkflowIds } from '../../temporal/workflow-ids';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { phoneField } from '../phone';
import { READ, routeAccess } from '../route-doc';
import { mountConversationStream, streamMessageView as messageView } from './conversation-stream';

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const ListQuery = z.object({
  phone: phoneField.optional(),
  status: z.enum(['bot', 'operator', 'needs_human']).optional(),
  start_date: isoDate.optional(),
  end_date: isoDate.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const MessagesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().optional(),
  order: z.enum(['asc', 'desc']).default('asc'),
  before: isoDate.optional(),
  after: isoDate.optional(),
  sender_type: z.enum(['user', 'bot', 'operator', 'campaign']).optional(),
});

const DETAIL_MESSAGES = 100;

const IdParams = z.object({ id: z.uuid().describe('conversation id') });

const MessageView = z.object({
  id: z.string(),
  conversation_id: z.string(),
  direction: z.enum(['inbound', 'outbound']),
  sender_type: z.enum(['user', 'bot', 'operator', 'campaign']),
  wamid: z.string().nullable().describe('WhatsApp message id (or the Twilio SID)'),
  message_type: z.string().describe('text, image, audio, document, location, interactive, template, ...'),
  content: z.string().describe('The text, or a description of a non-text message as the LLM reads it'),
  media: z.unknown().nullable().describe('Media metadata: id or link, mime type, caption, filename'),
  metadata: z.unknown().nullable(),
  delivery_status: z.enum(['received', 'pending', 'sent', 'delivered', 'read', 'failed']),
  status_updated_at: z.date().nullable(),
  error: z.unknown().nullable(),
  timestamp: z.date(),
});

const ConversationView = z.object({
  id: z.string(),
  wa_id: z.string(),
  phone: z.string(),
  contact_name: z.string().nullable(),
  mode: z.enum(['bot', 'operator']),
  needs_human: z.boolean(),
  operator: z.string().nullable(),
  status: z.enum(['bot', 'operator', 'needs_human']),
  workflow_id: z.string().describe('The chat workflow in Temporal (chat-<wa_id>)'),
  created_at: z.date(),
  updated_at: z.date(),
  last_message_at: z.date().nullable(),
  last_inbound_at: z.date().nullable(),
});

const ConversationList = z.object({
  conversations: z.array(
    ConversationView.extend({
      message_count: z.number().int(),
      last_message: z
        .object({ content: z.string(), timestamp: z.string().describe('ISO 8601'), sender_type: z.enum(['user', 'bot', 'operator', 'campaign']) })
        .nullable()
        .describe('The newest message, whoever sent it'),
    }),
  ),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

const ConversationDetail = ConversationView.extend({
  messages: z.array(MessageView).describe(`The newest ${DETAIL_MESSAGES} messages, oldest first`),
  messages_truncated: z.boolean(),
  summary: z.object({
    total_messages: z.number().int(),
    user_messages: z.number().int(),
    bot_messages: z.number().int(),
    operator_messages: z.number().int(),
    campaign_messages: z.number().int(),
  }),
});

const MessagePage = z.object({
  messages: z.array(MessageView),
  total: z.number().int(),
  has_more: z.boolean(),
  next_cursor: z.string().nullable().describe('Pass as cursor for the next page'),
});

const encodeCursor = (id: string) => Buffer.from(JSON.stringify({ id })).toString('base64url');
function decodeCursor(cursor: string): string {
  try {
    const { id } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { id?: unknown };
    if (typeof id === 'string' && /^\d+$/.test(id)) return id;
  } catch {
    // fall through
  }
  throw new HttpError('VALIDATION_ERROR', 'cursor is not valid; use next_cursor from a previous page');
}


function conversationView(c: NonNullable<Awaited<ReturnType<typeof getConversation>>>, ids: WorkflowIds) {
  return {
    ...c,
    phone: c.wa_id,
    status: c.needs_human ? 'needs_human' : c.mode,
    workflow_id: ids.chat(c.wa_id),
  };
}

async function requireConversation(deps: AppDeps, id: string) {
  const found = z.uuid().safeParse(id).success ? await getConversation(deps.db, id) : undefined;
  if (!found) throw new HttpError('NOT_FOUND', `Conversation ${id} not found`);
  return found;
}

/** Seed 000's conversation reads, from the Postgres record. */
export function conversationsRouter(deps: AppDeps): Router {
  const router = Router();
  const ids = idsOf(deps);
  mountConversationStream(router, deps); // GET /stream: before '/:id', which would take "stream" for an id
  router.get(
    '/',
    routeAccess({
      summary: 'List conversations, newest activity first',
      access: READ,
      query: ListQuery,
      responses: { 200: { description: 'A page of conversations', schema: ConversationList } },
    }),
    async (req, res) => {
    const q = ListQuery.parse(req.query);
    const { rows, total } = await listConversations(deps.db, {
      phone: q.phone,
      status: q.status,
      startDate: q.start_date,
      endDate: q.end_date,
      limit: q.limit,
      offset: q.offset,
    });
    res.json({
      conversations: rows.map((r) => ({ ...conversationView(r, ids), message_count: Number(r.message_count), last_message: r.last_message })),
      total,
      limit: q.limit,
      offset: q.offset,
    });
  });

  router.get(
    '/:id',
    routeAccess({
      summary: 'A conversation with its newest messages',
      access: READ,
      params: IdParams,
      responses: { 200: { description: 'The conversation', schema: ConversationDetail } },
      errors: ['NOT_FOUND'],
    }),
    async (req, res) => {
    const c = await requireConversation(deps, String(req.params.id));
    const [page, counts] = await Promise.all([
      listMessages(deps.db, { conversationId: c.id, limit: DETAIL_MESSAGES, order: 'desc' }),
      senderCounts(deps.db, c.id),
    ]);
    const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
    res.json({
      ...conversationView(c, ids),
      // The newest messages, oldest first; older ones through /messages.
      messages: page.rows.reverse().map(messageView),
      messages_truncated: page.hasMore,
      summary: {
        total_messages: total,
        user_messages: counts.user ?? 0,
        bot_messages: counts.bot ?? 0,
        operator_messages: counts.operator ?? 0,
        campaign_messages: counts.campaign ?? 0,
      },
    });
  });

  router.get(
    '/:id/messages',
    routeAccess({
      summary: "A conversation's messages, paged with a cursor",
      access: READ,
      params: IdParams,
      query: MessagesQuery,
      responses: { 200: { description: 'A page of messages', schema: MessagePage } },
      errors: ['NOT_FOUND'],
    }),
    async (req, res) => {
    const c = await requireConversation(deps, String(req.params.id));
    const q = MessagesQuery.parse(req.query);
    const page = await listMessages(deps.db, {
      conversationId: c.id,
      limit: q.limit,
      order: q.order,
      afterId: q.cursor ? decodeCursor(q.cursor) : undefined,
      before: q.before,
      after: q.after,
      senderType: q.sender_type,
    });
    const last = page.rows[page.rows.length - 1];
    res.json({
      messages: page.rows.map(messageView),
      total: page.total,
      has_more: page.hasMore,
      next_cursor: page.hasMore && last ? encodeCursor(last.id) : null,
    });
  });

  return router;
}
