/**
 * The webhook's Temporal deadline (WEBHOOK_TEMPORAL_TIMEOUT_MS) under a burst of new chats: each
 * post is a user Temporal has never seen, so it is a signal-with-start that creates a workflow,
 * the most expensive thing a webhook asks. For each deadline an API process with that setting
 * takes `posts` such posts, `concurrency` at a time, as fast as it answers; a post answered 502
 * is one Meta would deliver again later. Reports how many were refused and how long the answers
 * took, so the default can be chosen from figures (and rerun against a real cluster with
 * BENCH_TEMPORAL_ADDRESS, where signal-with-start costs several times the dev server's).
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../scripts/temporal-cli';
import { eventually } from '../test/helpers/eventually';
import type { ReplyTracker } from './replies';
import { ROOT, describeTemporal, killOnExit, type BenchStack } from './setup';
import { load1, sleep, summary, type Summary } from './stats';
import { messageBody, postSigned } from './webhook-load';

export interface WebhookDeadlineOptions {
  stack: BenchStack;
  tracker: ReplyTracker;
  deadlinesMs: number[];
  posts: number;
  concurrency: number;
  /** Digits every wa_id of this run starts with. */
  run: string;
  log: (line: string) => void;
}

export interface DeadlineFigure {
  deadlineMs: number;
  posts: number;
  accepted: number;
  refused502: number;
  /** Connection errors, timeouts and any other status. */
  otherFailures: number;
  postsPerSecond: number;
  latencyMs: Summary;
  loadAvg: number;
}

export interface WebhookDeadlineResult {
  temporal: string;
  concurrency: number;
  figures: DeadlineFigure[];
}

export async function webhookDeadline(o: WebhookDeadlineOptions): Promise<WebhookDeadlineResult> {
  const figures: DeadlineFigure[] = [];
  for (const [i, deadlineMs] of o.deadlinesMs.entries()) {
    const api = await startApi(o.stack, deadlineMs);
    try {
      o.log(`webhook deadline ${deadlineMs} ms: ${o.posts} posts from new users, ${o.concurrency} at a time`);
      figures.push(await burst(api.url, deadlineMs, `${o.run}${7 + i}`, o));
      const last = figures[figures.length - 1]!;
      o.log(`  accepted ${last.accepted}, 502 ${last.refused502}, other ${last.otherFailures}, p50 ${last.latencyMs.p50} ms, p99 ${last.latencyMs.p99} ms`);
    } finally {
      api.stop();
    }
    // The next deadline starts from a quiet system: every new chat has had its first reply.
    await quiet(o.tracker);
  }
  return { temporal: describeTemporal(o.stack.temporal), concurrency: o.concurrency, figures };
}

async function burst(url: string, deadlineMs: number, prefix: string, o: WebhookDeadlineOptions): Promise<DeadlineFigure> {
  const latencies: number[] = [];
  let accepted = 0;
  let refused502 = 0;
  let otherFailures = 0;
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < o.posts) {
      const n = next++;
      const waId = `${prefix}${String(n).padStart(7, '0')}`;
      const t0 = performance.now();
      const status = await postSigned(url, messageBody(waId, `hello ${n}`));
      latencies.push(performance.now() - t0);
      if (status === 200) accepted++;
      else if (status === 502) refused502++;
      else otherFailures++;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = (Date.now() - started) / 1000;
  return {
    deadlineMs,
    posts: o.posts,
    accepted,
    refused502,
    otherFailures,
    postsPerSecond: Math.round(o.posts / seconds),
    latencyMs: summary(latencies),
    loadAvg: load1(),
  };
}

/** Another API process on the same stack, with its own deadline. */
async function startApi(stack: BenchStack, deadlineMs: number): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    cwd: ROOT,
    env: { ...stack.childEnv, PORT: String(port), WEBHOOK_TEMPORAL_TIMEOUT_MS: String(deadlineMs) },
    stdio: ['ignore', openSync(path.join(ROOT, '.data', `bench-api-deadline-${deadlineMs}.log`), 'w'), 'inherit'],
  });
  killOnExit(child);
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if ((await fetch(`${url}/live`)).status !== 200) throw new Error('API not up');
    },
    60_000,
    250,
  );
  return { url: `${url}/webhooks/whatsapp`, stop: () => child.kill('SIGTERM') };
}

/** Until no reply went out for 3 s (at most 3 minutes). */
async function quiet(tracker: ReplyTracker): Promise<void> {
  const until = Date.now() + 180_000;
  let seen = -1;
  while (Date.now() < until) {
    const now = tracker.replies;
    if (now === seen) return;
    seen = now;
    await sleep(3000);
  }
}

export function webhookDeadlineSection(r: WebhookDeadlineResult, at: string): string {
  const rows = r.figures.map(
    (f) =>
      `| ${f.deadlineMs} | ${f.posts} | ${f.accepted} | ${f.refused502} (${((f.refused502 / f.posts) * 100).toFixed(1)} %) | ${f.otherFailures} | ${f.postsPerSecond} | ${f.latencyMs.p50} | ${f.latencyMs.p99} | ${f.latencyMs.max} | ${f.loadAvg} |`,
  );
  return [
    `\`npm run bench -- --only webhook-deadline\`, ${at}, on ${r.temporal}. Each post is a new user (a signal-with-start that creates the chat), ${r.concurrency} in flight at a time, as fast as the API answers; each deadline has its own API process (WEBHOOK_TEMPORAL_TIMEOUT_MS), the same worker. A 502 is a post the provider delivers again later.`,
    '',
    '| deadline ms | posts | accepted | 502 | other failures | posts/s | p50 ms | p99 ms | max ms | load avg |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
