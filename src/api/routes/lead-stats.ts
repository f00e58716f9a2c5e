import { Router } from 'express';
import type { z } from 'zod';
import { FUNNEL_STAGES, leadFunnelReach, leadOverview, leadPipeline, type LeadScope } from '../../db/lead-stats';
import type { AppDeps } from '../deps';
import { READ, route } from '../route-doc';
import { percent } from './campaign-schemas';
import { LeadFunnel, LeadOverview, LeadPipeline, StatsQuery } from './lead-schemas';

/** Pipeline figures; ?source=, ?campaign_id= and ?assigned_to= narrow them to one slice. */
export function leadStatsRouter(deps: AppDeps): Router {
  const router = Router();
  const scope = (q: z.output<typeof StatsQuery>): LeadScope => ({
    source: q.source || undefined,
    campaignId: q.campaign_id,
    assignedTo: q.assigned_to || undefined,
  });

  router.get(
    '/stats/overview',
    route(
      {
        summary: 'Lead totals',
        description:
          'Counts by status, priority and source, overdue leads, average score and pipeline values; conversion_rate is won of the leads that closed.',
        access: READ,
        query: StatsQuery,
        responses: { 200: { description: 'The overview', schema: LeadOverview } },
      },
      async ({ query }) => {
        const o = await leadOverview(deps.db, scope(query));
        // Of the leads that closed, how many were won.
        return { ...o, conversion_rate: percent(o.won, o.won + o.lost) } satisfies LeadOverview;
      },
    ),
  );

  router.get(
    '/stats/pipeline',
    route(
      {
        summary: 'Leads and value per status',
        description:
          'Every status in pipeline order with its count and summed estimated_value, plus open and overall totals. Amounts are exact decimal strings.',
        access: READ,
        query: StatsQuery,
        responses: { 200: { description: 'The pipeline', schema: LeadPipeline } },
      },
      async ({ query }) => {
        const stages = await leadPipeline(deps.db, scope(query));
        const open = stages.filter((s) => s.status !== 'won' && s.status !== 'lost');
        return {
          stages,
          total_count: stages.reduce((n, s) => n + s.count, 0),
          open_count: open.reduce((n, s) => n + s.count, 0),
          open_value: sumMoney(open.map((s) => s.value)),
          total_value: sumMoney(stages.map((s) => s.value)),
        } satisfies LeadPipeline;
      },
    ),
  );

  router.get(
    '/stats/conversion-funnel',
    route(
      {
        summary: 'How far leads got through the pipeline',
        description:
          'For each stage (new → contacted → qualified → proposal → negotiation → won), the leads that reached at least that stage, by their status and their status history: ' +
          'a lead lost during negotiation still counts for the stages before. Rates are percent of the previous stage and of all leads.',
        access: READ,
        query: StatsQuery,
        responses: { 200: { description: 'The funnel', schema: LeadFunnel } },
      },
      async ({ query }) => {
        const reach = await leadFunnelReach(deps.db, scope(query));
        const total = reach[0] ?? 0;
        return {
          total_leads: total,
          stages: FUNNEL_STAGES.map((stage, i) => ({
            stage,
            count: reach[i] ?? 0,
            // Share of the previous stage that got this far (the first stage: of all leads).
            conversion_rate: percent(reach[i] ?? 0, i === 0 ? total : (reach[i - 1] ?? 0)),
            percent_of_total: percent(reach[i] ?? 0, total),
          })),
          overall_conversion_rate: percent(reach[FUNNEL_STAGES.length - 1] ?? 0, total),
        } satisfies LeadFunnel;
      },
    ),
  );

  return router;
}

/** Adds decimal strings exactly, in cents. */
function sumMoney(values: string[]): string {
  const cents = values.reduce((sum, v) => {
    const [whole = '0', frac = ''] = v.split('.');
    return sum + BigInt(whole) * 100n + BigInt((frac + '00').slice(0, 2));
  }, 0n);
  return `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
}
