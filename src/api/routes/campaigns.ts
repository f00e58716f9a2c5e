import { Router } from 'express';
import { campaignStats, campaignCountsByStatus, listCampaigns, listRecipients } from '../../db/campaigns';
import { idsOf } from '../../temporal/workflow-ids';
import { campaignProgressQuery } from '../../workflows/campaign-definitions';
import { describeCampaignSchedule, scheduleView } from '../campaign-schedules';
import type { AppDeps } from '../deps';
import { OFFSET_FOR_SKIP } from '../paging';
import { READ, route } from '../route-doc';
import { campaignControlRouter } from './campaign-control';
import { campaignEditRouter } from './campaign-edit';
import {
  CampaignDetail,
  CampaignIdParams,
  CampaignList,
  CampaignListQuery,
  CampaignOverview,
  CampaignStatsView,
  RecipientList,
  RecipientsQuery,
  campaignView,
  percent,
  requireCampaign,
} from './campaign-schemas';

/** Seed 004's campaign management: reads here, edits and lifecycle in their own routers. */
export function campaignsRouter(deps: AppDeps): Router {
  const ids = idsOf(deps);
  const router = Router();

  router.get(
    '/',
    route(
      {
        summary: 'List campaigns',
        description: 'Newest first; filter by status, template or a search in name and description.',
        access: READ,
        query: CampaignListQuery,
        queryAliases: OFFSET_FOR_SKIP,
        responses: { 200: { description: 'A page of campaigns', schema: CampaignList } },
      },
      async ({ query: q }) => {
        const { rows, total } = await listCampaigns(deps.db, { status: q.status, search: q.search, templateId: q.template_id, skip: q.skip, limit: q.limit });
        return { campaigns: rows.map((c) => campaignView(c, ids)), total, skip: q.skip, limit: q.limit } satisfies CampaignList;
      },
    ),
  );

  router.get(
    '/stats/overview',
    route(
      {
        summary: 'Totals over all campaigns',
        description: 'Campaigns per status and message figures summed over every campaign; rates are percent of messages sent.',
        access: READ,
        responses: { 200: { description: 'The overview', schema: CampaignOverview } },
      },
      async () => {
        const [stats, byStatus] = await Promise.all([campaignStats(deps.db, 'all'), campaignCountsByStatus(deps.db)]);
        return {
          total_campaigns: Object.values(byStatus).reduce((a, b) => a + b, 0),
          campaigns_by_status: byStatus,
          active_campaigns: (byStatus.running ?? 0) + (byStatus.paused ?? 0),
          messages_sent: stats.sent,
          messages_delivered: stats.delivered,
          messages_read: stats.read,
          messages_failed: stats.failed,
          replies_received: stats.replies,
          delivery_rate: percent(stats.delivered, stats.sent),
          read_rate: percent(stats.read, stats.sent),
          reply_rate: percent(stats.replies, stats.sent),
        } satisfies CampaignOverview;
      },
    ),
  );

  router.get(
    '/:id',
    route(
      {
        summary: 'Get a campaign with its figures, Schedule and live progress',
        description:
          'The record with its message counts, the Temporal Schedule as Temporal describes it, and the live progress queried from the run in progress. ' +
          'When Temporal is slow or down the record still answers, with schedule and progress null.',
        access: READ,
        params: CampaignIdParams,
        responses: { 200: { description: 'The campaign', schema: CampaignDetail } },
        errors: ['NOT_FOUND'],
      },
      async ({ req }) => {
        const campaign = await requireCampaign(deps, req);
        const [stats, schedule] = await Promise.all([
          campaignStats(deps.db, [campaign.id]),
          // The record answers even when Temporal is slow; the Schedule part is then left out.
          describeCampaignSchedule(deps.temporal, ids, campaign.id).catch((err: unknown) => {
            req.log.warn({ err }, 'could not describe the campaign schedule');
            return undefined;
          }),
        ]);
        const workflowId = campaign.status === 'running' || campaign.status === 'paused' ? campaign.current_workflow_id : null;
        // Live progress straight from the run's workflow; Postgres has the same numbers a moment later.
        const progress = workflowId
          ? await deps.temporal.workflow
              .getHandle(workflowId)
              .query(campaignProgressQuery)
              .catch(() => null)
          : null;
        return {
          ...campaignView(campaign, ids),
          messages_sent: stats.sent,
          messages_delivered: stats.delivered,
          messages_read: stats.read,
          messages_failed: stats.failed,
          replies_received: stats.replies,
          schedule: scheduleView(schedule),
          progress,
        } satisfies CampaignDetail;
      },
    ),
  );

  router.get(
    '/:id/stats',
    route(
      {
        summary: "A campaign's delivery figures",
        description: 'Recipients per state, WhatsApp receipts, replies and failures per error code; rates are percent of messages sent.',
        access: READ,
        params: CampaignIdParams,
        responses: { 200: { description: 'The figures', schema: CampaignStatsView } },
        errors: ['NOT_FOUND'],
      },
      async ({ req }) => {
        const campaign = await requireCampaign(deps, req);
        const stats = await campaignStats(deps.db, [campaign.id]);
        const total = campaign.total_recipients ?? 0;
        const processed = stats.sent + stats.failed + stats.unconfirmed;
        return {
          campaign_id: campaign.id,
          status: campaign.status,
          total_recipients: total,
          ...stats,
          pending: Math.max(0, total - processed),
          delivery_rate: percent(stats.delivered, stats.sent),
          read_rate: percent(stats.read, stats.sent),
          reply_rate: percent(stats.replies, stats.sent),
        } satisfies CampaignStatsView;
      },
    ),
  );

  router.get(
    '/:id/recipients',
    route(
      {
        summary: "A campaign's recipients",
        description: 'In contact id order, each with its send state and the latest WhatsApp receipt.',
        access: READ,
        params: CampaignIdParams,
        query: RecipientsQuery,
        queryAliases: OFFSET_FOR_SKIP,
        responses: { 200: { description: 'A page of recipients', schema: RecipientList } },
        errors: ['NOT_FOUND'],
      },
      async ({ query: q, req }) => {
        const campaign = await requireCampaign(deps, req);
        const { rows, total } = await listRecipients(deps.db, campaign.id, q.state, q.skip, q.limit);
        return { recipients: rows, total, skip: q.skip, limit: q.limit } satisfies RecipientList;
      },
    ),
  );

  router.use(campaignEditRouter(deps));
  router.use(campaignControlRouter(deps));
  return router;
}
