/**
 * Webhook acknowledgement latency at fixed offered loads, open loop: post i is fired at
 * t0 + i/rate whatever happened to the posts before it, and its latency runs from that scheduled
 * time to the end of the 200, so a slow server cannot lower the load it is offered (no coordinated
 * omission). The same loads go to a bare Express app that only verifies the signature: the floor.
 */
import http from 'node:http';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { signBody } from '../src/api/webhook/signature';
import { signalChat } from '../src/temporal/chat-signals';
import { inboundMessageSignal, type InboundMessage } from '../src/workflows/definitions';
import { webhookBody } from '../test/helpers/webhook-payload';
import type { CpuMeter, CpuShares } from './cpu';
import type { ReplyTracker } from './replies';
import { freePort } from '../scripts/temporal-cli';
import { eventually } from '../test/helpers/eventually';
import { ROOT, WEBHOOK_SECRET } from './setup';
import { load1, summary, type Summary } from './stats';

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/** A signed POST as Meta sends it; resolves with the status (0 when the connection failed). */
export function postSigned(url: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      { method: 'POST', agent, timeout: 30_000, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, WEBHOOK_SECRET) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/**
 * Like Meta: a post the API refuses (5xx, no answer) is delivered again, same body and wamid,
 * until it is accepted. Resolves with the last status and how many deliveries it took.
 */
export async function postUntilAccepted(url: string, body: string, attempts = 20): Promise<{ status: number; deliveries: number }> {
  for (let delivery = 1; ; delivery++) {
    const status = await postSigned(url, body);
    if (status === 200 || delivery >= attempts || (status >= 400 && status < 500)) return { status, deliveries: delivery };
    await new Promise((r) => setTimeout(r, 250 * delivery));
  }
}

/** One inbound text message from `waId`, as a webhook body. */
/** Addressed to the bench stack's number (WHATSAPP_PHONE_NUMBER_ID in setup.ts): a message for another is never answered. */
export const messageBody = (waId: string, text: string) =>
  JSON.stringify(webhookBody({ messages: [{ from: waId, text, name: 'Bench User' }], phoneNumberId: 'BENCH' }));

/** How a phase gets one message from `waId` in; resolves with a status, 200 when accepted. */
export type Post = (waId: string, text: string) => Promise<number>;

/** The product's way in: a signed post to the API's webhook. */
export const webhookPost =
  (apiUrl: string): Post =>
  (waId, text) =>
    postSigned(`${apiUrl}/webhooks/whatsapp`, messageBody(waId, text));

export interface LoadResult {
  offeredPerSecond: number;
  seconds: number;
  posts: number;
  non200: number;
  /** Scheduled send → 200 received. */
  latencyMs: Summary;
  /** How late the generator itself fired its posts (it shares the machine): should stay near 0. */
  generatorLagMs: Summary;
  loadAvg: number;
}

/**
 * Fires `n` requests at `rate`/s; `send(i)` makes request i and resolves with its status (200 is
 * success); `onFire(i)` runs as it leaves, `onDone(i, status)` as it is answered.
 */
export async function openLoop(
  rate: number,
  n: number,
  send: (i: number) => Promise<number>,
  hooks: { onFire?: (i: number) => void; onDone?: (i: number, status: number) => void } = {},
): Promise<LoadResult> {
  const interval = 1000 / rate;
  const latencies = new Array<number>(n).fill(NaN);
  const lags = new Array<number>(n).fill(NaN);
  let non200 = 0;
  let done = 0;
  const t0 = performance.now() + 20;
  await new Promise<void>((resolve) => {
    let next = 0;
    const fire = (i: number) => {
      const scheduled = t0 + i * interval;
      lags[i] = performance.now() - scheduled;
      hooks.onFire?.(i);
      void send(i).then((status) => {
        latencies[i] = performance.now() - scheduled;
        if (status !== 200) non200++;
        hooks.onDone?.(i, status);
        if (++done === n) resolve();
      });
    };
    const tick = () => {
      while (next < n && t0 + next * interval <= performance.now()) fire(next++);
      if (next < n) setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
    };
    tick();
  });
  return {
    offeredPerSecond: rate,
    seconds: (n * interval) / 1000,
    posts: n,
    non200,
    latencyMs: summary(latencies),
    generatorLagMs: summary(lags),
    loadAvg: load1(),
  };
}

/**
 * A second API process like the bench's, whose chats land on a task queue nobody polls: the API's
 * own cost at a load, without the worker's work on the same server and CPU that follows.
 */
export async function startUnpolledApi(childEnv: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'api', 'main.ts')], {
    cwd: ROOT,
    env: { ...childEnv, PORT: String(port), TEMPORAL_TASK_QUEUE: 'bench-api-nobody-polls' },
    stdio: ['ignore', openSync(path.join(ROOT, '.data', 'bench-api-unpolled.log'), 'w'), 'inherit'],
  });
  const stop = () => void child.kill('SIGKILL');
  process.once('exit', stop);
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => void (await fetch(`${url}/health`)).arrayBuffer(), 60_000, 200);
  return { url: `${url}/webhooks/whatsapp`, stop };
}

/** The bare Express floor as a child process; resolves with its webhook URL and a stop function. */
export async function startFloorServer(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('bench', 'floor-server.ts')], {
    cwd: ROOT,
    env: { ...process.env, FLOOR_APP_SECRET: WEBHOOK_SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = () => void child.kill('SIGKILL');
  process.once('exit', stop);
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', () => reject(new Error('floor server exited')));
  });
  return { url: `http://127.0.0.1:${port}/webhooks/whatsapp`, stop };
}

