import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleSpec,
} from '@temporalio/client';
import type { Campaign } from '../db/schema';
import type { WorkflowIds } from '../temporal/workflow-ids';
import { HttpError } from './errors';
import type { campaignWorkflow } from '../workflows/campaign';
import { CAMPAIGN_WORKFLOW_TYPE } from '../workflows/campaign-definitions';
import { campaignIdKey } from '../workflows/search-attributes';

export type SchedulePlan = { kind: 'now' } | { kind: 'at'; at: Date } | { kind: 'cron'; cron: string; timezone?: string };

const MONTHS = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'] as const;

export function planOf(c: Pick<Campaign, 'scheduled_at' | 'cron' | 'timezone'>): SchedulePlan {
  if (c.cron) return { kind: 'cron', cron: c.cron, timezone: c.timezone ?? undefined };
  if (c.scheduled_at) return { kind: 'at', at: new Date(c.scheduled_at) };
  return { kind: 'now' };
}

function specFor(plan: SchedulePlan): ScheduleSpec {
  if (plan.kind === 'cron') return { cronExpressions: [plan.cron], timezone: plan.timezone };
  if (plan.kind === 'at') {
    const at = plan.at;
    // One calendar entry matching exactly that second (UTC), fired once (remainingActions: 1).
    return {
      calendars: [
        {
          year: at.getUTCFullYear(),
          month: MONTHS[at.getUTCMonth()]!,
          dayOfMonth: at.getUTCDate(),
          hour: at.getUTCHours(),
          minute: at.getUTCMinutes(),
          second: at.getUTCSeconds(),
        },
      ],
    };
  }
  // "Now" campaigns have a Schedule too (so every run of every campaign is found the same way)
  // that only ever fires when triggered.
  return {};
}

/**
 * Creates the campaign's Schedule (`<prefix>campaign-<id>`) or brings an existing one in line with the plan.
 * Overlap SKIP: a campaign never has two runs at once, whoever triggers it.
 */
export async function applyCampaignSchedule(client: Client, ids: WorkflowIds, taskQueue: string, campaignId: number, plan: SchedulePlan): Promise<void> {
  try {
    await createOrUpdate(client, ids, taskQueue, campaignId, plan);
  } catch (err) {
    // Temporal parses cron expressions and time zones itself; it answers INVALID_ARGUMENT, which
    // the client raises as a TypeError.
    if (err instanceof TypeError || (err as { code?: number }).code === 3) {
      throw new HttpError('VALIDATION_ERROR', `Schedule rejected by Temporal: ${(err as Error).message}`);
    }
    throw err;
  }
}

async function createOrUpdate(client: Client, ids: WorkflowIds, taskQueue: string, campaignId: number, plan: SchedulePlan): Promise<void> {
  const scheduleId = ids.campaignSchedule(campaignId);
  const spec = specFor(plan);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: CAMPAIGN_WORKFLOW_TYPE,
    // Runs are this plus the time they were scheduled for, so they carry the deployment's prefix too.
    workflowId: ids.campaignWorkflowPrefix(campaignId),
    taskQueue,
    args: [{ campaignId }] as Parameters<typeof campaignWorkflow>,
    typedSearchAttributes: [{ key: campaignIdKey, value: String(campaignId) }],
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: 3_600_000 };
  const note = plan.kind === 'cron' ? `campaign ${campaignId}: ${plan.cron}` : `campaign ${campaignId}: ${plan.kind}`;
  const state = { paused: false, note, remainingActions: plan.kind === 'at' ? 1 : undefined };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies, state: { ...state, triggerImmediately: plan.kind === 'now' } });
    return;
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  await handle.update((previous) => ({ ...previous, spec, action, policies, state }));
  if (plan.kind === 'now') await handle.trigger(ScheduleOverlapPolicy.SKIP);
}

export async function describeCampaignSchedule(client: Client, ids: WorkflowIds, campaignId: number): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(ids.campaignSchedule(campaignId)).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

export function scheduleView(description: ScheduleDescription | undefined) {
  if (!description) return null;
  return {
    id: description.scheduleId,
    paused: description.state.paused,
    note: description.state.note ?? null,
    remaining_actions: description.state.remainingActions ?? null,
    next_run_times: description.info.nextActionTimes.slice(0, 5).map((d) => d.toISOString()),
    recent_runs: description.info.recentActions.slice(-5).map((a) => ({
      scheduled_at: a.scheduledAt.toISOString(),
      workflow_id: a.action.workflow.workflowId,
    })),
  };
}
