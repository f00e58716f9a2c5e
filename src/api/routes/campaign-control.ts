import { Router, type Response } from 'express';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowNotFoundError } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { Campaign } from '../../db/schema';
import { idsOf } from '../../temporal/workflow-ids';
import { completeCampaignSignal, pauseCampaignSignal, resumeCampaignSignal, stopCampaignSignal } from '../../workflows/campaign-definitions';
import { applyCampaignSchedule, describeCampaignSchedule, planOf, type SchedulePlan } from '../campaign-schedules';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { route, type RouteDoc } from '../route-doc';
import {
  CampaignIdParams,
  CampaignSignalled,
  CampaignStarted,
  SchedulePaused,
  ScheduleTriggered,
  StartCampaignBody,
  requireCampaign,
} from './campaign-schemas';

/**
 * The campaign lifecycle (seed 004): start goes through the campaign's Schedule; pause, resume,
 * stop and complete are signals to the run in progress. The API never sends anything itself.
 */
export function campaignControlRouter(deps: AppDeps): Router {
  const router = Router();
  const marketer = ['marketer'] as const;
  const { temporal, db } = deps;
  const ids = idsOf(deps);

  /** The run in progress, as the run itself recorded it (the Schedule's own list lags behind). */
  async function runningRun(campaign: Campaign): Promise<string | undefined> {
    if (campaign.status !== 'running' && campaign.status !== 'paused') return undefined;
    return campaign.current_workflow_id ?? undefined;
  }

  router.post(
    '/:id/start',
    route(
      {
        summary: 'Start a campaign through its Temporal Schedule',
        description:
          "Creates the campaign's Temporal Schedule (campaign-<id>, behind the deployment's TEMPORAL_ID_PREFIX), or brings the existing one in line, and marks the campaign scheduled. " +
          'With no timing (here or on the campaign) the Schedule is triggered at once; with scheduled_at it fires once at that time; with cron at every cron time ' +
          "(timing given here replaces the campaign's own). The runs the Schedule starts do the sending: the API sends nothing itself. " +
          'Only a campaign whose template is APPROVED can start; a completed or running campaign cannot (409). A past scheduled_at, or a cron or time zone Temporal rejects, is a 400 and leaves the campaign as it was.',
        access: marketer,
        params: CampaignIdParams,
        body: StartCampaignBody,
        responses: { 202: { description: 'Scheduled', schema: CampaignStarted } },
        errors: ['NOT_FOUND', 'CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ body, req, res }) => {
        const campaign = await requireCampaign(deps, req);
        if (campaign.status === 'completed') throw new HttpError('CONFLICT', 'Campaign is completed; duplicate it to send it again');
        if (await runningRun(campaign)) throw new HttpError('CONFLICT', 'Campaign is already running');
        const template = await db.selectFrom('templates').select(['name', 'status']).where('id', '=', campaign.template_id).executeTakeFirstOrThrow();
        if (template.status !== 'APPROVED') {
          throw new HttpError('CONFLICT', `Template ${template.name} is ${template.status}; only APPROVED templates can be sent`);
        }
        const timing = { scheduled_at: body.scheduled_at ?? null, cron: body.cron ?? null, timezone: body.timezone ?? null };
        const plan: SchedulePlan = body.scheduled_at || body.cron ? planOf(timing) : planOf(campaign);
        if (plan.kind === 'at' && plan.at.getTime() <= Date.now()) {
          throw new HttpError('VALIDATION_ERROR', 'scheduled_at: must be in the future (omit it to start now)');
        }
        // Marked first: a run triggered right away records "running" itself, and must not be overwritten.
        const setStatus = (status: Campaign['status'], extra = {}) =>
          db
            .updateTable('campaigns')
            .set({ status, ...extra, updated_at: new Date() })
            .where('id', '=', campaign.id)
            .execute();
        await setStatus('scheduled', { ...(body.scheduled_at || body.cron ? timing : {}), last_error: null });
        try {
          await applyCampaignSchedule(temporal, ids, deps.taskQueue, campaign.id, plan);
        } catch (err) {
          await setStatus(campaign.status, { scheduled_at: campaign.scheduled_at, cron: campaign.cron, timezone: campaign.timezone });
          throw err;
        }
        res
          .status(202)
          .json({ campaign_id: campaign.id, status: 'scheduled', starts: plan.kind, schedule_id: ids.campaignSchedule(campaign.id) } satisfies CampaignStarted);
      },
    ),
  );

  const signalRun = (
    action: CampaignSignalled['action'],
    doc: Pick<RouteDoc, 'summary' | 'description'>,
    signal: SignalDefinition,
    whenIdle: (c: Campaign, res: Response) => Promise<void>,
  ) =>
    router.post(
      `/:id/${action}`,
      route(
        {
          ...doc,
          access: marketer,
          params: CampaignIdParams,
          responses: { 202: { description: 'Done, or signalled to the run in progress', schema: CampaignSignalled } },
          errors: ['NOT_FOUND', 'CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
        },
        async ({ req, res }) => {
          const campaign = await requireCampaign(deps, req);
          const workflowId = await runningRun(campaign);
          if (!workflowId) return whenIdle(campaign, res);
          try {
            await temporal.workflow.getHandle(workflowId).signal(signal);
          } catch (err) {
            // The run was ended from outside (e.g. terminated in the Web UI): nothing to signal.
            if (err instanceof WorkflowNotFoundError) throw new HttpError('CONFLICT', 'Campaign has no run in progress');
            throw err;
          }
          res.status(202).json({ campaign_id: campaign.id, action, workflow_id: workflowId } satisfies CampaignSignalled);
        },
      ),
    );

  const notRunning = async (c: Campaign) => {
    throw new HttpError('CONFLICT', `Campaign is ${c.status}, not running`);
  };
  signalRun(
    'pause',
    {
      summary: 'Pause the run in progress',
      description:
        'Signals the running campaign workflow to stop sending until resumed; it keeps its place. The Schedule is untouched. 409 when no run is in progress.',
    },
    pauseCampaignSignal,
    notRunning,
  );
  signalRun(
    'resume',
    { summary: 'Resume a paused run', description: 'Signals the paused campaign workflow to go on sending where it left off. 409 when no run is in progress.' },
    resumeCampaignSignal,
    notRunning,
  );
  // Without a run in progress, stop and complete act on the Schedule and the record directly.
  signalRun(
    'stop',
    {
      summary: 'Stop the campaign',
      description:
        'Pauses the Temporal Schedule, so it starts no more runs, and marks the campaign stopped: with a run in progress by signalling the run, which ends ' +
        'within a batch and does both itself (workflow_id names it); without one, directly. Starting it again later goes on with the recipients left. 409 for a completed campaign.',
    },
    stopCampaignSignal,
    async (c, res) => {
      if (c.status === 'completed') throw new HttpError('CONFLICT', 'Campaign is completed');
      await scheduleOp(c.id, (h) => h.pause('campaign stopped'));
      await db.updateTable('campaigns').set({ status: 'stopped', updated_at: new Date() }).where('id', '=', c.id).execute();
      res.status(202).json({ campaign_id: c.id, action: 'stop', workflow_id: null } satisfies CampaignSignalled);
    },
  );
  signalRun(
    'complete',
    {
      summary: 'Close the campaign for good',
      description:
        'Deletes the Temporal Schedule and marks the campaign completed: with a run in progress by signalling the run, which ends within a batch and does both itself; ' +
        'without one, directly. A completed campaign cannot be started again (duplicate it instead).',
    },
    completeCampaignSignal,
    async (c, res) => {
      await scheduleOp(c.id, (h) => h.delete());
      const now = new Date();
      await db.updateTable('campaigns').set({ status: 'completed', finished_at: now, updated_at: now }).where('id', '=', c.id).execute();
      res.status(202).json({ campaign_id: c.id, action: 'complete', workflow_id: null } satisfies CampaignSignalled);
    },
  );

  type Handle = ReturnType<typeof temporal.schedule.getHandle>;
  async function scheduleOp(campaignId: number, op: (h: Handle) => Promise<unknown>, required = false): Promise<void> {
    try {
      await op(temporal.schedule.getHandle(ids.campaignSchedule(campaignId)));
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      if (required) throw new HttpError('NOT_FOUND', `Campaign ${campaignId} has no schedule; start it first`);
    }
  }

  // The Schedule itself, as the Web UI shows it: pause / unpause future runs, or fire one now.
  router.post(
    '/:id/schedule/pause',
    route(
      {
        summary: "Pause the campaign's Temporal Schedule",
        description:
          'The Schedule starts no runs until unpaused; a run in progress is not affected (pause the campaign for that). 404 when the campaign has no Schedule yet.',
        access: marketer,
        params: CampaignIdParams,
        responses: { 200: { description: 'Paused', schema: SchedulePaused } },
        errors: ['NOT_FOUND', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ req }) => {
        const c = await requireCampaign(deps, req);
        await scheduleOp(c.id, (h) => h.pause('paused through the API'), true);
        return { campaign_id: c.id, schedule_id: ids.campaignSchedule(c.id), paused: true } satisfies SchedulePaused;
      },
    ),
  );
  router.post(
    '/:id/schedule/unpause',
    route(
      {
        summary: "Unpause the campaign's Temporal Schedule",
        description: 'The Schedule fires at its times again. 404 when the campaign has no Schedule yet.',
        access: marketer,
        params: CampaignIdParams,
        responses: { 200: { description: 'Unpaused', schema: SchedulePaused } },
        errors: ['NOT_FOUND', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ req }) => {
        const c = await requireCampaign(deps, req);
        await scheduleOp(c.id, (h) => h.unpause('unpaused through the API'), true);
        return { campaign_id: c.id, schedule_id: ids.campaignSchedule(c.id), paused: false } satisfies SchedulePaused;
      },
    ),
  );
  router.post(
    '/:id/schedule/trigger',
    route(
      {
        summary: 'Start one run now through the Schedule',
        description:
          'Marks the campaign scheduled and triggers its Temporal Schedule once (overlap SKIP: never a second run at once), whatever its times. ' +
          '404 when the campaign has no Schedule yet (start it first); 409 when it is completed or a run is in progress.',
        access: marketer,
        params: CampaignIdParams,
        responses: { 202: { description: 'Triggered', schema: ScheduleTriggered } },
        errors: ['NOT_FOUND', 'CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ req, res }) => {
        const c = await requireCampaign(deps, req);
        if (c.status === 'completed') throw new HttpError('CONFLICT', 'Campaign is completed');
        if (await runningRun(c)) throw new HttpError('CONFLICT', 'Campaign is already running');
        if (!(await describeCampaignSchedule(temporal, ids, c.id))) throw new HttpError('NOT_FOUND', `Campaign ${c.id} has no schedule; start it first`);
        // Marked before the trigger, as in start: the run refuses to send for a campaign not scheduled.
        await db.updateTable('campaigns').set({ status: 'scheduled', updated_at: new Date() }).where('id', '=', c.id).execute();
        await scheduleOp(c.id, (h) => h.trigger(ScheduleOverlapPolicy.SKIP), true);
        res.status(202).json({ campaign_id: c.id, schedule_id: ids.campaignSchedule(c.id), triggered: true } satisfies ScheduleTriggered);
      },
    ),
  );

  return router;
}
