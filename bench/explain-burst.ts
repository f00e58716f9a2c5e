import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);

/** A chat's history after its last signal, as "+ms EVENT (activity)" lines: where a reply's time went. */
export async function explainBurst(client: Client, workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const lastSignal = events.map((e) => e.eventType).lastIndexOf(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  const t0 = ms(events[lastSignal]?.eventTime);
  const names = new Map<number, string>();
  return events.slice(lastSignal).map((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name) names.set(Number(e.eventId), scheduled.activityType.name);
    const ref = e.activityTaskStartedEventAttributes?.scheduledEventId ?? e.activityTaskCompletedEventAttributes?.scheduledEventId;
    const activity = scheduled?.activityType?.name ?? (ref ? names.get(Number(ref)) : undefined);
    const marker = e.markerRecordedEventAttributes?.markerName;
    const type = EventType[e.eventType ?? 0]!.replace('EVENT_TYPE_', '');
    return `+${(ms(e.eventTime) - t0).toFixed(1).padStart(7)}  ${type}${activity ? ` (${activity})` : ''}${marker ? ` (${marker})` : ''}`;
  });
}
