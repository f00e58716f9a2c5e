/**
 * Where a fault bit, read from the chats' workflow histories: attempts beyond the first of each
 * activity type (an attempt cut off by a killed worker counts once it is retried), and activities
 * that failed for good.
 */
import type { Client } from '@temporalio/client';
import { chatWorkflowId } from '../src/workflows/definitions';

export interface ActivityRetries {
  /** Extra attempts per activity type, summed over the drill's chats. */
  retries: Record<string, number>;
  /** Activities whose last attempt failed or timed out (retries exhausted), per type. */
  failed: Record<string, number>;
}

export async function activityRetries(client: Client, waIds: string[]): Promise<ActivityRetries> {
  const result: ActivityRetries = { retries: {}, failed: {} };
  const add = (into: Record<string, number>, type: string, n: number) => n > 0 && (into[type] = (into[type] ?? 0) + n);
  for (let i = 0; i < waIds.length; i += 20) {
    const histories = await Promise.all(
      waIds.slice(i, i + 20).map((waId) =>
        client.workflow
          .getHandle(chatWorkflowId(waId))
          .fetchHistory()
          .catch(() => undefined),
      ),
    );
    for (const history of histories) {
      const types = new Map<string, string>();
      // A chat cancels a reply to fold new messages in; one that then fails is taken back, not given up.
      const cancelRequested = new Set<string>();
      for (const e of history?.events ?? []) {
        const scheduled = e.activityTaskScheduledEventAttributes;
        if (scheduled) types.set(String(e.eventId), scheduled.activityType?.name ?? '?');
        const cancel = e.activityTaskCancelRequestedEventAttributes;
        if (cancel) cancelRequested.add(String(cancel.scheduledEventId));
        const started = e.activityTaskStartedEventAttributes;
        if (started) add(result.retries, types.get(String(started.scheduledEventId)) ?? '?', (started.attempt ?? 1) - 1);
        const ended = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
        if (ended && !cancelRequested.has(String(ended.scheduledEventId))) add(result.failed, types.get(String(ended.scheduledEventId)) ?? '?', 1);
      }
    }
  }
  return result;
}
