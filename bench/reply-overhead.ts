/**
 * Reply overhead: bursts of 3 messages 100 ms apart, each on a new chat, a new burst starting
 * every 250 ms (a few in flight, a light load). Overhead = the reply's arrival at the Graph server
 * − (the burst's last message leaving the bench + DEBOUNCE_MS): everything the system adds to the
 * debounce it is asked for (webhook, signal, workflow tasks, LLM and send activities).
 * `post` is how a message gets in: the signed webhook for the product, a bare signal-with-start
 * for the minimal chat actor (bench/floor), so both are measured the same way.
 */
import type { Client } from '@temporalio/client';
import { explainBurst } from './explain-burst';
import type { ReplyTracker } from './replies';
import { load1, sleep, summary, type Summary } from './stats';
import type { Post } from './webhook-load';

export interface ReplyOverheadResult {
  bursts: number;
  debounceMs: number;
  overheadMs: Summary;
  failedPosts: number;
  /** Bursts with no reply within 10 × DEBOUNCE_MS + 30 s (should be 0). */
  unanswered: number;
  /** Where the slowest burst's time went, from its workflow history. */
  slowestBurst: string[];
  loadAvg: number;
}

export async function replyOverhead(opts: {
  post: Post;
  /** The workflow id of a wa_id's chat, to explain the slowest burst from its history. */
  workflowId: (waId: string) => string;
  client: Client;
  tracker: ReplyTracker;
  bursts: number;
  debounceMs: number;
  prefix: string;
}): Promise<ReplyOverheadResult> {
  let failedPosts = 0;
  const one = async (b: number): Promise<{ waId: string; overhead: number }> => {
    const waId = `${opts.prefix}${String(b).padStart(5, '0')}`;
    let lastSentAt = 0;
    let lastText = '';
    for (let m = 0; m < 3; m++) {
      if (m > 0) await sleep(100);
      lastText = opts.tracker.newText();
      lastSentAt = Date.now();
      opts.tracker.sent(lastText, lastSentAt);
      if ((await opts.post(waId, lastText)) !== 200) failedPosts++;
    }
    const answeredAt = await Promise.race([opts.tracker.answered(lastText), sleep(opts.debounceMs * 10 + 30_000).then(() => NaN)]);
    return { waId, overhead: answeredAt - lastSentAt - opts.debounceMs };
  };
  const runs: Promise<{ waId: string; overhead: number }>[] = [];
  for (let b = 0; b < opts.bursts; b++) {
    runs.push(one(b));
    await sleep(250);
  }
  const results = await Promise.all(runs);
  const slowest = results.reduce((a, b) => (Number.isNaN(b.overhead) || b.overhead > a.overhead ? b : a));
  return {
    bursts: opts.bursts,
    debounceMs: opts.debounceMs,
    overheadMs: summary(results.map((r) => r.overhead)),
    failedPosts,
    unanswered: results.filter((r) => Number.isNaN(r.overhead)).length,
    slowestBurst: await explainBurst(opts.client, opts.workflowId(slowest.waId)),
    loadAvg: load1(),
  };
}
