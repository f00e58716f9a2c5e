import { sql, type RawBuilder } from 'kysely';
import type { Db } from './database';

/** [start, end) in absolute time; buckets are cut on wall-clock time in `timeZone` (IANA). */
export interface TimeRange {
  start: Date;
  end: Date;
  timeZone: string;
}

export const inRange = (column: string, r: TimeRange) =>
  sql<boolean>`(${sql.ref(column)} >= ${r.start}::timestamptz and ${sql.ref(column)} < ${r.end}::timestamptz)`;

/**
 * CTEs (to follow `with`) that cut the conversations in which the user wrote during the range
 * into bursts, for response time and resolution:
 * - `talked (conversation_id)`: conversations with a user message (reactions aside) in the range;
 * - `bursts (conversation_id, burst, asked_at, answered_at, answered_by)`: a burst is the user's
 *   messages since the previous reply; `asked_at` is its first (oldest unanswered) message and
 *   `answered_at` the next reply after it, a bot or operator message that did not fail, whenever it
 *   came (null: not answered yet). Campaign messages are not replies. Bursts whose asked_at lies
 *   outside the range are still listed: filter on asked_at.
 * The whole history of those conversations is read, so a burst that began before the range is
 * not mistaken for one that begins in it.
 */
export function burstCtes(r: TimeRange): RawBuilder<unknown> {
  return sql`
    talked as (
      select distinct conversation_id from messages
      where sender_type = 'user' and message_type <> 'reaction' and ${inRange('created_at', r)}
    ),
    timeline as (
      select m.conversation_id, m.created_at, m.sender_type,
        -- replies strictly before this message: the burst a user message belongs to, the burst a reply closes
        count(*) filter (where m.sender_type <> 'user') over (partition by m.conversation_id order by m.created_at, m.id)
          - (m.sender_type <> 'user')::int as burst
      from messages m join talked t on t.conversation_id = m.conversation_id
      where (m.sender_type = 'user' and m.message_type <> 'reaction')
         or (m.sender_type in ('bot', 'operator') and m.delivery_status <> 'failed')
    ),
    bursts as (
      select conversation_id, burst,
        min(created_at) filter (where sender_type = 'user') as asked_at,
        min(created_at) filter (where sender_type <> 'user') as answered_at,
        min(sender_type) filter (where sender_type <> 'user') as answered_by
      from timeline
      group by conversation_id, burst
    )`;
}

export interface HandoverCounts {
  /** Conversations in which the user wrote during the range: the denominator of both rates. */
  conversations: number;
  handedOver: number;
  /** Of those handed over: an operator wrote in the range. */
  operatorReplied: number;
  /** Of those handed over: the model asked for a human in the range (handoff_to_human). */
  modelHandoff: number;
  /** Of those handed over: held by an operator or flagged NeedsHuman now, latest message in range. */
  heldNow: number;
  /** Not handed over, and the user's last burst in the range was answered by the bot. */
  resolved: number;
}

/** Handover and resolution counts over the range (definitions in the route's description). */
export async function handoverCounts(db: Db, r: TimeRange): Promise<HandoverCounts> {
  const { rows } = await sql<Record<keyof HandoverCounts, string>>`
    with ${burstCtes(r)},
    last_burst as (
      select distinct on (conversation_id) conversation_id, answered_by
      from bursts where ${inRange('asked_at', r)}
      order by conversation_id, burst desc
    ),
    operator_replied as (
      select distinct conversation_id from messages where sender_type = 'operator' and ${inRange('created_at', r)}
    ),
    model_handoff as (
      select distinct conversation_id from llm_usage
      where outcome = 'handoff' and conversation_id is not null and ${inRange('created_at', r)}
    ),
    held_now as (
      select id as conversation_id from conversations
      where (mode = 'operator' or needs_human) and ${inRange('last_message_at', r)}
    ),
    flagged as (
      select t.conversation_id, o.conversation_id is not null as o, h.conversation_id is not null as h,
        n.conversation_id is not null as n, lb.answered_by
      from talked t
      left join operator_replied o on o.conversation_id = t.conversation_id
      left join model_handoff h on h.conversation_id = t.conversation_id
      left join held_now n on n.conversation_id = t.conversation_id
      left join last_burst lb on lb.conversation_id = t.conversation_id
    )
    select count(*) as "conversations",
      count(*) filter (where o or h or n) as "handedOver",
      count(*) filter (where o) as "operatorReplied",
      count(*) filter (where h) as "modelHandoff",
      count(*) filter (where n) as "heldNow",
      count(*) filter (where not (o or h or n) and answered_by = 'bot') as "resolved"
    from flagged`.execute(db);
  const row = rows[0]!;
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])) as unknown as HandoverCounts;
}
