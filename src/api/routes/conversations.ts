import { Router, type Request } from 'express';
import { sql } from 'kysely';
import { CONVERSATION_PRIORITIES } from '../../workflows/definitions';
import { z } from 'zod';
import { conversationOverview, listConversations, listMessages, senderCounts } from '../../db/conversation-queries';
import { idsOf } from '../../temporal/workflow-ids';
import type { Db } from '../../db/database';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { phoneField } from '../phone';
import { READ, route } from '../route-doc';
import { ConversationView, conversationView } from '../conversation-view';
import { ConversationIdParams, MessageIdParams, requireConversation } from '../conversation-lookup';
import { conversationCreateRouter } from './conversation-create';
import { conversationLifecycleRouter } from './conversation-lifecycle';
import { mountConversationStream, streamMessageView as messageView } from './conversation-stream';

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/** A phone as seed 000's chat_id writes it too ("573107601252@c.us"). */
const seedPhone = z
  .string()
  .transform((s) => s.trim().replace(/@(c\.us|s\.whatsapp\.net)$/i, ''))
  .pipe(phoneField);
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

const ListQuery = z.object({
  phone: seedPhone.optional().describe('The WhatsApp number (aliases: chat_id, user_id)'),
  number_id: z.coerce.number().int().min(1).max(2_147_483_647).optional().describe('Only conversations with this business number (GET /api/v1/numbers)'),
  status: z
    .enum(['open', 'closed', 'bot', 'operator', 'needs_human'])
    .optional()
    .describe('open or closed; bot, operator and needs_human filter by handling, as before the inbox'),
  handling: z.enum(['bot', 'operator', 'needs_human']).optional(),
  queue: z.enum(['mine', 'unassigned', 'all']).default('all').describe('mine: assigned to the caller (a signed-in user); unassigned: no one owns it'),
  assigned_to: z.coerce.number().int().positive().max(2_147_483_647).optional().describe('A user id'),
  tag: z.string().trim().toLowerCase().min(1).max(32).optional(),
  priority: z.enum(CONVERSATION_PRIORITIES).optional(),
  unread: flag.optional().describe('true: only conversations with unread inbound messages'),
  archived: flag.default(false).describe('true: archived conversations only (they are left out otherwise)'),
  search: z.string().trim().min(1).max(100).optional().describe("Part of the contact's name or number"),
  start_date: isoDate.optional(),
  end_date: isoDate.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).default(0).describe('Alias: skip'),
});
const LIST_ALIASES = { chat_id: 'phone', user_id: 'phone', skip: 'offset' };
type ListQuery = z.output<typeof ListQuery>;

const MessagesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().optional(),
  order: z.enum(['asc', 'desc']).default('asc'),
  before: isoDate.optional(),
  after: isoDate.optional(),
  sender_type: z.enum(['user', 'bot', 'operator', 'campaign']).optional(),
});

const DETAIL_MESSAGES = 100;

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

const Overview = z.object({
  total: z.number().int().describe('Conversations not archived'),
  open: z.number().int(),
  closed: z.number().int(),
  archived: z.number().int(),
  unassigned: z.number().int().describe('Open and owned by no one'),
  unread: z.number().int().describe('Open with unread inbound messages'),
  unread_messages: z.number().int(),
  urgent: z.number().int().describe('Open, and urgent or needing a human'),
  needs_human: z.number().int(),
  operator: z.number().int().describe('Open and held by an operator'),
  open_by_priority: z.object({ low: z.number().int(), normal: z.number().int(), high: z.number().int(), urgent: z.number().int() }),
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
    if (typeof id === 'string' && /^\d{1,18}$/.test(id)) return id;
  } catch {
    // fall through
  }
  throw new HttpError('VALIDATION_ERROR', 'cursor is not valid; use next_cursor from a previous page');
}

async function requireMessage(deps: AppDeps, id: string) {
  const found = await deps.db
    .selectFrom('messages')
    .selectAll()
    .where(sql`id`, '=', sql`${id}::bigint`)
    .executeTakeFirst();
  if (!found) throw new HttpError('NOT_FOUND', `Message ${id} not found`);
  return found;
}

/** A page of a conversation's messages (outbound only: its replies). */
async function messagePage(db: Db, c: { id: string }, q: z.output<typeof MessagesQuery>, outboundOnly: boolean) {
  const page = await listMessages(db, {
    conversationId: c.id,
    limit: q.limit,
    order: q.order,
    afterId: q.cursor ? decodeCursor(q.cursor) : undefined,
    before: q.before,
    after: q.after,
    senderType: q.sender_type,
    outboundOnly,
  });
  const last = page.rows[page.rows.length - 1];
  return {
    messages: page.rows.map(messageView),
    total: page.total,
    has_more: page.hasMore,
    next_cursor: page.hasMore && last ? encodeCursor(last.id) : null,
  };
}

/** queue=mine and /assigned need a signed-in user (an API key owns no conversations). */
function assigneeFilter(q: ListQuery, req: Request): number | null | undefined {
  if (q.assigned_to !== undefined) return q.assigned_to;
  if (q.queue === 'unassigned') return null;
  if (q.queue !== 'mine') return undefined;
  const me = req.principal?.userId;
  if (me === undefined)
    throw new HttpError('VALIDATION_ERROR', 'queue=mine (and /assigned) needs a signed-in user: an API key owns no conversations; pass assigned_to');
  return me;
}

