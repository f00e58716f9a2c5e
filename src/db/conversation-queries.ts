import { sql } from 'kysely';
import type { Db } from './database';
import type { SenderType } from './schema';

export type ConversationStatus = 'bot' | 'operator' | 'needs_human';

export interface ConversationFilters {
  phone?: string;
  status?: ConversationStatus;
  startDate?: Date;
  endDate?: Date;
  limit: number;
  offset: number;
}

function listBase(db: Db, f: Omit<ConversationFilters, 'limit' | 'offset'>) {
  let q = db.selectFrom('conversations as c');
  if (f.phone) q = q.where('c.wa_id', '=', f.phone);
  if (f.status === 'needs_human') q = q.where('c.needs_human', '=', true);
  else if (f.status) q = q.where('c.mode', '=', f.status).where('c.needs_human', '=', false);
  if (f.startDate) q = q.where('c.created_at', '>=', f.startDate);
  if (f.endDate) q = q.where('c.created_at', '<=', f.endDate);
  return q;
}

const summaryColumns = [
  'c.id',
  'c.wa_id',
  'c.contact_name',
  'c.mode',
  'c.needs_human',
  'c.operator',
  'c.created_at',
  'c.updated_at',
  'c.last_message_at',
  'c.last_inbound_at',
] as const;

export async function listConversations(db: Db, f: ConversationFilters) {
  const [rows, total] = await Promise.all([
    listBase(db, f)
      .select(summaryColumns)
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
    listBase(db, f).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(total.n) };
}

interface LastMessage {
  content: string;
  timestamp: string;
  sender_type: SenderType;
}

export async function getConversation(db: Db, id: string) {
  return db.selectFrom('conversations as c').select(summaryColumns).where('c.id', '=', id).executeTakeFirst();
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
}

export async function listMessages(db: Db, p: MessagePage) {
  let q = db.selectFrom('messages').selectAll().where('conversation_id', '=', p.conversationId);
  if (p.before) q = q.where('created_at', '<', p.before);
  if (p.after) q = q.where('created_at', '>', p.after);
  if (p.senderType) q = q.where('sender_type', '=', p.senderType);
  const total = await q.clearSelect().select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  if (p.afterId) q = q.where(sql`id`, p.order === 'asc' ? '>' : '<', sql`${p.afterId}::bigint`);
  const rows = await q
    .orderBy('id', p.order)
    .limit(p.limit + 1)
    .execute();
  return { rows: rows.slice(0, p.limit), hasMore: rows.length > p.limit, total: Number(total.n) };
}
