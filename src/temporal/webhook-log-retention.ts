import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import { WEBHOOK_LOG_RETENTION_INTERVAL_MS, WEBHOOK_LOG_RETENTION_WORKFLOW_TYPE, type WebhookLogRetentionInput } from '../workflows/webhook-log-definitions';
import type { webhookLogRetentionWorkflow } from '../workflows/webhook-log-retention';
import type { SweepScheduleChange } from './lead-follow-ups';
import { DEFAULT_WORKFLOW_IDS, type WorkflowIds } from './workflow-ids';

/**
 * The webhook log retention (one per deployment: `<prefix>webhook-log-retention`, every hour),
 * created, or brought in line with WEBHOOK_LOG_RETENTION_DAYS and the task queue, by every worker
 * at start. A Schedule already as wanted is left alone, as the lead sweep's is.
 */
export async function ensureWebhookLogRetentionSchedule(
  client: Client,
  taskQueue: string,
  retentionDays: number,
  ids: WorkflowIds = DEFAULT_WORKFLOW_IDS,
  intervalMs: number = WEBHOOK_LOG_RETENTION_INTERVAL_MS,
): Promise<SweepScheduleChange> {
  const input: WebhookLogRetentionInput = { retentionDays };
  const spec = { intervals: [{ every: intervalMs }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof webhookLogRetentionWorkflow> = {
    type: 'startWorkflow',
    workflowType: WEBHOOK_LOG_RETENTION_WORKFLOW_TYPE,
    workflowId: ids.webhookLogRetentionWorkflow,
    taskQueue,
    args: [input],
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(intervalMs, 60_000) };
  const note = `deletes webhook logs older than ${retentionDays} days`;
  try {
    await client.schedule.create({ scheduleId: ids.webhookLogRetentionSchedule, spec, action, policies, state: { note } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(ids.webhookLogRetentionSchedule);
  if (
    isAsWanted(await handle.describe(), {
      intervalMs,
      taskQueue,
      workflowId: ids.webhookLogRetentionWorkflow,
      retentionDays,
      catchupWindow: policies.catchupWindow,
    })
  ) {
    return 'unchanged';
  }
  await handle.update((previous) => ({ ...previous, spec, action, policies, state: { ...previous.state, note } }));
  return 'updated';
}

function isAsWanted(
  d: ScheduleDescription,
  want: { intervalMs: number; taskQueue: string; workflowId: string; retentionDays: number; catchupWindow: number },
): boolean {
  const { spec, action, policies } = d;
  const [interval, ...more] = spec.intervals ?? [];
  const specAsWanted =
    interval !== undefined &&
    more.length === 0 &&
    interval.every === want.intervalMs &&
    !interval.offset &&
    !spec.calendars?.length &&
    !spec.skip?.length &&
    !spec.startAt &&
    !spec.endAt &&
    !spec.jitter;
  const args = action.type === 'startWorkflow' ? (action.args ?? []) : [];
  const actionAsWanted =
    action.type === 'startWorkflow' &&
    action.workflowType === WEBHOOK_LOG_RETENTION_WORKFLOW_TYPE &&
    action.workflowId === want.workflowId &&
    action.taskQueue === want.taskQueue &&
    args.length === 1 &&
    (args[0] as WebhookLogRetentionInput | undefined)?.retentionDays === want.retentionDays;
  const policiesAsWanted = policies.overlap === ScheduleOverlapPolicy.SKIP && policies.catchupWindow === want.catchupWindow && !policies.pauseOnFailure;
  return specAsWanted && actionAsWanted && policiesAsWanted;
}
