import { sql } from 'kysely';
import { assigneeColumn, numberColumn, summaryColumns } from './conversation-queries';
import type { Db } from './database';
import type { Message, SenderType } from './schema';

/** What the live stream watches on a conversation: its mode, flags and activity. */
const stateColumns = [
  'c.id',
  'c.number_id',
  'c.wa_id',
  'c.mode',
  'c.needs_human',
  'c.operator',
  'c.contact_name',
  'c.updated_at',
  'c.last_message_at',
  'c.status',
  'c.archived_at',
  'c.assigned_to',
  'c.tags',
  'c.priority',
  'c.unread_count',
] as const;

/**
 * The conversations with these ids or WhatsApp ids (the streams that watch one conversation); a
 * stream by WhatsApp id watches the default number's conversation.
 */
export async function conversationStates(db: Db, ids: string[], waIds: string[]) {
  if (ids.length === 0 && waIds.length === 0) return [];
  return db
    .selectFrom('conversations as c')
    .select(stateColumns)
    .where((eb) =>
      eb.or([...(ids.length ? [eb('c.id', 'in', ids)] : []), ...(waIds.length ? [eb.and([eb('c.wa_id', 'in', waIds), eb('c.number_id', '=', 1)])] : [])]),
    )
    .execute();
}

/**
 * Conversations written in the last `lookbackMs` by the database's clock (every writer bumps
 * updated_at; the window absorbs clock skew between the worker that wrote and the database).
 * Scans the table: the inbox stream's poll.
 */
export async function conversationsUpdatedSince(db: Db, lookbackMs: number) {
  return db
    .selectFrom('conversations as c')
    .select(stateColumns)
    .where('c.updated_at', '>', sql<Date>`now() - make_interval(secs => ${lookbackMs / 1000})`)
    .execute();
}

interface LastMessage {
  content: string;
  timestamp: string;
  sender_type: SenderType;
}

/** The same row as GET /conversations lists: the conversation, its message count and newest message. */
export async function conversationSummaries(db: Db, ids: string[]) {
  if (ids.length === 0) return [];
  return db
    .selectFrom('conversations as c')
    .select(summaryColumns)
    .select(assigneeColumn)
    .select(numberColumn)
    .select((eb) => [
      eb.selectFrom('messages as m').whereRef('m.conversation_id', '=', 'c.id').select(eb.fn.countAll<string>().as('n')).as('message_count'),
      sql<LastMessage | null>`(select json_build_object('content', m.content, 'timestamp', m.created_at, 'sender_type', m.sender_type)
        from messages m where m.conversation_id = c.id order by m.id desc limit 1)`.as('last_message'),
    ])
    .where('c.id', 'in', ids)
    .execute();
}

/** The newest message id of a conversation (or of all), '0' when there is none. */
export async function lastMessageId(db: Db, conversationId?: string): Promise<string> {
  let q = db.selectFrom('messages').select((eb) => eb.fn.max<string | null>('id').as('id'));
  if (conversationId) q = q.where('conversation_id', '=', conversationId);
  const row = await q.executeTakeFirst();
  return row?.id ?? '0';
}

/**
 * Messages after a per-conversation message id, oldest first: one indexed range per conversation
 * (messages_conversation_idx), in one round trip however many conversations are watched.
 */
export async function messagesAfter(db: Db, after: Map<string, bigint>, pageAfter: bigint, limit: number): Promise<Message[]> {
  if (after.size === 0) return [];
  const { rows } = await sql<Message>`
    select m.* from unnest(${[...after.keys()]}::uuid[], ${[...after.values()].map(String)}::bigint[]) as f(conversation_id, after_id)
    join messages m on m.conversation_id = f.conversation_id and m.id > f.after_id
    where m.id > ${String(pageAfter)}::bigint
    order by m.id
    limit ${limit}
  `.execute(db);
  return rows;
}

export async function messagesByIds(db: Db, ids: string[]): Promise<Message[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('messages')
    .selectAll()
    .where(sql`id`, '=', sql`any(${ids}::bigint[])`)
    .execute();
}
