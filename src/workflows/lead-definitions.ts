/** The lead follow-up and overdue-sweep workflows' contract (no side effects). */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const LEAD_FOLLOW_UP_WORKFLOW_TYPE = 'leadFollowUpWorkflow';
export const LEAD_SWEEP_WORKFLOW_TYPE = 'leadOverdueSweepWorkflow';
/** Fixed id (SPEC §4): created or updated idempotently by every worker at start. */
export const LEAD_SWEEP_SCHEDULE_ID = 'lead-overdue-sweep';

export function leadFollowUpWorkflowId(leadId: number): string {
  return `lead-followup-${leadId}`;
}

export interface FollowUpPlan {
  /** Epoch ms the follow-up is due. */
  dueAt: number;
  /** Epoch ms it was scheduled: a message from the lead after this makes it moot. */
  scheduledAt?: number;
}

export interface LeadFollowUpInput {
  leadId: number;
  plan?: FollowUpPlan;
  /** Follow-ups sent so far (continue-as-new carries it). */
  sent?: number;
  /** Delivery attempts so far: each has its own update id, so a failed one is not replayed. */
  attempts?: number;
}

export type LeadFollowUpEnding = 'replied' | 'won' | 'lost' | 'deleted';

export interface LeadFollowUpView {
  leadId: number;
  phase: 'waiting' | 'due' | 'idle' | 'ended';
  dueAt?: string;
  sent: number;
  postponed: number;
  ending?: LeadFollowUpEnding;
}

export const rescheduleFollowUpSignal = defineSignal<[FollowUpPlan]>('rescheduleFollowUp');
/** The lead answered (any inbound message after the lead exists): no more follow-ups. */
export const leadRepliedSignal = defineSignal<[{ at: number }]>('leadReplied');
export const leadClosedSignal = defineSignal<[{ ending: Exclude<LeadFollowUpEnding, 'replied'> }]>('leadClosed');
export const leadFollowUpQuery = defineQuery<LeadFollowUpView>('leadFollowUp');
