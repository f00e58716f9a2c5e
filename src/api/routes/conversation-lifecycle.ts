import { Router, type Request } from 'express';
import { sql } from 'kysely';
import { z } from 'zod';
import { idsOf } from '../../temporal/workflow-ids';
import { MAX_TAGS, TAG_PATTERN } from '../../workflows/chat-lifecycle';
import { CONVERSATION_PRIORITIES, conversationUpdate, type ConversationChange } from '../../workflows/definitions';
import { updateChat } from '../chat-updates';
import { chatRefOfRow } from '../chat-ref';
import { CONVERSATION_WRITE, actorOf, requireAssignableUser } from '../conversation-access';
import { ConversationView, conversationView, lifecycleOfRow } from '../conversation-view';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { route } from '../route-doc';
import { ConversationIdParams, MessageIdParams, requireConversation } from '../conversation-lookup';

export const TagsField = z
  .array(z.string().trim().toLowerCase().regex(TAG_PATTERN, 'a tag is 1-32 letters, digits, spaces, - or _, starting with a letter or digit'))
  .max(MAX_TAGS, `at most ${MAX_TAGS} tags`)
  .describe('Replaces the tags (lower-cased)');
export const PriorityField = z.enum(CONVERSATION_PRIORITIES);
export const AssigneeField = z.number().int().positive().max(2_147_483_647).nullable().describe('A user id (an operator, sales or admin); null unassigns');

const ChangeBody = z
  .object({
    status: z.enum(['open', 'closed']).optional(),
    assigned_to: AssigneeField.optional(),
    tags: TagsField.optional(),
    priority: PriorityField.optional(),
    metadata: z.object({ priority: PriorityField.optional(), tags: TagsField.optional() }).optional().describe("Seed 000's PATCH form of priority and tags"),
  })
  .superRefine((b, ctx) => {
    const { metadata, ...rest } = b;
    if (Object.values(rest).every((v) => v === undefined) && !metadata?.priority && !metadata?.tags) {
      ctx.addIssue({ code: 'custom', message: 'Nothing to change: give status, assigned_to, tags or priority' });
    }
  });
const AssignBody = z.object({ assigned_to: AssigneeField });
const Empty = z.object({});
const StatusBody = z.object({
  status: z.literal('read', { error: 'Only read can be set: delivery statuses (sent, delivered, failed) come from WhatsApp' }),
});
const ReadResult = z.object({ conversation_id: z.string(), unread_count: z.number().int(), last_read_at: z.date().nullable() });

