/**
 * One chat taking many messages through the webhook: bursts of `burst` messages (posted 4 at a
 * time, a refused post delivered again as Meta does), each burst answered before the next starts, so the chat goes quiet between bursts as
 * the debounce requires and may continue-as-new there. Afterwards the chain of runs is walked
 * back from the current one: runs (continue-as-new count + 1), each run's history length and
 * status, failed workflow tasks; and Postgres must hold every message once.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import { chatWorkflowId } from '../src/workflows/definitions';
import type { ReplyTracker } from './replies';
import { load1 } from './stats';
import { messageBody, postUntilAccepted } from './webhook-load';

const EventType = temporal.api.enums.v1.EventType;
const WorkflowTaskFailedCause = temporal.api.enums.v1.WorkflowTaskFailedCause;
// Activity failures appear in history only once retries are exhausted; a workflow task timing
// out (e.g. a sticky task the busy worker did not pick up in time) is retried and counted apart.
const FAILURE_EVENTS = new Set([
  EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
]);

export interface LongChatResult {
  messages: number;
  burst: number;
  seconds: number;
  /** Posts the API refused (5xx) at first and accepted when delivered again, as Meta does. */
  redelivered: number;
  /** Posts never accepted, after 20 deliveries. */
  refused: number;
  unanswered: number;
  runs: number;
  continueAsNew: number;
  largestHistoryEvents: number;
  largestHistoryBytes: number;
  /** Every run's status, oldest first: all ContinuedAsNew but the last, which is Running. */
  statuses: string[];
  /** Failed workflow tasks, failed or timed-out activities, failed or terminated runs (should be 0). */
  failureEvents: number;
  /** Workflow tasks that timed out and were retried: a sign of an overloaded worker, not a failure. */
  workflowTaskTimeouts: number;
  /**
   * Continue-as-new completions the server refused because a signal had just arrived
   * (UnhandledCommand): the task runs again with the signal, which is how none is lost.
   */
  continueAsNewRacedBySignal: number;
  /** The same, by event type, with the first one's failure message. */
  failures: Record<string, number>;
  firstFailure?: string;
  recordedInbound: number;
  recordedDistinctWamids: number;
  loadAvg: number;
}

export async function longChat(opts: {
  apiUrl: string;
  client: Client;
  databaseUrl: string;
  tracker: ReplyTracker;
  waId: string;
  messages: number;
  burst: number;
  log: (line: string) => void;
}): Promise<LongChatResult> {
  const url = `${opts.apiUrl}/webhooks/whatsapp`;
  const start = Date.now();
  let refused = 0;
  let redelivered = 0;
  let unanswered = 0;
  for (let sent = 0; sent < opts.messages; sent += opts.burst) {
    const texts = Array.from({ length: Math.min(opts.burst, opts.messages - sent) }, () => opts.tracker.newText());
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < texts.length) {
          const text = texts[next++]!;
          opts.tracker.sent(text);
          const { status, deliveries } = await postUntilAccepted(url, messageBody(opts.waId, text));
          if (deliveries > 1) redelivered++;
          if (status !== 200) {
            refused++;
            opts.tracker.forget(text);
          }
        }
      }),
    );
    unanswered += await opts.tracker.settled(
      texts.filter((t) => opts.tracker.get(t)),
      60_000,
    );
    if ((sent / opts.burst) % 10 === 9) opts.log(`  long chat: ${sent + texts.length} messages in ${Math.round((Date.now() - start) / 1000)} s`);
  }
  const seconds = Math.round((Date.now() - start) / 100) / 10;

  const runs: { status: string; events: number; bytes: number; failures: number; timeouts: number; raced: number }[] = [];
  const failures: Record<string, number> = {};
  let firstFailure: string | undefined;
  let runId: string | undefined = (await opts.client.workflow.getHandle(chatWorkflowId(opts.waId)).describe()).runId;
  while (runId) {
    const handle: WorkflowHandle = opts.client.workflow.getHandle(chatWorkflowId(opts.waId), runId);
    const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
    const events = history.events ?? [];
    const raced = (e: temporal.api.history.v1.IHistoryEvent) =>
      e.workflowTaskFailedEventAttributes?.cause === WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND;
    const failed = events.filter((e) => FAILURE_EVENTS.has(e.eventType ?? 0) && !raced(e));
    for (const e of failed) {
      const type = EventType[e.eventType ?? 0]!.replace('EVENT_TYPE_', '');
      failures[type] = (failures[type] ?? 0) + 1;
      const failure =
        e.workflowTaskFailedEventAttributes?.failure ??
        e.activityTaskFailedEventAttributes?.failure ??
        e.activityTaskTimedOutEventAttributes?.failure ??
        e.workflowExecutionFailedEventAttributes?.failure;
      firstFailure ??= `${type}${failure?.message ? `: ${failure.message}` : ''}`;
    }
    runs.unshift({
      status: description.status.name,
      events: events.length,
      bytes: description.historySize ?? 0,
      failures: failed.length,
      raced: events.filter(raced).length,
      timeouts: events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT).length,
    });
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }

  const db = new pg.Client({ connectionString: opts.databaseUrl });
  await db.connect();
  const { rows } = await db.query<{ n: string; distinct: string }>(
    `select count(*) as n, count(distinct m.wamid) as distinct
       from messages m join conversations c on c.id = m.conversation_id
      where c.wa_id = $1 and m.direction = 'inbound'`,
    [opts.waId],
  );
  await db.end();

  return {
    messages: opts.messages,
    burst: opts.burst,
    seconds,
    redelivered,
    refused,
    unanswered,
    runs: runs.length,
    continueAsNew: runs.length - 1,
    largestHistoryEvents: Math.max(...runs.map((r) => r.events)),
    largestHistoryBytes: Math.max(...runs.map((r) => r.bytes)),
    statuses: runs.map((r) => r.status),
    failureEvents: runs.reduce((n, r) => n + r.failures, 0),
    workflowTaskTimeouts: runs.reduce((n, r) => n + r.timeouts, 0),
    continueAsNewRacedBySignal: runs.reduce((n, r) => n + r.raced, 0),
    failures,
    firstFailure,
    recordedInbound: Number(rows[0]!.n),
    recordedDistinctWamids: Number(rows[0]!.distinct),
    loadAvg: load1(),
  };
}