export interface WebhookLoadOptions {
  apiUrl: string;
  client: Client;
  childEnv: NodeJS.ProcessEnv;
  rates: number[];
  seconds: number;
  /** Digits that start this run's wa_ids. */
  prefix: string;
  tracker: ReplyTracker;
  /** How long to wait for the worker to answer a load's messages before the next load. */
  drainTimeoutMs: number;
  cpu: CpuMeter;
  log: (line: string) => void;
}

export interface WebhookLoadStep {
  floor: LoadResult;
  /** A bare Temporal client's signal-with-start at the same rate (no API, no worker work after). */
  temporalOnly: LoadResult;
  /** The same API code on a task queue nobody polls: no worker work follows its signals. */
  apiWithoutWorker: LoadResult;
  api: LoadResult;
  chats: number;
  /** Messages the API accepted that got no reply before the next step (should be 0). */
  unanswered: number;
  duplicates: number;
  drainSeconds: number;
  /** Cores each process used while the API was under load. */
  cpu: CpuShares;
}

/**
 * For each rate: the floor, Temporal alone, the API without worker work, the API itself, then a
 * wait until the worker has answered everything the API accepted, so each step starts from a
 * quiet system. Posts go to rate × 2 chats round robin, so each chat writes every 2 s (more than
 * DEBOUNCE_MS: each message is its own burst and gets its own reply, as in a conversation);
 * chats are new at each step, so a step's first round of posts starts their workflows.
 */
export async function webhookLoad(opts: WebhookLoadOptions): Promise<WebhookLoadStep[]> {
  const [floor, unpolled] = await Promise.all([startFloorServer(), startUnpolledApi(opts.childEnv)]);
  const steps: WebhookLoadStep[] = [];
  try {
    for (const [step, rate] of opts.rates.entries()) {
      const n = Math.round(rate * opts.seconds);
      const chats = rate * 2;
      const waId = (i: number, variant = 0) => `${opts.prefix}${step}${variant}${String(i % chats).padStart(5, '0')}`;
      const floorBodies = Array.from({ length: n }, (_, i) => messageBody(waId(i), `floor ${i}`));
      opts.log(`webhook: floor at ${rate}/s for ${opts.seconds} s...`);
      const floorResult = await openLoop(rate, n, (i) => postSigned(floor.url, floorBodies[i]!));

      // What Temporal alone takes at this rate: the API's own signal-with-start call from a bare
      // client, same message shape, to chats on a task queue nobody polls (no worker work follows).
      opts.log(`webhook: bare signal-with-start at ${rate}/s for ${opts.seconds} s...`);
      const temporalOnly = await openLoop(rate, n, (i) => {
        const chat = waId(i, 1);
        const message: InboundMessage = {
          wamid: `wamid.floor-${step}-${i}`,
          waId: chat,
          sentAt: Date.now(),
          type: 'text',
          text: `floor ${i}`,
          contactName: 'Bench User',
          answerable: true,
        };
        return signalChat(opts.client, 'bench-floor-nobody-polls', chat, inboundMessageSignal, message).then(
          () => 200,
          () => 0,
        );
      });

      opts.log(`webhook: API without worker work at ${rate}/s for ${opts.seconds} s...`);
      const unpolledBodies = Array.from({ length: n }, (_, i) => messageBody(waId(i, 2), `unpolled ${i}`));
      const apiWithoutWorker = await openLoop(rate, n, (i) => postSigned(unpolled.url, unpolledBodies[i]!));

      const texts = Array.from({ length: n }, () => opts.tracker.newText());
      const bodies = texts.map((text, i) => messageBody(waId(i), text));
      opts.log(`webhook: API at ${rate}/s for ${opts.seconds} s over ${chats} chats...`);
      const cpu = opts.cpu.start();
      const api = await openLoop(rate, n, (i) => postSigned(`${opts.apiUrl}/webhooks/whatsapp`, bodies[i]!), {
        onFire: (i) => opts.tracker.sent(texts[i]!),
        // Refused by the API: Meta would deliver it again; no reply is owed for this post.
        onDone: (i, status) => {
          if (status !== 200) opts.tracker.forget(texts[i]!);
        },
      });
      const cpuShares = cpu();
      const drainStart = Date.now();
      const accepted = texts.filter((t) => opts.tracker.get(t));
      const unanswered = await opts.tracker.settled(accepted, opts.drainTimeoutMs);
      const drainSeconds = Math.round((Date.now() - drainStart) / 100) / 10;
      opts.log(
        `  floor p50/p99 ${floorResult.latencyMs.p50}/${floorResult.latencyMs.p99} ms; Temporal alone ${temporalOnly.latencyMs.p50}/${temporalOnly.latencyMs.p99} ms; API without worker work ${apiWithoutWorker.latencyMs.p50}/${apiWithoutWorker.latencyMs.p99} ms; API ${api.latencyMs.p50}/${api.latencyMs.p99} ms; worker drained in ${drainSeconds} s`,
      );
      steps.push({
        floor: floorResult,
        temporalOnly,
        apiWithoutWorker,
        api,
        chats,
        unanswered,
        duplicates: opts.tracker.duplicates(texts),
        drainSeconds,
        cpu: cpuShares,
      });
    }
  } finally {
    floor.stop();
    unpolled.stop();
  }
  return steps;
}
