import { sql } from 'kysely';
import { likePattern } from './like';
import type { Db } from './database';
import type { SenderType } from './schema';

import type { ConversationPriority } from '../workflows/definitions';

/** The handling of a conversation: who answers it now (the list's `status` before the inbox). */
export type ConversationHandling = 'bot' | 'operator' | 'needs_human';

export interface ConversationFilters {
  phone?: string;
  /** The business number (whatsapp_numbers.id) the conversations are with. */
  numberId?: number;
  status?: 'open' | 'closed';
  handling?: ConversationHandling;
  /** A user id, or null for unassigned. */
  assignedTo?: number | null;
  tag?: string;
  priority?: ConversationPriority;
  unread?: boolean;
  /** Open conversations that need attention first: priority urgent or NeedsHuman. */
  urgent?: boolean;
  /** Archived conversations only (true), or none of them (false, the default). */
  archived: boolean;
  /** Part of the contact's name or number. */
  search?: string;
  startDate?: Date;
  endDate?: Date;
  limit: number;
  offset: number;
}

function listBase(db: Db, f: Omit<ConversationFilters, 'limit' | 'offset'>) {
  let q = db.selectFrom('conversations as c');
  if (f.phone) q = q.where('c.wa_id', '=', f.phone);
  if (f.numberId !== undefined) q = q.where('c.number_id', '=', f.numberId);
  if (f.status) q = q.where('c.status', '=', f.status);
  if (f.handling === 'needs_human') q = q.where('c.needs_human', '=', true);
  else if (f.handling) q = q.where('c.mode', '=', f.handling).where('c.needs_human', '=', false);
  if (f.assignedTo === null) q = q.where('c.assigned_to', 'is', null);
  else if (f.assignedTo !== undefined) q = q.where('c.assigned_to', '=', f.assignedTo);
  if (f.tag) q = q.where(sql<boolean>`c.tags @> array[${f.tag}]::text[]`);
  if (f.priority) q = q.where('c.priority', '=', f.priority);
  if (f.unread) q = q.where('c.unread_count', '>', 0);
  if (f.urgent) q = q.where('c.status', '=', 'open').where((eb) => eb.or([eb('c.priority', '=', 'urgent'), eb('c.needs_human', '=', true)]));
  q = f.archived ? q.where('c.archived_at', 'is not', null) : q.where('c.archived_at', 'is', null);
  if (f.search) {
    const pattern = likePattern(f.search);
    q = q.where((eb) => eb.or([eb('c.contact_name', 'ilike', pattern), eb('c.wa_id', 'like', pattern)]));
  }
  if (f.startDate) q = q.where('c.created_at', '>=', f.startDate);
  if (f.endDate) q = q.where('c.created_at', '<=', f.endDate);
  return q;
}

export const summaryColumns = [
  'c.id',
  'c.number_id',
  'c.wa_id',
  'c.contact_name',
  'c.mode',
  'c.needs_human',
  'c.operator',
  'c.created_at',
  'c.updated_at',
  'c.last_message_at',
  'c.last_inbound_at',
  'c.status',
  'c.archived_at',
  'c.closed_at',
  'c.assigned_to',
  'c.tags',
  'c.priority',
  'c.unread_count',
  'c.last_read_at',
] as const;

/** The assignee as the inbox shows them (null when unassigned). */
export const assigneeColumn = sql<{
  id: number;
  email: string;
  full_name: string | null;
} | null>`(select json_build_object('id', u.id, 'email', u.email, 'full_name', u.full_name)
  from users u where u.id = c.assigned_to)`.as('assignee');

/** The business number the conversation is with, as the inbox shows it (issue 13). */
export const numberColumn = sql<{
  id: number;
  name: string | null;
  display_number: string | null;
}>`(select json_build_object('id', n.id, 'name', n.name, 'display_number', n.display_number)
  from whatsapp_numbers n where n.id = c.number_id)`.as('business_number');

