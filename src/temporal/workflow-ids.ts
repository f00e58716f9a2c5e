import { campaignScheduleId, campaignWorkflowIdPrefix } from '../workflows/campaign-definitions';
import { chatWorkflowId } from '../workflows/definitions';
import { LEAD_SWEEP_SCHEDULE_ID, leadFollowUpWorkflowId } from '../workflows/lead-definitions';
import { WEBHOOK_LOG_RETENTION_SCHEDULE_ID } from '../workflows/webhook-log-definitions';

/** What TEMPORAL_ID_PREFIX may be (src/config.ts checks the same). */
const PREFIX = /^[A-Za-z0-9._-]{0,40}$/;

/**
 * Every workflow and Schedule id this deployment creates or addresses, behind its prefix
 * (TEMPORAL_ID_PREFIX), so two deployments can share a namespace. With the empty prefix they are
 * exactly the ids of the functions in src/workflows/*-definitions.ts, which running workflows have.
 * Computed outside workflow code only (API, activities, worker start-up): no history records them.
 */
export interface WorkflowIds {
  readonly prefix: string;
  /** The chat of one WhatsApp user with one business number: `<prefix>chat-<wa_id>`, `<prefix>chat-<wa_id>@<number id>` for numbers but the default. */
  chat(waId: string, numberId?: number): string;
  /** A campaign's Schedule: `<prefix>campaign-<id>`. */
  campaignSchedule(campaignId: number): string;
  /** The workflow id its Schedule starts runs under (Temporal appends the time): `<prefix>campaign-<id>`. */
  campaignWorkflowPrefix(campaignId: number): string;
  /** A lead's follow-up: `<prefix>lead-followup-<id>`. */
  leadFollowUp(leadId: number): string;
  /** The periodic overdue sweep's Schedule: `<prefix>lead-overdue-sweep`. */
  readonly leadSweepSchedule: string;
  /** The workflow id the sweep's Schedule starts runs under. */
  readonly leadSweepWorkflow: string;
  /** The webhook log retention's Schedule: `<prefix>webhook-log-retention`. */
  readonly webhookLogRetentionSchedule: string;
  /** The workflow id its Schedule starts runs under. */
  readonly webhookLogRetentionWorkflow: string;
}

export function workflowIds(prefix = ''): WorkflowIds {
  if (!PREFIX.test(prefix)) throw new Error(`workflow id prefix ${JSON.stringify(prefix)}: letters, digits, . _ - only, up to 40`);
  return {
    prefix,
    chat: (waId, numberId) => prefix + chatWorkflowId(waId, numberId),
    campaignSchedule: (campaignId) => prefix + campaignScheduleId(campaignId),
    campaignWorkflowPrefix: (campaignId) => prefix + campaignWorkflowIdPrefix(campaignId),
    leadFollowUp: (leadId) => prefix + leadFollowUpWorkflowId(leadId),
    leadSweepSchedule: prefix + LEAD_SWEEP_SCHEDULE_ID,
    leadSweepWorkflow: prefix + LEAD_SWEEP_SCHEDULE_ID,
    webhookLogRetentionSchedule: prefix + WEBHOOK_LOG_RETENTION_SCHEDULE_ID,
    webhookLogRetentionWorkflow: prefix + WEBHOOK_LOG_RETENTION_SCHEDULE_ID,
  };
}

/** Today's ids: what a deployment without TEMPORAL_ID_PREFIX (and every test by default) uses. */
export const DEFAULT_WORKFLOW_IDS: WorkflowIds = workflowIds('');

/** The deployment's ids from optional dependencies (absent: the default, unprefixed ones). */
export const idsOf = (deps: { ids?: WorkflowIds }): WorkflowIds => deps.ids ?? DEFAULT_WORKFLOW_IDS;
