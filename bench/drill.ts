/**
 * `npm run drill [-- --quick]`: fault drills. One stack (Temporal dev server, fresh database, real
 * worker and API processes, loopback Graph and OpenAI servers, a TCP proxy in front of Postgres);
 * then, one after the other, each drill runs load over its own fresh chats while it injects its
 * fault, waits until every chat is idle, and scores what the users got and what Postgres holds.
 * Writes bench/results/drill.json and drill.md. Flags: --quick (smaller and shorter, and without the
 * two drills aimed at the moment a reply is sent unless --at-send), --chats N, --rate N (messages/s),
 * --only name,name (worker-kill, api-restart, pg-cut, llm-faults, worker-kill-at-send, pg-cut-at-send),
 * --pg-cut-s N (how long Postgres stays cut, default 10).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { chatStateQuery, chatWorkflowId } from '../src/workflows/definitions';
import { FALLBACK_REPLY } from '../src/workflows/chat';
import { TcpProxy } from '../test/helpers/tcp-proxy';
import { drills, LlmFaults, Supervisor, type FaultContext } from './drill-faults';
import { Load, sleep } from './drill-load';
import { activityRetries, type ActivityRetries } from './drill-history';
import { readRecord, score, type DrillScore } from './drill-score';
import { renderMarkdown, renderTable } from './drill-report';
import { RESULTS_DIR, WEBHOOK_SECRET, flag, startBenchStack, type BenchStack } from './setup';

const quick = process.argv.includes('--quick');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]!.split(',') : undefined;
const settings = {
  chats: flag('chats', quick ? 50 : 200),
  rate: flag('rate', quick ? 20 : 40),
  /** Load keeps running this long after the fault is over, so recovery happens under load. */
  tailMs: quick ? 3000 : 10_000,
  settleTimeoutMs: quick ? 90_000 : 180_000,
  pgCutMs: flag('pg-cut-s', 10) * 1000,
  env: {
    DEBOUNCE_MS: '1000',
    DEBOUNCE_MAX_WAIT_MS: '5000',
    // The LLM drill checks durability, not the fallback: with 20 attempts (backoff 1, 2, 4, 8,
    // 16, then 30 s) its 10 s outage is well inside the retry budget. A 5 s client timeout keeps
    // an LLM call cut off by a killed worker from holding the chat for the default 65 s.
    LLM_MAX_ATTEMPTS: '20',
    LLM_TIMEOUT_MS: '5000',
  },
};

export interface DrillResult extends DrillScore {
  name: string;
  title: string;
  loadMs: number;
  settleMs: number;
  settled: boolean;
  events: { atMs: number; what: string }[];
  llmRequestsRefused: number;
  llmRequestsAnswered: number;
  /** Chats flagged NeedsHuman at the end (a fallback, or a reply that could not be delivered). */
  chatsNeedingHuman: number;
  activities: ActivityRetries;
  /** Worker or API processes that exited without a drill stopping them (restarted by the supervisor). */
  crashes: { name: string; pid?: number; code: number | null; signal: string | null; atMs: number }[];
}

/**
 * Every chat of the drill idle with nothing pending, twice in a row, and no reply sent meanwhile;
 * false if that does not happen in time. Also counts the chats flagged NeedsHuman.
 */
async function settle(stack: BenchStack, waIds: string[], timeoutMs: number): Promise<{ settled: boolean; needsHuman: number }> {
  const deadline = Date.now() + timeoutMs;
  let calm = 0;
  let needsHuman = 0;
  for (let sends = -1; Date.now() < deadline; await sleep(1000)) {
    const states = await Promise.all(
      waIds.map((waId) =>
        stack.client.workflow
          .getHandle(chatWorkflowId(waId))
          .query(chatStateQuery)
          .then((s) => ({ idle: s.phase === 'idle' && s.pendingCount === 0, needsHuman: s.needsHuman }))
          .catch((err: unknown) => ({ idle: err instanceof WorkflowNotFoundError, needsHuman: false })),
      ),
    );
    needsHuman = states.filter((s) => s.needsHuman).length;
    const quiet = sends === stack.graph.sends.length;
    sends = stack.graph.sends.length;
    calm = states.every((s) => s.idle) && quiet ? calm + 1 : 0;
    if (calm >= 2) return { settled: true, needsHuman };
  }
  return { settled: false, needsHuman };
}

