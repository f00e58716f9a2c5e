/**
 * `npm run bench` (`-- --quick` for a smaller run of about 2–3 minutes): brings up its own Temporal dev
 * server, Postgres database, worker and API processes and zero-latency Graph / OpenAI servers on
 * loopback (bench/setup.ts), measures, and writes bench/results/latest.json and latest.md.
 * Phases, in order, each starting from a quiet system: reply overhead, webhook latency at fixed
 * loads next to a bare Express floor, the signal-with-start ceiling, end-to-end throughput, one
 * long chat, worker memory with many idle chats. Reply overhead and throughput are each run first
 * on a minimal chat actor (bench/floor: one timer, one activity, its own worker process, driven by
 * signal-with-start) and the product's figures are reported as ratios to it, as is the webhook's
 * p99 at 200 posts/s to the same API's without worker work (`--no-floor` skips the actor).
 * Last, webhook latency under a login flood (bench/login-flood.ts); `-- --only login-flood` runs just
 * that phase and writes its section of latest.md (and bench/results/login-flood.json).
 * `-- --only webhook-deadline` runs only the webhook's Temporal deadline under a burst of new chats
 * (bench/webhook-deadline.ts; `--deadlines 2000,5000,10000`). BENCH_TEMPORAL_ADDRESS runs any of it
 * against an external Temporal (e.g. `npm run temporal:cluster`) instead of its own dev server.
 * BENCH_PROFILE=worker (or api) writes V8 CPU profiles of that process to .data/prof.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { CpuMeter, type CpuShares } from './cpu';
import { withFloorWorker, type FloorSessionOptions } from './floor/floor-bench';
import { floorWorkflowId } from './floor/floor-definitions';
import { FLOOR_TARGETS, ratio, ratiosToFloor, webhookStepAt200, type FloorResults } from './floor/floor-report';
import { idleMemory } from './idle-memory';
import { loginFlood, loginFloodSection, type LoginFloodOptions } from './login-flood';
import { longChat } from './long-chat';
import { ReplyTracker } from './replies';
import { replyOverhead } from './reply-overhead';
import { writeResults, type BenchResults } from './report';
import { RESULTS_DIR, describeTemporal, flag, startBenchStack, writeLatestSection } from './setup';
import { load1, processMemoryMiB, sleep } from './stats';
import { signalWithStartCeiling, throughput } from './throughput';
import { chatWorkflowId } from '../src/workflows/definitions';
import { webhookLoad, webhookPost } from './webhook-load';
import { webhookDeadline, webhookDeadlineSection } from './webhook-deadline';

const quick = process.argv.includes('--quick');
const withFloor = !process.argv.includes('--no-floor');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
if (only !== undefined && only !== 'login-flood' && only !== 'webhook-deadline') throw new Error(`--only takes login-flood or webhook-deadline, not ${only}`);
const WEBHOOK_DEADLINE_TITLE = 'Webhook deadline under a burst of new chats';
const LOGIN_FLOOD_TITLE = 'Webhook latency under a login flood';
const DEBOUNCE_MS = flag('debounce', 1000);
const TASK_QUEUE = 'bench';
const sizes = {
  webhookRates: [50, 200, 500],
  webhookSeconds: flag('webhook-seconds', quick ? 1 : 10),
  bursts: flag('bursts', quick ? 12 : 100),
  ceilingSeconds: flag('ceiling-seconds', quick ? 3 : 10),
  ceilingConcurrency: flag('ceiling-concurrency', 64),
  throughputChats: flag('chats', quick ? 100 : 1000),
  throughputWarmupSeconds: flag('warmup-seconds', quick ? 3 : 30),
  throughputWindowSeconds: flag('window-seconds', quick ? 6 : 60),
  longChatMessages: flag('long-chat', quick ? 600 : 20_000),
  longChatBurst: flag('long-chat-burst', 200),
  idleChats: flag('idle-chats', quick ? 800 : 10_000),
  idleSeconds: flag('idle-seconds', quick ? 2 : 10),
  loginFloodSeconds: flag('login-flood-seconds', quick ? 3 : 5),
  loginFloodRounds: flag('login-flood-rounds', quick ? 1 : 3),
  loginFloodWebhookRate: flag('login-flood-webhook-rate', 50),
  loginFloodRate: flag('login-flood-rate', 300),
  loginFloodConcurrency: flag('login-flood-concurrency', 64),
  deadlinePosts: flag('deadline-posts', quick ? 300 : 2000),
  deadlineConcurrency: flag('deadline-concurrency', 200),
};
/** WEBHOOK_TEMPORAL_TIMEOUT_MS values the deadline phase compares: the old fixed 5 s, and the default. */
const DEADLINES_MS = (process.argv.includes('--deadlines') ? process.argv[process.argv.indexOf('--deadlines') + 1]! : '2000,5000,10000').split(',').map(Number);

