import { ApplicationFailure } from '@temporalio/activity';
import { ScheduleNotFoundError } from '@temporalio/client';
import { AudienceSchema, countAudience } from '../db/campaign-audience';
import { recipientCounts } from '../db/campaign-recipients';
import type { Db } from '../db/database';
import type { Campaign, CampaignStatus, Template } from '../db/schema';
import { idsOf } from '../temporal/workflow-ids';
import type { CampaignCounts, CampaignEnding } from '../workflows/campaign-definitions';
import type { ActivityDeps } from './index';

export type CampaignForSending = Campaign & { variables: Record<string, string> };

/** The campaign and its template; a deleted campaign ends the run rather than retrying forever. */
export async function loadCampaignForSending(db: Db, campaignId: number): Promise<{ campaign: CampaignForSending; template: Template }> {
  const campaign = await db.selectFrom('campaigns').selectAll().where('id', '=', campaignId).executeTakeFirst();
  if (!campaign) throw ApplicationFailure.nonRetryable(`campaign ${campaignId} no longer exists`, 'CampaignGone');
  const template = await db.selectFrom('templates').selectAll().where('id', '=', campaign.template_id).executeTakeFirstOrThrow();
  return { campaign: campaign as CampaignForSending, template };
}

export type BeginCampaignResult = { ok: true; total: number; ratePerSecond: number; counts: CampaignCounts } | { ok: false; reason: string };

export function createCampaignRunActivities(deps: Pick<ActivityDeps, 'db' | 'temporal' | 'ids'>) {
  const { db, temporal } = deps;
  const ids = idsOf(deps);
  async function setStatus(campaignId: number, status: CampaignStatus, extra: { last_error?: string | null } = {}) {
    await db
      .updateTable('campaigns')
      .set({ status, updated_at: new Date(), ...extra })
      .where('id', '=', campaignId)
      .execute();
  }

  return {
    /** Checks the campaign can go out, counts its audience and marks it running. */
    async beginCampaignRun({ campaignId, workflowId }: { campaignId: number; workflowId: string }): Promise<BeginCampaignResult> {
      const campaign = await db.selectFrom('campaigns').selectAll().where('id', '=', campaignId).executeTakeFirst();
      if (!campaign) return { ok: false, reason: `campaign ${campaignId} no longer exists` };
      // Only a campaign someone started (or whose Schedule still stands) may go out: a run that
      // fires after a stop, e.g. one that waited for a worker, must not send.
      if (campaign.status !== 'scheduled') return { ok: false, reason: `the campaign is ${campaign.status}` };
      const template = await db.selectFrom('templates').selectAll().where('id', '=', campaign.template_id).executeTakeFirstOrThrow();
      if (template.status !== 'APPROVED') {
        const reason = `template ${template.name} (${template.language}) is ${template.status}, not APPROVED`;
        await setStatus(campaignId, 'stopped', { last_error: reason });
        return { ok: false, reason };
      }
      // The number it sends from must still be served (issue 13): a disabled one stops the run before anything goes out.
      const number = await db.selectFrom('whatsapp_numbers').select('enabled').where('id', '=', campaign.number_id).executeTakeFirst();
      if (!number?.enabled) {
        const reason = `its business number ${campaign.number_id} is ${number ? 'disabled' : 'gone'}`;
        await setStatus(campaignId, 'stopped', { last_error: reason });
        return { ok: false, reason };
      }
      const total = await countAudience(db, AudienceSchema.parse(campaign.audience));
      const counts = await recipientCounts(db, campaignId);
      const now = new Date();
      await db
        .updateTable('campaigns')
        .set({
          status: 'running',
          current_workflow_id: workflowId,
          total_recipients: total,
          started_at: campaign.started_at ?? now,
          finished_at: null,
          last_error: null,
          updated_at: now,
        })
        .where('id', '=', campaignId)
        .execute();
      return { ok: true, total, ratePerSecond: campaign.rate_per_second, counts };
    },

    async readCampaignCounts({ campaignId }: { campaignId: number }): Promise<CampaignCounts> {
      return recipientCounts(db, campaignId);
    },

    async setCampaignStatus({ campaignId, status }: { campaignId: number; status: 'running' | 'paused' }): Promise<void> {
      await setStatus(campaignId, status);
    },

    /**
     * Stopped: the Schedule is paused so nothing fires until someone starts it again. Completed:
     * the Schedule is removed. Finished: back to "scheduled" if the Schedule will fire again.
     */
    async finishCampaignRun({ campaignId, ending, reason }: { campaignId: number; ending: CampaignEnding; reason?: string }): Promise<CampaignStatus> {
      const schedule = temporal.schedule.getHandle(ids.campaignSchedule(campaignId));
      const now = new Date();
      let status: CampaignStatus;
      try {
        if (ending === 'stopped') {
          await schedule.pause('campaign stopped');
          status = 'stopped';
        } else if (ending === 'completed') {
          await schedule.delete();
          status = 'completed';
        } else {
          const { state, info } = await schedule.describe();
          const firesAgain = !state.paused && info.nextActionTimes.length > 0 && state.remainingActions !== 0;
          status = firesAgain ? 'scheduled' : ending === 'not_started' ? 'stopped' : 'completed';
          if (status === 'completed') await schedule.delete();
        }
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
        status = ending === 'stopped' || ending === 'not_started' ? 'stopped' : 'completed';
      }
      const current = await db.selectFrom('campaigns').select('status').where('id', '=', campaignId).executeTakeFirst();
      if (!current) return status;
      await db
        .updateTable('campaigns')
        .set({ status, current_workflow_id: null, finished_at: now, updated_at: now, ...(reason ? { last_error: reason } : {}) })
        .where('id', '=', campaignId)
        .execute();
      return status;
    },
  };
}
