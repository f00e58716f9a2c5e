import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleDescription } from '@temporalio/client';

export type ScheduleChange = 'created' | 'updated' | 'unchanged';

/** A Schedule that starts one workflow every `intervalMs`, skipping a start while the last still runs. */
export interface IntervalSchedule {
  scheduleId: string;
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  args: unknown[];
  intervalMs: number;
  /** Shown in the Web UI's Schedules page. */
  note: string;
}

/**
 * Creates the Schedule, or brings it in line, as every worker does at start. One already as
 * wanted is left alone, so a restart does not rewrite it (nor bump its update time in the Web UI).
 */
export async function ensureIntervalSchedule(client: Client, want: IntervalSchedule): Promise<ScheduleChange> {
  const spec = { intervals: [{ every: want.intervalMs }] };
  const action = { type: 'startWorkflow' as const, workflowType: want.workflowType, workflowId: want.workflowId, taskQueue: want.taskQueue, args: want.args };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(want.intervalMs, 60_000) };
  try {
    await client.schedule.create({ scheduleId: want.scheduleId, spec, action, policies, state: { note: want.note } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(want.scheduleId);
  if (isAsWanted(await handle.describe(), want, policies.catchupWindow)) return 'unchanged';
  await handle.update((previous) => ({ ...previous, spec, action, policies, state: { ...previous.state, note: want.note } }));
  return 'updated';
}

/** Whether the Schedule already has the spec, action and policies ensureIntervalSchedule sets. */
function isAsWanted(d: ScheduleDescription, want: IntervalSchedule, catchupWindow: number): boolean {
  const { spec, action, policies } = d;
  const [interval, ...moreIntervals] = spec.intervals ?? [];
  const specAsWanted =
    interval !== undefined &&
    moreIntervals.length === 0 &&
    interval.every === want.intervalMs &&
    !interval.offset &&
    !spec.calendars?.length &&
    !spec.skip?.length &&
    !spec.startAt &&
    !spec.endAt &&
    !spec.jitter;
  const actionAsWanted =
    action.type === 'startWorkflow' &&
    action.workflowType === want.workflowType &&
    action.workflowId === want.workflowId &&
    action.taskQueue === want.taskQueue &&
    JSON.stringify(action.args ?? []) === JSON.stringify(want.args);
  const policiesAsWanted = policies.overlap === ScheduleOverlapPolicy.SKIP && policies.catchupWindow === catchupWindow && !policies.pauseOnFailure;
  return specAsWanted && actionAsWanted && policiesAsWanted;
}
