/** The webhook log retention workflow's contract (no side effects). */

export const WEBHOOK_LOG_RETENTION_WORKFLOW_TYPE = 'webhookLogRetentionWorkflow';
/** Fixed id (SPEC §4): created or updated idempotently by every worker at start. */
export const WEBHOOK_LOG_RETENTION_SCHEDULE_ID = 'webhook-log-retention';
/** How often the Schedule prunes. */
export const WEBHOOK_LOG_RETENTION_INTERVAL_MS = 3_600_000;

export interface WebhookLogRetentionInput {
  /** WEBHOOK_LOG_RETENTION_DAYS: rows received longer ago than this go; 0: every row. */
  retentionDays: number;
  /** Rows per delete statement (default 5,000). */
  batchSize?: number;
  /** Statements per run at most (default 200); a backlog beyond is left to the next run. */
  maxBatches?: number;
}

export interface WebhookLogRetentionResult {
  /** Rows received before this (ISO time) were deleted. */
  cutoff: string;
  deleted: number;
  batches: number;
  /** The run stopped at maxBatches with rows older than the cutoff left. */
  more: boolean;
}
