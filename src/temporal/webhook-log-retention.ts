import type { Client } from '@temporalio/client';
import { WEBHOOK_LOG_RETENTION_INTERVAL_MS, WEBHOOK_LOG_RETENTION_WORKFLOW_TYPE, type WebhookLogRetentionInput } from '../workflows/webhook-log-definitions';
import type { webhookLogRetentionWorkflow } from '../workflows/webhook-log-retention';
import { ensureIntervalSchedule, type ScheduleChange } from './interval-schedule';
import { DEFAULT_WORKFLOW_IDS, type WorkflowIds } from './workflow-ids';

/**
 * The webhook log retention (one per deployment: `<prefix>webhook-log-retention`, every hour),
 * created, or brought in line with WEBHOOK_LOG_RETENTION_DAYS and the task queue, by every worker
 * at start (see ensureIntervalSchedule).
 */
export function ensureWebhookLogRetentionSchedule(
  client: Client,
  taskQueue: string,
  retentionDays: number,
  ids: WorkflowIds = DEFAULT_WORKFLOW_IDS,
  intervalMs: number = WEBHOOK_LOG_RETENTION_INTERVAL_MS,
): Promise<ScheduleChange> {
  const input: WebhookLogRetentionInput = { retentionDays };
  return ensureIntervalSchedule(client, {
    scheduleId: ids.webhookLogRetentionSchedule,
    workflowType: WEBHOOK_LOG_RETENTION_WORKFLOW_TYPE,
    workflowId: ids.webhookLogRetentionWorkflow,
    taskQueue,
    args: [input] satisfies Parameters<typeof webhookLogRetentionWorkflow>,
    intervalMs,
    note: `deletes webhook logs older than ${retentionDays} days`,
  });
}
