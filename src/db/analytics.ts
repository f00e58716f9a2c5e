import { sql, type RawBuilder } from 'kysely';
import { burstCtes, inRange, type TimeRange } from './analytics-bursts';
import type { Db } from './database';

export { handoverCounts, type HandoverCounts, type TimeRange } from './analytics-bursts';

export type Period = 'hour' | 'day' | 'week' | 'month';

/** How rows are bucketed: calendar periods in the range's time zone, hour of day 0-23, or one total. */
export type Grouping = { period: Period } | 'hour_of_day' | 'total';

export interface BucketStats {
  /** Periods: the local wall-clock start, `YYYY-MM-DDTHH:MM`; hour of day: "0".."23"; total: "". */
  label: string;
  /** Periods: the bucket's first instant. */
  start: Date | null;
  messages: number;
  inbound: number;
  outbound: number;
  bySender: { user: number; bot: number; operator: number; campaign: number };
  delivered: number;
  read: number;
  failed: number;
  /** Conversations with any message in the bucket. */
  activeConversations: number;
  /** Distinct users who wrote in the bucket. */
  uniqueUsers: number;
  /** Conversations first recorded in the bucket. */
  newConversations: number;
  responseTimes: ResponseTimes;
}

export interface ResponseTimes {
  /** Bursts that began in the bucket, answered or not. */
  bursts: number;
  answered: number;
  /** Seconds from a burst's first message to its reply, over the answered bursts. */
  average: number | null;
  median: number | null;
  p90: number | null;
  max: number | null;
  byBot: { answered: number; average: number | null };
  byOperator: { answered: number; average: number | null };
}

function keyOf(column: string, r: TimeRange, g: Grouping): RawBuilder<unknown> {
  const local = sql`(${sql.ref(column)} at time zone ${r.timeZone}::text)`;
  if (g === 'total') return sql`0`;
  if (g === 'hour_of_day') return sql`extract(hour from ${local})::int`;
  return sql`date_trunc(${g.period}::text, ${local})`;
}

/** Every bucket of the range, empty ones included. */
function keySeries(r: TimeRange, g: Grouping): RawBuilder<unknown> {
  if (g === 'total') return sql`select 0 as key`;
  if (g === 'hour_of_day') return sql`select generate_series(0, 23) as key`;
  const local = (t: Date) => sql`(${t}::timestamptz at time zone ${r.timeZone}::text)`;
  const last = new Date(r.end.getTime() - 1);
  return sql`select generate_series(date_trunc(${g.period}::text, ${local(r.start)}), ${local(last)}, ('1 ' || ${g.period}::text)::interval) as key`;
}

function label(g: Grouping): RawBuilder<string> {
  if (g === 'total') return sql<string>`''`;
  if (g === 'hour_of_day') return sql<string>`k.key::text`;
  return sql<string>`to_char(k.key, 'YYYY-MM-DD"T"HH24:MI')`;
}

/**
 * Message volumes, conversations and response times per bucket, one SQL statement: counts are
 * aggregated in Postgres and joined to the series of buckets so empty ones come back as zeros.
 */
export async function bucketStats(db: Db, r: TimeRange, g: Grouping): Promise<BucketStats[]> {
  const key = (column: string) => keyOf(column, r, g);
  const start = typeof g === 'object' ? sql`k.key at time zone ${r.timeZone}::text` : sql`null::timestamptz`;
  const { rows } = await sql<Record<string, string | number | Date | null>>`
    with ${burstCtes(r)},
    k as (${keySeries(r, g)}),
    m as (
      select ${key('created_at')} as key,
        count(*) as messages,
        count(*) filter (where direction = 'inbound') as inbound,
        count(*) filter (where direction = 'outbound') as outbound,
        count(*) filter (where sender_type = 'user') as by_user,
        count(*) filter (where sender_type = 'bot') as by_bot,
        count(*) filter (where sender_type = 'operator') as by_operator,
        count(*) filter (where sender_type = 'campaign') as by_campaign,
        count(*) filter (where direction = 'outbound' and delivery_status in ('delivered', 'read')) as delivered,
        count(*) filter (where direction = 'outbound' and delivery_status = 'read') as read,
        count(*) filter (where direction = 'outbound' and delivery_status = 'failed') as failed,
        count(distinct conversation_id) as active_conversations,
        count(distinct conversation_id) filter (where sender_type = 'user') as unique_users
      from messages where ${inRange('created_at', r)}
      group by 1
    ),
    c as (
      select ${key('created_at')} as key, count(*) as new_conversations
      from conversations where ${inRange('created_at', r)}
      group by 1
    ),
    b as (
      select ${key('asked_at')} as key, answered_by, extract(epoch from answered_at - asked_at)::float8 as secs
      from bursts where ${inRange('asked_at', r)}
    ),
    rt as (
      select key, count(*) as bursts, count(secs) as answered,
        avg(secs) as average,
        percentile_cont(0.5) within group (order by secs) as median,
        percentile_cont(0.9) within group (order by secs) as p90,
        max(secs) as max,
        count(secs) filter (where answered_by = 'bot') as bot_answered,
        avg(secs) filter (where answered_by = 'bot') as bot_average,
        count(secs) filter (where answered_by = 'operator') as operator_answered,
        avg(secs) filter (where answered_by = 'operator') as operator_average
      from b group by key
    )
    select ${label(g)} as label, ${start} as start, m.*, c.new_conversations, rt.*
    from k
    left join m on m.key = k.key
    left join c on c.key = k.key
    left join rt on rt.key = k.key
    order by k.key`.execute(db);
  return rows.map((row) => {
    const n = (name: string) => Number(row[name] ?? 0);
    const secs = (name: string) => (row[name] === null || row[name] === undefined ? null : Math.round(Number(row[name]) * 1000) / 1000);
    return {
      label: String(row.label),
      start: row.start === null ? null : new Date(row.start as Date),
      messages: n('messages'),
      inbound: n('inbound'),
      outbound: n('outbound'),
      bySender: { user: n('by_user'), bot: n('by_bot'), operator: n('by_operator'), campaign: n('by_campaign') },
      delivered: n('delivered'),
      read: n('read'),
      failed: n('failed'),
      activeConversations: n('active_conversations'),
      uniqueUsers: n('unique_users'),
      newConversations: n('new_conversations'),
      responseTimes: {
        bursts: n('bursts'),
        answered: n('answered'),
        average: secs('average'),
        median: secs('median'),
        p90: secs('p90'),
        max: secs('max'),
        byBot: { answered: n('bot_answered'), average: secs('bot_average') },
        byOperator: { answered: n('operator_answered'), average: secs('operator_average') },
      },
    };
  });
}