/** Seed 000's and 004's conversation reads, from the Postgres record. */
export function conversationsRouter(deps: AppDeps): Router {
  const router = Router();
  const ids = idsOf(deps);
  mountConversationStream(router, deps); // GET /stream: before '/:id', which would take "stream" for an id
  const list = (doc: { path: string; summary: string; description: string; fixed?: Partial<ListQuery> }) =>
    router.get(
      doc.path,
      route(
        {
          summary: doc.summary,
          description: doc.description,
          access: READ,
          query: ListQuery,
          queryAliases: LIST_ALIASES,
          responses: { 200: { description: 'A page of conversations', schema: ConversationList } },
        },
        async ({ query, req }) => {
          const q = { ...query, ...doc.fixed };
          if (q.handling && q.status && q.status !== 'open' && q.status !== 'closed' && q.status !== q.handling) {
            throw new HttpError('VALIDATION_ERROR', `status=${q.status} is a handling and contradicts handling=${q.handling}: give one`);
          }
          const { rows, total } = await listConversations(deps.db, {
            phone: q.phone,
            numberId: q.number_id,
            ...(q.status === 'open' || q.status === 'closed' ? { status: q.status } : { handling: q.status }),
            ...(q.handling ? { handling: q.handling } : {}),
            assignedTo: assigneeFilter(q, req),
            tag: q.tag,
            priority: q.priority,
            unread: q.unread,
            urgent: doc.path === '/urgent',
            archived: q.archived,
            search: q.search,
            startDate: q.start_date,
            endDate: q.end_date,
            limit: q.limit,
            offset: q.offset,
          });
          return {
            conversations: rows.map((r) => ({ ...conversationView(r, ids), message_count: Number(r.message_count), last_message: r.last_message })),
            total,
            limit: q.limit,
            offset: q.offset,
          };
        },
      ),
    );

  list({
    path: '/',
    summary: 'List conversations, newest activity first',
    description:
      "Archived conversations are left out unless archived=true. queue=mine (the caller's) and queue=unassigned are the inbox's queues. Seed names are accepted: chat_id and user_id for phone, skip for offset. Any other query parameter is a 400.",
  });
  list({
    path: '/assigned',
    summary: "The caller's conversations",
    description: 'Open and closed conversations assigned to the signed-in caller, or to assigned_to when given. Other filters as in the list.',
    fixed: { queue: 'mine' },
  });
  list({
    path: '/unread',
    summary: 'Conversations with unread messages',
    description: 'Open conversations with inbound messages no operator has marked read (POST /conversations/:id/read). Other filters as in the list.',
    fixed: { unread: true, status: 'open' },
  });
  list({
    path: '/urgent',
    summary: 'Conversations that need attention first',
    description: 'Open conversations of priority urgent, or whose chat asks for a human. Other filters as in the list.',
  });

  router.get(
    '/stats/overview',
    route(
      {
        summary: 'Conversation statistics',
        description:
          "The inbox's counts now: open, closed, archived, unassigned, unread, urgent, needing a human, held by an operator, and open ones by priority.",
        access: READ,
        responses: { 200: { description: 'The counts', schema: Overview } },
      },
      () => conversationOverview(deps.db),
    ),
  );

  router.get(
    '/messages/:message_id',
    route(
      {
        summary: 'One message',
        access: READ,
        params: MessageIdParams,
        responses: { 200: { description: 'The message', schema: MessageView } },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => messageView(await requireMessage(deps, params.message_id)),
    ),
  );

  router.get(
    '/:id',
    route(
      {
        summary: 'A conversation with its newest messages',
        access: READ,
        params: ConversationIdParams,
        responses: { 200: { description: 'The conversation', schema: ConversationDetail } },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => {
        const c = await requireConversation(deps, params.id);
        const [page, counts] = await Promise.all([
          listMessages(deps.db, { conversationId: c.id, limit: DETAIL_MESSAGES, order: 'desc' }),
          senderCounts(deps.db, c.id),
        ]);
        const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
        return {
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
        };
      },
    ),
  );

  router.get(
    '/:id/messages',
    route(
      {
        summary: "A conversation's messages, paged with a cursor",
        access: READ,
        params: ConversationIdParams,
        query: MessagesQuery,
        responses: { 200: { description: 'A page of messages', schema: MessagePage } },
        errors: ['NOT_FOUND'],
      },
      async ({ params, query }) => messagePage(deps.db, await requireConversation(deps, params.id), query, false),
    ),
  );

  router.get(
    '/:id/replies',
    route(
      {
        summary: "A conversation's replies",
        description:
          "Seed 004's replies: the outbound messages (bot, operator, campaign), paged like /messages. Send one with POST /conversations/:id/replies (the same as POST /:id/messages).",
        access: READ,
        params: ConversationIdParams,
        query: MessagesQuery,
        responses: { 200: { description: 'A page of outbound messages', schema: MessagePage } },
        errors: ['NOT_FOUND'],
      },
      async ({ params, query }) => messagePage(deps.db, await requireConversation(deps, params.id), query, true),
    ),
  );

  router.use(conversationCreateRouter(deps));
  router.use(conversationLifecycleRouter(deps));
  return router;
}