export async function listConversations(db: Db, f: ConversationFilters) {
  const [rows, total] = await Promise.all([
    listBase(db, f)
      .select(summaryColumns)
      .select(assigneeColumn)
      .select(numberColumn)
      .select((eb) => [
        eb.selectFrom('messages as m').whereRef('m.conversation_id', '=', 'c.id').select(eb.fn.countAll<string>().as('n')).as('message_count'),
        sql<LastMessage | null>`(select json_build_object('content', m.content, 'timestamp', m.created_at, 'sender_type', m.sender_type)
          from messages m where m.conversation_id = c.id order by m.id desc limit 1)`.as('last_message'),
      ])
      .orderBy(sql`coalesce(c.last_message_at, c.created_at)`, 'desc')
      .orderBy('c.id')
      .limit(f.limit)
      .offset(f.offset)
      .execute(),
    listBase(db, f)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(total.n) };
}

interface LastMessage {
  content: string;
  timestamp: string;
  sender_type: SenderType;
}

export async function getConversation(db: Db, id: string) {
  return db.selectFrom('conversations as c').select(summaryColumns).select(assigneeColumn).select(numberColumn).where('c.id', '=', id).executeTakeFirst();
}

/** The conversation of a WhatsApp user with one business number (default: the default number). */
export async function getConversationByWaId(db: Db, waId: string, numberId = 1) {
  return db
    .selectFrom('conversations as c')
    .select(summaryColumns)
    .select(assigneeColumn)
    .select(numberColumn)
    .where('c.number_id', '=', numberId)
    .where('c.wa_id', '=', waId)
    .executeTakeFirst();
}

export async function senderCounts(db: Db, conversationId: string) {
  const rows = await db
    .selectFrom('messages')
    .select(['sender_type', (eb) => eb.fn.countAll<string>().as('n')])
    .where('conversation_id', '=', conversationId)
    .groupBy('sender_type')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.sender_type, Number(r.n)])) as Partial<Record<SenderType, number>>;
}

export interface MessagePage {
  conversationId: string;
  limit: number;
  /** Exclusive message id to continue after (in the page order). */
  afterId?: string;
  order: 'asc' | 'desc';
  before?: Date;
  after?: Date;
  senderType?: SenderType;
  /** Outbound only: seed 004's "replies" (bot, operator and campaign messages). */
  outboundOnly?: boolean;
}

export async function listMessages(db: Db, p: MessagePage) {
  let q = db.selectFrom('messages').selectAll().where('conversation_id', '=', p.conversationId);
  if (p.before) q = q.where('created_at', '<', p.before);
  if (p.after) q = q.where('created_at', '>', p.after);
  if (p.senderType) q = q.where('sender_type', '=', p.senderType);
  if (p.outboundOnly) q = q.where('direction', '=', 'outbound');
  const total = await q
    .clearSelect()
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  if (p.afterId) q = q.where(sql`id`, p.order === 'asc' ? '>' : '<', sql`${p.afterId}::bigint`);
  const rows = await q
    .orderBy('id', p.order)
    .limit(p.limit + 1)
    .execute();
  return { rows: rows.slice(0, p.limit), hasMore: rows.length > p.limit, total: Number(total.n) };
}

/** Seed 004's conversation overview: the inbox's counts, archived conversations apart. */
export async function conversationOverview(db: Db) {
  const row = await db
    .selectFrom('conversations')
    .select([
      sql<number>`count(*) filter (where archived_at is null)::int`.as('total'),
      sql<number>`count(*) filter (where status = 'open' and archived_at is null)::int`.as('open'),
      sql<number>`count(*) filter (where status = 'closed' and archived_at is null)::int`.as('closed'),
      sql<number>`count(*) filter (where archived_at is not null)::int`.as('archived'),
      sql<number>`count(*) filter (where status = 'open' and assigned_to is null)::int`.as('unassigned'),
      sql<number>`count(*) filter (where status = 'open' and unread_count > 0)::int`.as('unread'),
      sql<number>`coalesce(sum(unread_count) filter (where status = 'open'), 0)::int`.as('unread_messages'),
      sql<number>`count(*) filter (where status = 'open' and (priority = 'urgent' or needs_human))::int`.as('urgent'),
      sql<number>`count(*) filter (where status = 'open' and needs_human)::int`.as('needs_human'),
      sql<number>`count(*) filter (where status = 'open' and mode = 'operator')::int`.as('operator'),
    ])
    .executeTakeFirstOrThrow();
  const priorities = await db
    .selectFrom('conversations')
    .select(['priority', sql<number>`count(*)::int`.as('n')])
    .where('status', '=', 'open')
    .where('archived_at', 'is', null)
    .groupBy('priority')
    .execute();
  const byPriority: Record<ConversationPriority, number> = { low: 0, normal: 0, high: 0, urgent: 0 };
  for (const p of priorities) byPriority[p.priority] = p.n;
  return { ...row, open_by_priority: byPriority };
}