/** Seed 004's conversation writes: each is an update on the conversation's chat, answered once Postgres agrees. */
export function conversationLifecycleRouter(deps: AppDeps): Router {
  const router = Router();
  const ids = idsOf(deps);

  /** Applies the change in the chat (starting it if it is not running) and answers with the row it mirrored. */
  async function change(req: Request, id: string, wanted: ConversationChange) {
    const c = await requireConversation(deps, id);
    if (typeof wanted.assignedTo === 'number') await requireAssignableUser(deps.db, wanted.assignedTo);
    await updateChat(
      deps.temporal,
      ids,
      await chatRefOfRow(deps, c),
      conversationUpdate,
      { change: wanted, actor: actorOf(req) },
      {
        timeoutMs: 10_000,
        start: { taskQueue: deps.taskQueue, lifecycle: lifecycleOfRow(c) },
      },
    );
    return conversationView(await requireConversation(deps, id), ids);
  }

  const doc = <B extends z.ZodType = typeof Empty>(summary: string, description: string, body?: B) => ({
    summary,
    description: `${description} Sales may change only conversations assigned to them (403 otherwise).`,
    access: CONVERSATION_WRITE,
    params: ConversationIdParams,
    body: (body ?? Empty) as B,
    responses: { 200: { description: 'The conversation after the change', schema: ConversationView } },
    errors: ['NOT_FOUND' as const, 'EXTERNAL_SERVICE_ERROR' as const],
  });

  for (const method of ['put', 'patch'] as const) {
    router[method](
      '/:id',
      route(
        doc('Update a conversation', 'Status, assignee, tags (replaced as a whole) and priority; fields left out stay as they are.', ChangeBody),
        ({ req, params, body }) =>
          change(req, params.id, {
            ...(body.status ? { status: body.status } : {}),
            ...(body.assigned_to !== undefined ? { assignedTo: body.assigned_to } : {}),
            ...((body.tags ?? body.metadata?.tags) ? { tags: body.tags ?? body.metadata!.tags } : {}),
            ...((body.priority ?? body.metadata?.priority) ? { priority: body.priority ?? body.metadata!.priority } : {}),
          }),
      ),
    );
  }
  router.delete(
    '/:id',
    route(
      doc(
        'Archive a conversation',
        'Closes it and leaves it out of the lists (archived=true shows it); every message is kept, and a customer writing reopens it.',
      ),
      ({ req, params }) => change(req, params.id, { archived: true }),
    ),
  );
  router.post(
    '/:id/assign',
    route(
      doc(
        'Assign a conversation',
        'To a user who can answer it (operator, sales or admin; 400 otherwise), or to nobody with null. Sales may take an unassigned one, or give up their own.',
        AssignBody,
      ),
      ({ req, params, body }) => change(req, params.id, { assignedTo: body.assigned_to }),
    ),
  );
  router.post(
    '/:id/close',
    route(
      doc(
        'Close a conversation',
        "Ends the human's turn: the bot holds the chat again and NeedsHuman is cleared; the assignee stays. A customer writing reopens it.",
      ),
      ({ req, params }) => change(req, params.id, { status: 'closed' }),
    ),
  );
  router.post(
    '/:id/reopen',
    route(doc('Reopen a conversation', 'Open again (and no longer archived).'), ({ req, params }) => change(req, params.id, { status: 'open' })),
  );

  router.post(
    '/:id/read',
    route(
      {
        summary: 'Mark a conversation read',
        description:
          "Its unread count goes to 0. Read state is the team's, kept in Postgres only (it changes nothing in the chat). Sales only for conversations assigned to them.",
        access: CONVERSATION_WRITE,
        params: ConversationIdParams,
        body: Empty,
        responses: { 200: { description: 'The read state', schema: ReadResult } },
        errors: ['NOT_FOUND'],
      },
      async ({ req, params }) => {
        const c = await requireConversation(deps, params.id);
        requireOwnForSales(req, c.assigned_to);
        return markRead(c.id);
      },
    ),
  );

  router.put(
    '/messages/:message_id/status',
    route(
      {
        summary: "Set a message's status: read",
        description:
          'Marks the conversation read up to this inbound message: unread_count becomes the number of inbound messages after it. Delivery statuses of outbound messages come from WhatsApp only (400).',
        access: CONVERSATION_WRITE,
        params: MessageIdParams,
        body: StatusBody,
        responses: { 200: { description: 'The read state', schema: ReadResult } },
        errors: ['NOT_FOUND'],
      },
      async ({ req, params }) => {
        const m = await deps.db
          .selectFrom('messages')
          .select(['id', 'conversation_id', 'direction'])
          .where(sql`id`, '=', sql`${params.message_id}::bigint`)
          .executeTakeFirst();
        if (!m) throw new HttpError('NOT_FOUND', `Message ${params.message_id} not found`);
        if (m.direction !== 'inbound')
          throw new HttpError('VALIDATION_ERROR', 'Only inbound messages are read by the team; outbound statuses come from WhatsApp');
        const c = await requireConversation(deps, m.conversation_id);
        requireOwnForSales(req, c.assigned_to);
        return markRead(c.id, m.id);
      },
    ),
  );

  /** Unread: inbound messages after `upTo` (all of them read when absent). */
  async function markRead(conversationId: string, upTo?: string) {
    const row = await deps.db
      .updateTable('conversations')
      .set({
        unread_count:
          upTo === undefined
            ? 0
            : // Reading up to an older message never makes more unread than there were.
              sql<number>`least(unread_count, (select count(*)::int from messages m where m.conversation_id = conversations.id and m.direction = 'inbound' and m.id > ${upTo}::bigint))`,
        last_read_at: new Date(),
        updated_at: new Date(),
      })
      .where('id', '=', conversationId)
      .returning(['id', 'unread_count', 'last_read_at'])
      .executeTakeFirstOrThrow();
    return { conversation_id: row.id, unread_count: row.unread_count, last_read_at: row.last_read_at };
  }

  return router;
}

/** Read state lives in Postgres, so this rule is checked here rather than by the chat. */
function requireOwnForSales(req: Request, assignedTo: number | null): void {
  if (req.principal?.role !== 'sales') return;
  if (assignedTo !== null && assignedTo === req.principal.userId) return;
  throw new HttpError('AUTHORIZATION_ERROR', 'Sales may only mark conversations assigned to them read', { reason: 'not_assigned_to_you' });
}