async function main(): Promise<void> {
  const started = Date.now();
  const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const loadAvgAtStart = load1();
  log(`starting Temporal dev server, database, worker and API (${quick ? 'quick' : 'full'} run, load average ${loadAvgAtStart})...`);
  const stack = await startBenchStack({
    DEBOUNCE_MS: String(DEBOUNCE_MS),
    DEBOUNCE_MAX_WAIT_MS: String(DEBOUNCE_MS * 5),
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
  });
  const { apiUrl, client } = stack;
  const tracker = new ReplyTracker(stack.graph);
  const post = webhookPost(apiUrl);
  // The fake LLM keeps every request; the bench reads replies at the Graph server instead.
  stack.llm.responder = ((answer) => (req) => {
    stack.llm.requests.length = 0;
    return answer(req);
  })(stack.llm.responder);
  // Each run's wa_ids start with the run's own digits (fresh database and server, but readable logs).
  const run = String(Date.now() % 1000).padStart(3, '0');
  const meter = new CpuMeter(
    { temporal: stack.temporal.process?.pid, worker: stack.worker.pid, api: stack.api.pid, bench: process.pid },
    new URL(stack.databaseUrl).pathname.slice(1),
  );
  const cpu: Record<string, CpuShares> = {};
  const measured = async <T>(name: string, phase: () => Promise<T>): Promise<T> => {
    const stop = meter.start();
    const result = await phase();
    cpu[name] = stop();
    return result;
  };

  // Warm-up: the first workflow tasks pay for loading the workflow bundle.
  const warm = Array.from({ length: 5 }, () => tracker.newText());
  for (const [i, text] of warm.entries()) {
    tracker.sent(text);
    await post(`19${run}0000${i}`, text);
  }
  await tracker.settled(warm, 30_000);
  const workerAtStart = processMemoryMiB(stack.worker.pid);

  const loginFloodOptions = (): LoginFloodOptions => ({
    apiUrl,
    childEnv: stack.childEnv,
    tracker,
    prefix: `17${run}`,
    webhookRate: sizes.loginFloodWebhookRate,
    seconds: sizes.loginFloodSeconds,
    rounds: sizes.loginFloodRounds,
    floodRate: sizes.loginFloodRate,
    floodConcurrency: sizes.loginFloodConcurrency,
    drainTimeoutMs: 300_000,
    cpu: meter,
    apiPid: stack.api.pid,
    log,
  });
  if (only === 'webhook-deadline') {
    const deadline = await webhookDeadline({
      stack,
      tracker,
      deadlinesMs: DEADLINES_MS,
      posts: sizes.deadlinePosts,
      concurrency: sizes.deadlineConcurrency,
      run,
      log,
    });
    const at = new Date().toISOString();
    const file = stack.temporal.external ? 'webhook-deadline-cluster.json' : 'webhook-deadline.json';
    writeFileSync(
      path.join(RESULTS_DIR, file),
      `${JSON.stringify({ at, flags: process.argv.slice(2), loadAvgAtStart, loadAvgAtEnd: load1(), cpus: os.cpus().length, ...deadline }, null, 2)}\n`,
    );
    const section = webhookDeadlineSection(deadline, at);
    writeLatestSection(stack.temporal.external ? `${WEBHOOK_DEADLINE_TITLE}, external Temporal` : WEBHOOK_DEADLINE_TITLE, section);
    console.log(`\n${section}`);
    await stack.stop();
    return;
  }
  if (only === 'login-flood') {
    const flood = await loginFlood(loginFloodOptions());
    const at = new Date().toISOString();
    writeFileSync(
      path.join(RESULTS_DIR, 'login-flood.json'),
      `${JSON.stringify({ at, flags: process.argv.slice(2), loadAvgAtStart, loadAvgAtEnd: load1(), cpus: os.cpus().length, ...flood }, null, 2)}\n`,
    );
    const section = loginFloodSection(flood, at);
    writeLatestSection(LOGIN_FLOOD_TITLE, section);
    console.log(`\n${section}`);
    await stack.stop();
    return;
  }

  // The minimal chat actor's phases run just before the product's matching phase, with its own
  // worker up only for them (bench/floor/floor-bench.ts); same load, same measuring functions.
  const floorSession = (warmPrefix: string): FloorSessionOptions => ({
    childEnv: stack.childEnv,
    client,
    tracker,
    meter,
    settings: { debounceMs: DEBOUNCE_MS, maxWaitMs: DEBOUNCE_MS * 5 },
    warmPrefix,
  });
  const ratioNote = (value: number | undefined, target: string) => (value === undefined ? '' : `; ratio ${value} (target ${target})`);

  const floorOverhead = withFloor
    ? await withFloorWorker(floorSession(`20${run}`), (floorPost) => {
        log(`floor reply overhead: the minimal chat actor, ${sizes.bursts} bursts of 3 messages by signal-with-start...`);
        return measured('floorReplyOverhead', () =>
          replyOverhead({ post: floorPost, workflowId: floorWorkflowId, client, tracker, bursts: sizes.bursts, debounceMs: DEBOUNCE_MS, prefix: `21${run}` }),
        );
      })
    : undefined;
  if (floorOverhead) log(`  p50 ${floorOverhead.overheadMs.p50} ms, p99 ${floorOverhead.overheadMs.p99} ms, ${floorOverhead.unanswered} unanswered`);

  log(`reply overhead: ${sizes.bursts} bursts of 3 messages, DEBOUNCE_MS=${DEBOUNCE_MS}...`);
  const overhead = await measured('replyOverhead', () =>
    replyOverhead({ post, workflowId: chatWorkflowId, client, tracker, bursts: sizes.bursts, debounceMs: DEBOUNCE_MS, prefix: `11${run}` }),
  );
  log(
    `  p50 ${overhead.overheadMs.p50} ms, p99 ${overhead.overheadMs.p99} ms${ratioNote(ratio(overhead.overheadMs.p50, floorOverhead?.overheadMs.p50), `p50 ≤ ${FLOOR_TARGETS.replyOverheadP50Ratio} × the floor's`)}`,
  );

  const webhook = await webhookLoad({
    apiUrl,
    client,
    childEnv: stack.childEnv,
    rates: sizes.webhookRates,
    seconds: sizes.webhookSeconds,
    prefix: `12${run}`,
    tracker,
    drainTimeoutMs: 600_000,
    cpu: meter,
    log,
  });
  const at200 = webhookStepAt200(webhook);
  if (at200) {
    log(
      `  at 200/s: API p99 ${at200.api.latencyMs.p99} ms, API without worker work ${at200.apiWithoutWorker.latencyMs.p99} ms${ratioNote(ratio(at200.api.latencyMs.p99, at200.apiWithoutWorker.latencyMs.p99), `≤ ${FLOOR_TARGETS.webhookP99At200Ratio} ×`)}`,
    );
  }

  log(`ceiling: bare signal-with-start for ${sizes.ceilingSeconds} s, ${sizes.ceilingConcurrency} in flight...`);
  const ceiling = await measured('ceiling', () =>
    signalWithStartCeiling(client, { seconds: sizes.ceilingSeconds, concurrency: sizes.ceilingConcurrency, chats: 1000, prefix: `13${run}` }),
  );
  log(`  ${ceiling.perSecond}/s`);
  await sleep(2000);

  const load = {
    client,
    tracker,
    chats: sizes.throughputChats,
    warmupSeconds: sizes.throughputWarmupSeconds,
    windowSeconds: sizes.throughputWindowSeconds,
    drainTimeoutMs: 300_000,
    cpu: meter,
  };
  const floorSustained = withFloor
    ? await withFloorWorker(floorSession(`22${run}`), (floorPost) => {
        log(
          `floor throughput: the minimal chat actor, ${sizes.throughputChats} chats by signal-with-start, ${sizes.throughputWarmupSeconds} s warm-up, ${sizes.throughputWindowSeconds} s window...`,
        );
        return throughput({ ...load, post: floorPost, workflowId: floorWorkflowId, prefix: `23${run}` });
      })
    : undefined;
  if (floorSustained) log(`  ${floorSustained.answeredPerSecond} answered/s, lost ${floorSustained.lost}, duplicates ${floorSustained.duplicates}`);
  if (floorSustained) await sleep(2000);

  log(`throughput: ${sizes.throughputChats} chats, ${sizes.throughputWarmupSeconds} s warm-up, ${sizes.throughputWindowSeconds} s window...`);
  const sustained = await throughput({ ...load, post, workflowId: chatWorkflowId, prefix: `14${run}` });
  log(
    `  ${sustained.answeredPerSecond} answered/s, lost ${sustained.lost}, duplicates ${sustained.duplicates}${ratioNote(ratio(sustained.answeredPerSecond, floorSustained?.answeredPerSecond), `≥ ${FLOOR_TARGETS.throughputRatio} × the floor's`)}`,
  );

  log(`long chat: ${sizes.longChatMessages} messages in bursts of ${sizes.longChatBurst}...`);
  const long = await measured('longChat', () =>
    longChat({
      apiUrl,
      client,
      databaseUrl: stack.databaseUrl,
      tracker,
      waId: `15${run}000001`,
      messages: sizes.longChatMessages,
      burst: sizes.longChatBurst,
      log,
    }),
  );
  log(`  ${long.runs} runs, largest history ${long.largestHistoryEvents} events, failures ${long.failureEvents}, recorded ${long.recordedInbound}`);

  const idle = await measured('idleMemory', () =>
    idleMemory({
      apiUrl,
      client,
      tracker,
      taskQueue: TASK_QUEUE,
      targetChats: sizes.idleChats,
      idleMs: sizes.idleSeconds * 1000,
      workerPid: stack.worker.pid,
      temporalPid: stack.temporal.process?.pid,
      prefix: `16${run}`,
      log,
    }),
  );
  log(`  worker RSS ${idle.workerRssMiB} MiB with ${idle.openChats} open chats`);

  // Last: its flood uses up the address's login budget on the API for 15 minutes.
  const flood = await loginFlood(loginFloodOptions());

  const floor: FloorResults | undefined =
    floorOverhead && floorSustained
      ? {
          wayIn:
            "Its messages go in by a bare signal-with-start from the bench process (there is no API in front of it); the product's through the signed webhook, so the product's figures include the API hop the floor's do not.",
          replyOverhead: floorOverhead,
          throughput: floorSustained,
        }
      : undefined;

  const cpus = os.cpus();
  const results: BenchResults = {
    at: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    flags: process.argv.slice(2),
    wallSeconds: Math.round((Date.now() - started) / 1000),
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      loadAvgAtStart,
      loadAvgAtEnd: load1(),
    },
    setup: {
      description:
        `API and worker as separate processes (the npm run api / worker entry points, NODE_ENV=production), ${stack.temporal.external ? describeTemporal(stack.temporal) : 'Temporal CLI dev server (in-memory)'}, local Postgres, zero-latency loopback Graph and OpenAI servers; the load generator and the fakes run in the bench process, all on the same machine` +
        (withFloor ? '; the minimal chat actor (bench/floor) has its own worker process, up only during its phases' : ''),
      debounceMs: DEBOUNCE_MS,
      debounceMaxWaitMs: DEBOUNCE_MS * 5,
      sizes,
    },
    worker: { rssAfterStartMiB: workerAtStart?.rssMiB },
    replyOverhead: overhead,
    webhook,
    ceiling,
    throughput: {
      ...sustained,
      ceilingPerSecond: ceiling.perSecond,
      ratioToCeiling: Math.round((sustained.answeredPerSecond / ceiling.perSecond) * 1000) / 1000,
    },
    floor,
    ratios: ratiosToFloor({ throughput: sustained, replyOverhead: overhead, webhook }, floor),
    longChat: long,
    idleMemory: idle,
    loginFlood: flood,
    unknownReplies: tracker.unknownReplies,
    messages: tracker.totals(),
    cpu: {
      ...Object.fromEntries(webhook.map((s) => [`webhookApi${s.api.offeredPerSecond}`, s.cpu])),
      ...cpu,
      ...(floorSustained ? { floorThroughputWindow: floorSustained.cpu } : {}),
      throughputWindow: sustained.cpu,
    },
  };
  const md = writeResults(results);
  writeLatestSection(LOGIN_FLOOD_TITLE, loginFloodSection(flood, results.at));
  console.log(`\n${md}`);
  await stack.stop();
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
