/**
 * Run by the Schedule `webhook-log-retention` (every hour): deletes webhook log rows older than
 * WEBHOOK_LOG_RETENTION_DAYS in bounded batches, each one activity, so no statement holds a long
 * lock and a large backlog is worked off over several runs rather than in one huge delete.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { WebhookLogRetentionInput, WebhookLogRetentionResult } from './webhook-log-definitions';

const DAY_MS = 86_400_000;

const { pruneWebhookLogBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

export async function webhookLogRetentionWorkflow(input: WebhookLogRetentionInput): Promise<WebhookLogRetentionResult> {
  const batchSize = Math.max(1, input.batchSize ?? 5000);
  const maxBatches = Math.max(1, input.maxBatches ?? 200);
  // Date.now() is the workflow's own clock here (deterministic on replay): one cutoff for the whole run.
  const cutoff = Date.now() - Math.max(0, input.retentionDays) * DAY_MS;
  let deleted = 0;
  for (let batches = 1; batches <= maxBatches; batches++) {
    const n = await pruneWebhookLogBatch({ before: cutoff, limit: batchSize });
    deleted += n;
    if (n < batchSize) return { cutoff: new Date(cutoff).toISOString(), deleted, batches, more: false };
  }
  return { cutoff: new Date(cutoff).toISOString(), deleted, batches: maxBatches, more: true };
}
