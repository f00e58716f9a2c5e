import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowNotFoundError,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { leadFollowUpWorkflow, leadOverdueSweepWorkflow } from '../workflows/lead-follow-up';
import {
  LEAD_FOLLOW_UP_WORKFLOW_TYPE,
  LEAD_SWEEP_SCHEDULE_ID,
  LEAD_SWEEP_WORKFLOW_TYPE,
  leadClosedSignal,
  leadFollowUpWorkflowId,
  leadRepliedSignal,
  rescheduleFollowUpSignal,
  type LeadFollowUpEnding,
} from '../workflows/lead-definitions';
import { leadIdKey } from '../workflows/search-attributes';

/** Starts the lead's follow-up workflow if needed and (re)sets its due time. */
export async function scheduleLeadFollowUp(client: Client, taskQueue: string, leadId: number, dueAt: Date): Promise<string> {
  const workflowId = leadFollowUpWorkflowId(leadId);
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
export async function notifyLeadFollowUp(client: Client, leadId: number, ending: LeadFollowUpEnding): Promise<void> {
  const handle = client.workflow.getHandle(leadFollowUpWorkflowId(leadId));
  try {
    if (ending === 'replied') await handle.signal(leadRepliedSignal, { at: Date.now() });
    else await handle.signal(leadClosedSignal, { ending });
  } catch (err) {
    // No follow-up was ever scheduled (or it already ended): nothing to tell.
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/** The periodic overdue sweep (fixed id): created, or brought in line, by every worker at start. */
export async function ensureLeadSweepSchedule(client: Client, taskQueue: string, intervalMs: number): Promise<void> {
  const spec = { intervals: [{ every: intervalMs }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof leadOverdueSweepWorkflow> = {
    type: 'startWorkflow',
    workflowType: LEAD_SWEEP_WORKFLOW_TYPE,
    workflowId: 'lead-overdue-sweep',
    taskQueue,
    args: [],
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(intervalMs, 60_000) };
  try {
    await client.schedule.create({ scheduleId: LEAD_SWEEP_SCHEDULE_ID, spec, action, policies, state: { note: 'flags overdue leads' } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(LEAD_SWEEP_SCHEDULE_ID).update((previous) => ({ ...previous, spec, action, policies }));
  }
}
