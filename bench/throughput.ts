/**
 * Sustained end-to-end throughput: N chats, each a closed loop that posts one message through the
 * webhook, waits for its reply at the Graph server, and posts the next at once. Every message is
 * its own burst (nothing else is pending in its chat), so the rate is the system's, not the
 * debounce's. Rate = replies that arrived in the measuring window (after a warm-up) / window.
 * Then sending stops and every accepted message must be answered exactly once. `post` is how a
 * message gets in (the signed webhook, or signal-with-start for the floor actor in bench/floor).
 *
 * The ceiling: in the same run, a bare Temporal client calling signal-with-start (the API's exact
 * call, src/temporal/chat-signals.ts) on the chat workflow type, on a task queue nobody polls,
 * as fast as it can with bounded concurrency.
 */
import type { Client } from '@temporalio/client';
import { signalChat } from '../src/temporal/chat-signals';
import { temporal } from '@temporalio/proto';
import { inboundMessageSignal, type InboundMessage } from '../src/workflows/definitions';
import type { CpuMeter, CpuShares } from './cpu';
import type { ReplyTracker } from './replies';
import { load1, sleep, summary, type Summary } from './stats';
import type { Post } from './webhook-load';

const EventType = temporal.api.enums.v1.EventType;

export interface CeilingResult {
  seconds: number;
  concurrency: number;
  calls: number;
  errors: number;
  perSecond: number;
  latencyMs: Summary;
  loadAvg: number;
}

export async function signalWithStartCeiling(
  client: Client,
  opts: { seconds: number; concurrency: number; chats: number; prefix: string },
): Promise<CeilingResult> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const deadline = start + opts.seconds * 1000;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async (_, lane) => {
      for (let i = lane; performance.now() < deadline; i += opts.concurrency) {
        const waId = `${opts.prefix}${String(i % opts.chats).padStart(5, '0')}`;
        const message: InboundMessage = {
          wamid: `wamid.ceiling-${i}`,
          waId,
          sentAt: Date.now(),
          type: 'text',
          text: `ceiling ${i}`,
          contactName: 'Bench User',
          answerable: true,
        };
        const t0 = performance.now();
        try {
          await signalChat(client, 'bench-ceiling-nobody-polls', waId, inboundMessageSignal, message);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return {
    seconds: Math.round(elapsed * 10) / 10,
    concurrency: opts.concurrency,
    calls: latencies.length,
    errors,
    perSecond: Math.round((latencies.length / elapsed) * 10) / 10,
    latencyMs: summary(latencies),
    loadAvg: load1(),
  };
}

/** What one answered message costs the server: history events and tasks per signal, over a few chats. */
export interface PerMessageCost {
  chats: number;
  messages: number;
  events: number;
  workflowTasks: number;
  activities: number;
  timers: number;
}

async function perMessageCost(client: Client, workflowIds: string[]): Promise<PerMessageCost> {
  const totals = { messages: 0, events: 0, workflowTasks: 0, activities: 0, timers: 0 };
  for (const workflowId of workflowIds) {
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const count = (type: number) => events.filter((e) => e.eventType === type).length;
    totals.messages += count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
    totals.events += events.length;
    totals.workflowTasks += count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    totals.activities += count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    totals.timers += count(EventType.EVENT_TYPE_TIMER_STARTED);
  }
  const per = (n: number) => Math.round((n / totals.messages) * 10) / 10;
  return {
    chats: workflowIds.length,
    messages: totals.messages,
    events: per(totals.events),
    workflowTasks: per(totals.workflowTasks),
    activities: per(totals.activities),
    timers: per(totals.timers),
  };
}

export interface ThroughputResult {
  chats: number;
  warmupSeconds: number;
  windowSeconds: number;
  /** Replies at the Graph server per second within the window. */
  answeredPerSecond: number;
  sent: number;
  refused: number;
  /** Accepted messages with no reply by the end of the drain (should be 0). */
  lost: number;
  /** Messages answered more than once (should be 0). */
  duplicates: number;
  /** Message posted → its reply at Graph, for replies in the window (includes DEBOUNCE_MS). */
  endToEndMs: Summary;
  drainSeconds: number;
  loadAvg: number;
  /** Cores each process used during the window. */
  cpu: CpuShares;
  /** History events, workflow tasks, activities and timers per message, from a few of the chats. */
  perMessage: PerMessageCost;
}

export async function throughput(opts: {
  post: Post;
  /** The workflow id of a wa_id's chat, for the per-message cost from its history. */
  workflowId: (waId: string) => string;
  client: Client;
  tracker: ReplyTracker;
  chats: number;
  warmupSeconds: number;
  windowSeconds: number;
  drainTimeoutMs: number;
  prefix: string;
  cpu: CpuMeter;
}): Promise<ThroughputResult> {
  const texts: string[] = [];
  let refused = 0;
  let stop = false;
  const start = Date.now();
  const windowStart = start + opts.warmupSeconds * 1000;
  const windowEnd = windowStart + opts.windowSeconds * 1000;
  const waIdOf = (c: number) => `${opts.prefix}${String(c).padStart(5, '0')}`;
  const chat = async (c: number) => {
    const waId = waIdOf(c);
    // Chats start spread over the first second, not all in one tick.
    await sleep((c * 1000) / opts.chats);
    while (!stop) {
      const text = opts.tracker.newText();
      opts.tracker.sent(text);
      if ((await opts.post(waId, text)) !== 200) {
        refused++;
        opts.tracker.forget(text);
        await sleep(100);
        continue;
      }
      texts.push(text);
      await opts.tracker.answered(text);
    }
  };
  const loops = Array.from({ length: opts.chats }, (_, c) => chat(c));
  await sleep(windowStart - Date.now());
  const cpu = opts.cpu.start();
  await sleep(windowEnd - Date.now());
  stop = true;
  const cpuShares = cpu();
  const loadAvg = load1();
  const drainStart = Date.now();
  const lost = await opts.tracker.settled(texts, opts.drainTimeoutMs);
  const drainSeconds = Math.round((Date.now() - drainStart) / 100) / 10;
  if (lost === 0) await Promise.all(loops);

  const inWindow = texts.map((t) => opts.tracker.get(t)!).filter((m) => m.answeredAt !== undefined && m.answeredAt >= windowStart && m.answeredAt < windowEnd);
  return {
    chats: opts.chats,
    warmupSeconds: opts.warmupSeconds,
    windowSeconds: opts.windowSeconds,
    answeredPerSecond: Math.round((inWindow.length / opts.windowSeconds) * 10) / 10,
    sent: texts.length,
    refused,
    lost,
    duplicates: opts.tracker.duplicates(texts),
    endToEndMs: summary(inWindow.map((m) => m.answeredAt! - m.sentAt)),
    drainSeconds,
    loadAvg,
    cpu: cpuShares,
    perMessage: await perMessageCost(
      opts.client,
      [0, 1, 2, 3, 4].map((c) => opts.workflowId(waIdOf(c))),
    ),
  };
}
