/**
 * One workflow per lead with a follow-up (LeadId search attribute). It sleeps durably until the
 * follow-up is due, then sends it through the lead's chat: free text inside the 24 h window, the
 * lead's template outside it, and later again while an operator holds the chat. A reschedule
 * signal moves the due time; a reply, a conversion or a close ends it.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  leadClosedSignal,
  leadFollowUpQuery,
  leadRepliedSignal,
  rescheduleFollowUpSignal,
  type LeadFollowUpEnding,
  type LeadFollowUpInput,
  type LeadFollowUpView,
} from './lead-definitions';
import { leadIdKey } from './search-attributes';

const { loadChatSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });
// Above the chat's own send budget (six attempts, about 3.5 minutes), so a slow send is not
// abandoned and asked for again while it is still going.
const { deliverLeadFollowUp } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8 },
});
const { recordLeadEvent } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

const { flagOverdueLeads } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5 },
});

const CONTINUE_AS_NEW_AFTER_EVENTS = 1_000;

export async function leadFollowUpWorkflow({ leadId, plan, sent: sentBefore = 0, attempts: attemptsBefore = 0 }: LeadFollowUpInput) {
  const settings = await loadChatSettings();
  upsertSearchAttributes([{ key: leadIdKey, value: String(leadId) }]);
  let dueAt = plan?.dueAt;
  let scheduledAt = plan?.scheduledAt ?? Date.now();
  let sent = sentBefore;
  let attempts = attemptsBefore;
  let postponed = 0;
  let changes = 0;
  let ending: LeadFollowUpEnding | undefined;
  let phase: LeadFollowUpView['phase'] = 'idle';

  setHandler(rescheduleFollowUpSignal, (next) => {
    dueAt = next.dueAt;
    scheduledAt = Date.now();
    changes++;
  });
  setHandler(leadRepliedSignal, () => void (ending ??= 'replied'));
  setHandler(leadClosedSignal, ({ ending: why }) => void (ending ??= why));
  setHandler(leadFollowUpQuery, () => ({
    leadId,
    phase: ending ? 'ended' : phase,
    dueAt: dueAt === undefined ? undefined : new Date(dueAt).toISOString(),
    sent,
    postponed,
    ending,
  }));

  for (;;) {
    if (ending) {
      if (dueAt !== undefined) {
        await recordLeadEvent({
          leadId,
          type: 'follow_up_cancelled',
          description: `Follow-up due ${new Date(dueAt).toISOString()} cancelled: lead ${ending}`,
        });
      }
      phase = 'ended';
      return { leadId, ending, sent };
    }
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= CONTINUE_AS_NEW_AFTER_EVENTS) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof leadFollowUpWorkflow>({ leadId, plan: dueAt === undefined ? undefined : { dueAt, scheduledAt }, sent, attempts });
    }
    const seen = changes;
    const interrupted = () => ending !== undefined || changes !== seen;
    if (dueAt === undefined) {
      phase = 'idle';
      await condition(interrupted);
      continue;
    }
    if (dueAt > Date.now()) {
      phase = 'waiting';
      await condition(interrupted, dueAt - Date.now());
      continue;
    }
    phase = 'due';
    // The update id makes a retried activity (or a retried update) send once; a new attempt
    // after a failure gets a new id, so the stored failure is not handed back.
    attempts++;
    let outcome: Awaited<ReturnType<typeof deliverLeadFollowUp>>;
    try {
      outcome = await deliverLeadFollowUp({ leadId, updateId: `lead-${leadId}-${info.firstExecutionRunId}-${attempts}`, notIfInboundSince: scheduledAt });
    } catch {
      // Retries spent (Temporal or Postgres down for long): on record, and tried again later.
      await recordLeadEvent({ leadId, type: 'follow_up_postponed', description: 'Follow-up could not be delivered yet; trying again later' });
      outcome = { result: 'postponed' };
    }
    // A reschedule that arrived meanwhile wins over whatever this outcome would set.
    const rescheduled = changes !== seen;
    if (outcome.result === 'sent') sent++;
    if (outcome.result === 'postponed') postponed++;
    if (outcome.result === 'closed') ending ??= outcome.ending;
    if (rescheduled) continue;
    dueAt = outcome.result === 'postponed' ? Date.now() + settings.leadFollowUpPostponeMs : undefined;
  }
}

/** Run by the Schedule `lead-overdue-sweep`: flags open leads whose follow-up went unanswered. */
export async function leadOverdueSweepWorkflow(): Promise<{ flagged: number }> {
  return flagOverdueLeads();
}
