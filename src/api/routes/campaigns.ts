import { Router } from 'express';
import { campaignStats, campaignCountsByStatus, listCampaigns, listRecipients } from '../../db/campaigns';
import { campaignProgressQuery } from '../../workflows/campaign-definitions';
import { READ_ROLES, requireRole } from '../auth';
import { describeCampaignSchedule, scheduleView } from '../campaign-schedules';
import type { AppDeps } from '../deps';
import { campaignControlRouter } from './campaign-control';
import { campaignEditRouter } from './campaign-edit';
import { CampaignListQuery, RecipientsQuery, campaignView, percent, requireCampaign } from './campaign-schemas';

/** Seed 004's campaign management: reads here, edits and lifecycle in their own routers. */
export function campaignsRouter(deps: AppDeps): Router {
  const router = Router();
  const read = requireRole(...READ_ROLES);

  router.get('/', read, async (req, res) => {
    const q = CampaignListQuery.parse(req.query);
    const { rows, total } = await listCampaigns(deps.db, { status: q.status, search: q.search, templateId: q.template_id, skip: q.skip, limit: q.limit });
    res.json({ campaigns: rows.map(campaignView), total, skip: q.skip, limit: q.limit });
  });

  router.get('/stats/overview', read, async (_req, res) => {
    const [stats, byStatus] = await Promise.all([campaignStats(deps.db, 'all'), campaignCountsByStatus(deps.db)]);
    res.json({
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
    });
  });

  router.get('/:id', read, async (req, res) => {
    const campaign = await requireCampaign(deps, req);
    const [stats, schedule] = await Promise.all([
      campaignStats(deps.db, [campaign.id]),
      // The record answers even when Temporal is slow; the Schedule part is then left out.
      describeCampaignSchedule(deps.temporal, campaign.id).catch((err: unknown) => {
        req.log.warn({ err }, 'could not describe the campaign schedule');
        return undefined;
      }),
    ]);
    const workflowId = campaign.status === 'running' || campaign.status === 'paused' ? campaign.current_workflow_id : null;
    // Live progress straight from the run's workflow; Postgres has the same numbers a moment later.
    const progress = workflowId
      ? await deps.temporal.workflow.getHandle(workflowId).query(campaignProgressQuery).catch(() => null)
      : null;
    res.json({
      ...campaignView(campaign),
      messages_sent: stats.sent,
      messages_delivered: stats.delivered,
      messages_read: stats.read,
      messages_failed: stats.failed,
      replies_received: stats.replies,
      schedule: scheduleView(schedule),
      progress,
    });
  });

  router.get('/:id/stats', read, async (req, res) => {
    const campaign = await requireCampaign(deps, req);
    const stats = await campaignStats(deps.db, [campaign.id]);
    const total = campaign.total_recipients ?? 0;
    const processed = stats.sent + stats.failed + stats.unconfirmed;
    res.json({
      campaign_id: campaign.id,
      status: campaign.status,
      total_recipients: total,
      ...stats,
      pending: Math.max(0, total - processed),
      delivery_rate: percent(stats.delivered, stats.sent),
      read_rate: percent(stats.read, stats.sent),
      reply_rate: percent(stats.replies, stats.sent),
    });
  });

  router.get('/:id/recipients', read, async (req, res) => {
    const campaign = await requireCampaign(deps, req);
    const q = RecipientsQuery.parse(req.query);
    const { rows, total } = await listRecipients(deps.db, campaign.id, q.state, q.skip, q.limit);
    res.json({ recipients: rows, total, skip: q.skip, limit: q.limit });
  });

  router.use(campaignEditRouter(deps));
  router.use(campaignControlRouter(deps));
  return router;
}
