import { Router } from 'express';
import { z } from 'zod';
import { getConversation, listConversations, listMessages, senderCounts } from '../../db/conversation-queries';
import type { Message } from '../../db/schema';
import { chatWorkflowId } from '../../workflows/definitions';
import { READ_ROLES, requireRole } from '../auth';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { phoneField } from '../phone';

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

function messageView(m: Message) {
  return {
    id: m.id,
    conversation_id: m.conversation_id,
    direction: m.direction,
    sender_type: m.sender_type,
    wamid: m.wamid,
    message_type: m.message_type,
    content: m.content,
    media: m.media ?? null,
    metadata: m.metadata ?? null,
    delivery_status: m.delivery_status,
    status_updated_at: m.status_updated_at,
    error: m.error ?? null,
    timestamp: m.created_at,
  };
}

function conversationView(c: NonNullable<Awaited<ReturnType<typeof getConversation>>>) {
  return {
    ...c,
    phone: c.wa_id,
    status: c.needs_human ? 'needs_human' : c.mode,
    workflow_id: chatWorkflowId(c.wa_id),
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
  router.use(requireRole(...READ_ROLES));

  router.get('/', async (req, res) => {
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
      conversations: rows.map((r) => ({ ...conversationView(r), message_count: Number(r.message_count), last_message: r.last_message })),
      total,
      limit: q.limit,
      offset: q.offset,
    });
  });

  router.get('/:id', async (req, res) => {
    const c = await requireConversation(deps, req.params.id!);
    const [page, counts] = await Promise.all([
      listMessages(deps.db, { conversationId: c.id, limit: DETAIL_MESSAGES, order: 'desc' }),
      senderCounts(deps.db, c.id),
    ]);
    const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
    res.json({
      ...conversationView(c),
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

  router.get('/:id/messages', async (req, res) => {
    const c = await requireConversation(deps, req.params.id!);
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
