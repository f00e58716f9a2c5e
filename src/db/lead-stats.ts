import { sql } from 'kysely';
import type { Db } from './database';
import { LEAD_PRIORITIES, LEAD_STATUSES } from './leads';
import type { LeadStatus } from './schema';

/** Narrows every statistic to one slice of the pipeline (a campaign, a channel, a salesperson). */
export interface LeadScope {
  source?: string;
  campaignId?: number;
  assignedTo?: string;
}

function scoped(db: Db, s: LeadScope) {
  let q = db.selectFrom('leads');
  if (s.source) q = q.where('source', '=', s.source);
  if (s.campaignId) q = q.where('campaign_id', '=', s.campaignId);
  if (s.assignedTo) q = q.where('assigned_to', '=', s.assignedTo);
  return q;
}

const zeros = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
// Money stays an exact decimal string, like estimated_value itself.
const money = (column: string, filter = 'true') => sql<string>`coalesce(sum(${sql.ref(column)}) filter (where ${sql.raw(filter)}), 0.00)::text`;
const OPEN = `status not in ('won', 'lost')`;

async function countsBy(db: Db, s: LeadScope, column: 'status' | 'priority' | 'source') {
  const rows = await scoped(db, s)
    .select([sql.ref(column).as('key'), (eb) => eb.fn.countAll<string>().as('n')])
    .groupBy(column)
    .execute();
  return Object.fromEntries(rows.map((r) => [String(r.key), Number(r.n)]));
}

export async function leadOverview(db: Db, s: LeadScope) {
  const [totals, byStatus, byPriority, bySource] = await Promise.all([
    scoped(db, s)
      .select([
        sql<string>`count(*)`.as('total'),
        sql<string | null>`round(avg(lead_score), 2)::text`.as('average_score'),
        money('estimated_value').as('total_value'),
        money('estimated_value', OPEN).as('open_value'),
        money('estimated_value', `status = 'won'`).as('won_value'),
        sql<string>`count(*) filter (where ${sql.raw(OPEN)} and (overdue_since is not null or next_follow_up_at < now()))`.as('overdue'),
      ])
      .executeTakeFirstOrThrow(),
    countsBy(db, s, 'status'),
    countsBy(db, s, 'priority'),
    countsBy(db, s, 'source'),
  ]);
  const byStatusAll = { ...zeros(LEAD_STATUSES), ...byStatus };
  const total = Number(totals.total);
  return {
    total,
    open: total - byStatusAll.won - byStatusAll.lost,
    won: byStatusAll.won,
    lost: byStatusAll.lost,
    overdue: Number(totals.overdue),
    by_status: byStatusAll,
    by_priority: { ...zeros(LEAD_PRIORITIES), ...byPriority },
    by_source: bySource,
    average_score: Number(totals.average_score ?? 0),
    total_pipeline_value: totals.total_value,
    open_pipeline_value: totals.open_value,
    won_value: totals.won_value,
  };
}

/** Count and value per status, in pipeline order, every status present. */
export async function leadPipeline(db: Db, s: LeadScope) {
  const rows = await scoped(db, s)
    .select(['status', (eb) => eb.fn.countAll<string>().as('n'), money('estimated_value').as('value')])
    .groupBy('status')
    .execute();
  const byStatus = new Map(rows.map((r) => [r.status, r]));
  return LEAD_STATUSES.map((status) => ({ status, count: Number(byStatus.get(status)?.n ?? 0), value: byStatus.get(status)?.value ?? '0.00' }));
}

export const FUNNEL_STAGES = ['new', 'contacted', 'qualified', 'proposal', 'negotiation', 'won'] as const satisfies readonly LeadStatus[];

/**
 * How many leads got at least as far as each stage. A lead's furthest stage is the highest of its
 * current status and every status its activities say it moved to, so a lead lost during negotiation
 * still counts for qualified and proposal. "lost" is not a stage: such a lead reached "new" at least.
 */
export async function leadFunnelReach(db: Db, s: LeadScope): Promise<number[]> {
  const stages = sql`array[${sql.join(FUNNEL_STAGES.map((st) => sql.lit(st)))}]`;
  const leads = scoped(db, s).select(['id', 'status']);
  const { rows } = await sql<{ stage: number; n: string }>`
    with scoped as (${leads}),
    visited as (
      select id, status from scoped
      union all
      select a.lead_id, case when a.type = 'created' then a.metadata->>'status' else a.metadata->>'to' end
      from lead_activities a join scoped l on l.id = a.lead_id
      where a.type in ('created', 'status_changed', 'contacted', 'converted', 'lost')
    ),
    furthest as (select id, coalesce(max(array_position(${stages}::text[], status)), 1) as stage from visited group by id)
    select stage, count(*) as n from furthest group by stage`.execute(db);
  const atStage = new Map(rows.map((r) => [Number(r.stage), Number(r.n)]));
  // Reached stage i = furthest stage is i or beyond.
  return FUNNEL_STAGES.map((_, i) => FUNNEL_STAGES.reduce((sum, _s, j) => (j >= i ? sum + (atStage.get(j + 1) ?? 0) : sum), 0));
}
