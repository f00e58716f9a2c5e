import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { leadFollowUpWorkflow, leadOverdueSweepWorkflow } from '../workflows/lead-follow-up';
import {
  LEAD_FOLLOW_UP_WORKFLOW_TYPE,
  LEAD_SWEEP_WORKFLOW_TYPE,
  leadClosedSignal,
  leadRepliedSignal,
  rescheduleFollowUpSignal,
  type LeadFollowUpEnding,
} from '../workflows/lead-definitions';
import { leadIdKey } from '../workflows/search-attributes';
import { DEFAULT_WORKFLOW_IDS, type WorkflowIds } from './workflow-ids';

/** Starts the lead's follow-up workflow if needed and (re)sets its due time. */
export async function scheduleLeadFollowUp(
  client: Client,
  taskQueue: string,
  leadId: number,
  dueAt: Date,
  ids: WorkflowIds = DEFAULT_WORKFLOW_IDS,
): Promise<string> {
  const workflowId = ids.leadFollowUp(leadId);
  await client.workflow.signalWithStart<typeof leadFollowUpWorkflow, [{ dueAt: number }]>(LEAD_FOLLOW_UP_WORKFLOW_TYPE, {
    workflowId,
    taskQueue,
    args: [{ leadId }],
    signal: rescheduleFollowUpSignal,
    signalArgs: [{ dueAt: dueAt.getTime() }],
    typedSearchAttributes: [{ key: leadIdKey, value: String(leadId) }],
  });
  return workflowId;
}

/** Tells a lead's follow-up workflow, if it runs, that the lead replied or was closed. */
export async function notifyLeadFollowUp(client: Client, leadId: number, ending: LeadFollowUpEnding, ids: WorkflowIds = DEFAULT_WORKFLOW_IDS): Promise<void> {
  const handle = client.workflow.getHandle(ids.leadFollowUp(leadId));
  try {
    if (ending === 'replied') await handle.signal(leadRepliedSignal, { at: Date.now() });
    else await handle.signal(leadClosedSignal, { ending });
  } catch (err) {
    // No follow-up was ever scheduled (or it already ended): nothing to tell.
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

export type SweepScheduleChange = 'created' | 'updated' | 'unchanged';

/**
 * The periodic overdue sweep (one per deployment: `<prefix>lead-overdue-sweep`), created, or
 * brought in line, by every worker at start. A Schedule already as wanted is left alone, so a
 * restart does not rewrite it (nor bump its update time in the Web UI).
 */
export async function ensureLeadSweepSchedule(
  client: Client,
  taskQueue: string,
  intervalMs: number,
  ids: WorkflowIds = DEFAULT_WORKFLOW_IDS,
): Promise<SweepScheduleChange> {
  const spec = { intervals: [{ every: intervalMs }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof leadOverdueSweepWorkflow> = {
    type: 'startWorkflow',
    workflowType: LEAD_SWEEP_WORKFLOW_TYPE,
    workflowId: ids.leadSweepWorkflow,
    taskQueue,
    args: [],
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(intervalMs, 60_000) };
  try {
    await client.schedule.create({ scheduleId: ids.leadSweepSchedule, spec, action, policies, state: { note: 'flags overdue leads' } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(ids.leadSweepSchedule);
  if (sweepScheduleIsAsWanted(await handle.describe(), { intervalMs, taskQueue, workflowId: ids.leadSweepWorkflow, catchupWindow: policies.catchupWindow })) {
    return 'unchanged';
  }
  await handle.update((previous) => ({ ...previous, spec, action, policies }));
  return 'updated';
}

/** Whether the sweep's Schedule already has the spec, action and policies ensureLeadSweepSchedule sets. */
function sweepScheduleIsAsWanted(d: ScheduleDescription, want: { intervalMs: number; taskQueue: string; workflowId: string; catchupWindow: number }): boolean {
  const { spec, action, policies } = d;
  const [interval, ...moreIntervals] = spec.intervals ?? [];
  const specAsWanted =
    interval !== undefined &&
    moreIntervals.length === 0 &&
    interval.every === want.intervalMs &&
    !interval.offset &&
    !spec.calendars?.length &&
    !spec.skip?.length &&
    !spec.startAt &&
    !spec.endAt &&
    !spec.jitter;
  const actionAsWanted =
    action.type === 'startWorkflow' &&
    action.workflowType === LEAD_SWEEP_WORKFLOW_TYPE &&
    action.workflowId === want.workflowId &&
    action.taskQueue === want.taskQueue &&
    (action.args ?? []).length === 0;
  const policiesAsWanted = policies.overlap === ScheduleOverlapPolicy.SKIP && policies.catchupWindow === want.catchupWindow && !policies.pauseOnFailure;
  return specAsWanted && actionAsWanted && policiesAsWanted;
}
