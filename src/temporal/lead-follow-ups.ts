import { WorkflowNotFoundError, type Client } from '@temporalio/client';
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
import { ensureIntervalSchedule, type ScheduleChange } from './interval-schedule';
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

/**
 * The periodic overdue sweep (one per deployment: `<prefix>lead-overdue-sweep`), created, or
 * brought in line, by every worker at start (see ensureIntervalSchedule).
 */
export function ensureLeadSweepSchedule(
  client: Client,
  taskQueue: string,
  intervalMs: number,
  ids: WorkflowIds = DEFAULT_WORKFLOW_IDS,
): Promise<ScheduleChange> {
  return ensureIntervalSchedule(client, {
    scheduleId: ids.leadSweepSchedule,
    workflowType: LEAD_SWEEP_WORKFLOW_TYPE,
    workflowId: ids.leadSweepWorkflow,
    taskQueue,
    args: [] satisfies Parameters<typeof leadOverdueSweepWorkflow>,
    intervalMs,
    note: 'flags overdue leads',
  });
}