async function runDrill(stack: BenchStack, ctx: Omit<FaultContext, 'event'>, index: number): Promise<DrillResult> {
  const drill = drills[index]!;
  const waIds = Array.from({ length: settings.chats }, (_, c) => `1555${index + 1}${String(c).padStart(5, '0')}`);
  const sendsBefore = stack.graph.sends.length;
  const llmBefore = stack.llm.requests.length;
  const refusedBefore = ctx.llmFaults.refused;
  const load = new Load({ webhookUrl: `${stack.apiUrl}/webhooks/whatsapp`, drill: index + 1, waIds, rate: settings.rate });
  const t0 = Date.now();
  const events: DrillResult['events'] = [];
  const event = (what: string) => {
    events.push({ atMs: Date.now() - t0, what });
    console.log(`  +${((Date.now() - t0) / 1000).toFixed(1)} s  ${what}`);
  };
  ctx.supervisor.event = event;
  const crashesBefore = ctx.supervisor.crashes.length;
  console.log(`drill ${index + 1}: ${drill.title}; ${settings.chats} chats, ${settings.rate} msg/s`);
  load.start();
  await drill.inject({ ...ctx, event });
  await sleep(settings.tailMs);
  await load.stop();
  const loadMs = Date.now() - t0;
  event(`load stopped (${load.messages.length} messages)`);
  const { settled, needsHuman } = await settle(stack, waIds, settings.settleTimeoutMs);
  const settleMs = Date.now() - t0 - loadMs;
  event(settled ? 'all chats idle' : `NOT SETTLED after ${settings.settleTimeoutMs / 1000} s`);

  const chats = new Set(waIds);
  const sends = stack.graph.sends.slice(sendsBefore).filter((s) => chats.has(s.to));
  const rows = await readRecord(stack.databaseUrl, waIds);
  return {
    name: drill.name,
    title: drill.title,
    ...score(load.messages, load.failures, sends, rows, FALLBACK_REPLY),
    loadMs,
    settleMs,
    settled,
    events,
    llmRequestsRefused: ctx.llmFaults.refused - refusedBefore,
    llmRequestsAnswered: stack.llm.requests.length - llmBefore,
    chatsNeedingHuman: needsHuman,
    activities: await activityRetries(stack.client, waIds),
    crashes: ctx.supervisor.crashes.slice(crashesBefore).map(({ at, ...c }) => ({ ...c, atMs: at - t0 })),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const pgProxy = await new TcpProxy('127.0.0.1', 5432).start();
  console.log(`starting Temporal dev server, database, worker and API (Postgres through a proxy on :${pgProxy.port})...`);
  const stack = await startBenchStack(settings.env, {
    logPrefix: 'drill',
    childDatabaseUrl: (direct) => {
      const url = new URL(direct);
      url.port = String(pgProxy.port);
      return url.toString();
    },
  });
  // Like Meta: each reply Graph takes is followed by its "sent" receipt, carrying our client key,
  // at the API's webhook. That is how a send whose worker died before storing the wamid is settled.
  stack.graph.receiptsTo = { url: `${stack.apiUrl}/webhooks/whatsapp`, appSecret: WEBHOOK_SECRET };
  const llmFaults = new LlmFaults(stack.llm);
  const supervisor = new Supervisor(stack);
  const results: DrillResult[] = [];
  for (let i = 0; i < drills.length; i++) {
    const drill = drills[i]!;
    if (only ? !only.includes(drill.name) : drill.atSend && quick && !process.argv.includes('--at-send')) continue;
    results.push(await runDrill(stack, { stack, supervisor, pgProxy, llmFaults, quick, pgCutMs: settings.pgCutMs }, i));
    console.log(renderTable(results.slice(-1)));
  }
  const report = {
    at: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: {
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      loadAvgAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
    },
    settings,
    totalMs: Date.now() - started,
    drills: results,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'drill.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(RESULTS_DIR, 'drill.md'), renderMarkdown(report));
  console.log(`\n${renderTable(results)}\nwrote bench/results/drill.json and drill.md`);
  supervisor.stop();
  await stack.stop();
  await pgProxy.stop();
  const bad = results.filter((r) => r.lost > 0 || r.answeredTwice > 0 || r.crashes.length > 0 || !r.settled);
  if (bad.length) {
    console.log(`drills with losses, duplicates, crashes or unsettled chats: ${bad.map((r) => r.name).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(`drill: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
