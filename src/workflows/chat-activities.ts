/**
 * Every activity the chat workflow (v2) runs, with its options, in one place. Retry options are not
 * part of the determinism check, so they can change under running chats; timeouts and the
 * cancellation type are pinned in each scheduled activity's history event.
 */
import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ChatSettings } from './definitions';

// The worker's behaviour settings, once per run (a local activity: one marker, no round trip).
export const { loadChatSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });

// The number's AI configuration, once per burst (a local activity: one marker, the version it
// names is in history). Retried through a Postgres outage like every write.
export const { loadAiConfiguration } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

// Postgres writes: retried until the database is back, so nothing received is ever dropped.
export const { recordInboundMessages, syncConversation, applyOptKeyword } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

// Sends outside a reply (operator messages, follow-ups, notices): retried through a Postgres or
// WhatsApp outage of up to 10 minutes (a message later than that is worse than flagging a human);
// non-retryable WhatsApp errors stop at once.
export const { sendWhatsAppMessage } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '10 minutes',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '20s' },
});

/** Room in one reply attempt besides the model: a send (Graph gives up after 15 s) and a receipt wait. */
const REPLY_SEND_ROOM_MS = 40_000;

/**
 * A burst's reply: record, ask the model, send, in one activity (src/activities/reply.ts).
 * - Heartbeats (every 500 ms while it runs) carry the draft to a retry, and bring it the chat's
 *   cancellation (new messages to fold in, or a takeover) before it sends; the heartbeat timeout
 *   finds a dead worker in seconds rather than at the start-to-close timeout.
 * - WAIT_CANCELLATION_COMPLETED: a cancel the activity did not see before sending is answered
 *   with what it sent, so the chat never takes a sent reply for a dropped one.
 * - Retried for up to 10 minutes like every send; the model's own attempts are capped inside
 *   (LLM_MAX_ATTEMPTS, then the fallback reply).
 */
export function replyActivity(settings: ChatSettings): Activities['replyToBurst'] {
  return proxyActivities<Activities>({
    startToCloseTimeout: settings.llmTimeoutMs + REPLY_SEND_ROOM_MS,
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: '10 minutes',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: settings.llmRetryInitialMs, backoffCoefficient: 2, maximumInterval: '20s' },
  }).replyToBurst;
}
