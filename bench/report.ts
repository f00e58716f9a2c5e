/** bench/results/latest.json (every figure) and the head of latest.md (targets, measured, pass/miss). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CpuShares } from './cpu';
import { floorSection, floorTargetRows, type FloorRatios, type FloorResults } from './floor/floor-report';
import type { IdleMemoryResult } from './idle-memory';
import type { LoginFloodResult } from './login-flood';
import type { LongChatResult } from './long-chat';
import type { ReplyOverheadResult } from './reply-overhead';
import { RESULTS_DIR, writeLatestHead } from './setup';
import type { CeilingResult, ThroughputResult } from './throughput';
import type { WebhookLoadStep } from './webhook-load';

export interface BenchResults {
  at: string;
  mode: 'quick' | 'full';
  flags: string[];
  wallSeconds: number;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string; loadAvgAtStart: number; loadAvgAtEnd: number };
  setup: { description: string; debounceMs: number; debounceMaxWaitMs: number; sizes: Record<string, unknown> };
  worker: { rssAfterStartMiB: number | undefined };
  replyOverhead: ReplyOverheadResult;
  webhook: WebhookLoadStep[];
  ceiling: CeilingResult;
  throughput: ThroughputResult & { ceilingPerSecond: number; ratioToCeiling: number };
  /** The minimal chat actor on the same server and load (bench/floor); absent with --no-floor. */
  floor?: FloorResults;
  /** The product's figures over their floors, the issue 14 targets (bench/floor/floor-report.ts). */
  ratios: FloorRatios;
  longChat: LongChatResult;
  idleMemory: IdleMemoryResult;
  /** Webhook latency with and without a login flood (issue 15); its own section of latest.md too. */
  loginFlood?: LoginFloodResult;
  unknownReplies: number;
  /** Every message the bench got accepted (webhook, or the floor's signal-with-start), by the end of the run. */
  messages: { messages: number; unanswered: number; answeredTwice: number };
  /** Cores each process used, per phase (webhook: while the API was under load; throughput: its window). */
  cpu: Record<string, CpuShares>;
}

export const TARGETS = {
  webhookP99At200Ms: 25,
  replyOverheadP50Ms: 50,
  replyOverheadP99Ms: 250,
  answeredPerSecond: 50,
  longChatMessages: 20_000,
  idleChats: 10_000,
  idleRssMiB: 1024,
  quickSeconds: 120,
};

const CPU_COLUMNS = ['temporal', 'worker', 'floor', 'api', 'postgres', 'bench'];
const verdict = (ok: boolean) => (ok ? 'pass' : '**miss**');
/** A figure measured below the target's scale can miss, but cannot pass. */
const scaled = (ok: boolean, atScale: boolean) => (!ok ? '**miss**' : atScale ? 'pass' : 'ok at this scale');
const n = (v: number) => v.toLocaleString('en-US');

function loginFloodRow(f: LoginFloodResult): string {
  const q = f.quiet.webhook;
  const w = f.flood.webhook;
  const u = f.floodWithoutLimits.webhook;
  return `| webhook latency under a login flood, p50 / p90 / p99 at ${q.offeredPerSecond} posts/s with ${f.flood.flood?.offeredPerSecond} fresh-email logins/s | | ${w.p50} / ${w.p90} / ${w.p99} ms, ${w.non200} not 200 (no logins: ${q.p50} / ${q.p90} / ${q.p99} ms; login limits lifted, hashing thread only: ${u.p50} / ${u.p90} / ${u.p99} ms); see the section "Webhook latency under a login flood" below | |`;
}

export function writeResults(r: BenchResults): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(r, null, 2)}\n`);

  const o = r.replyOverhead.overheadMs;
  const t = r.throughput;
  const l = r.longChat;
  const m = r.idleMemory;
  const scale = r.mode === 'quick' ? ' (quick: reduced scale)' : '';
  const longOk =
    l.failureEvents === 0 &&
    l.unanswered === 0 &&
    l.refused === 0 &&
    l.recordedDistinctWamids === l.messages &&
    l.statuses.every((s, i) => s === (i === l.statuses.length - 1 ? 'RUNNING' : 'CONTINUED_AS_NEW'));
  const rows = [
    ...r.webhook.map((s) => {
      const target = s.api.offeredPerSecond === 200 ? `p99 < ${TARGETS.webhookP99At200Ms} ms` : '';
      const result = s.api.offeredPerSecond === 200 ? verdict(s.api.latencyMs.p99 < TARGETS.webhookP99At200Ms && s.api.non200 === 0) : '';
      return `| webhook acknowledgement, p50 / p99 at ${s.api.offeredPerSecond} signed posts/s | ${target} | ${s.api.latencyMs.p50} / ${s.api.latencyMs.p99} ms over ${s.api.posts} posts, ${s.api.non200} not 200 (floor, bare Express + signature check: ${s.floor.latencyMs.p50} / ${s.floor.latencyMs.p99} ms; Temporal alone: ${s.temporalOnly.latencyMs.p50} / ${s.temporalOnly.latencyMs.p99} ms; API without worker work: ${s.apiWithoutWorker.latencyMs.p50} / ${s.apiWithoutWorker.latencyMs.p99} ms) | ${result} |`;
    }),
    `| reply overhead p50 (last message + DEBOUNCE_MS → reply at Graph) | < ${TARGETS.replyOverheadP50Ms} ms | ${o.p50} ms over ${o.n} bursts | ${verdict(o.p50 < TARGETS.replyOverheadP50Ms)} |`,
    `| reply overhead p99 | < ${TARGETS.replyOverheadP99Ms} ms | ${o.p99} ms (max ${o.max}) | ${verdict(o.p99 < TARGETS.replyOverheadP99Ms)} |`,
    `| sustained end-to-end throughput, ${n(t.chats)} concurrent chats${scale} | ≥ ${TARGETS.answeredPerSecond} messages/s, nothing lost | ${t.answeredPerSecond} messages/s answered over ${t.windowSeconds} s; ${t.lost} lost, ${t.duplicates} answered twice; message → reply p50 ${t.endToEndMs.p50} ms | ${verdict(t.answeredPerSecond >= TARGETS.answeredPerSecond && t.lost === 0 && t.duplicates === 0)} |`,
    `| ceiling: bare client signal-with-start, same server, ${r.ceiling.concurrency} in flight | | ${r.ceiling.perSecond}/s (p50 ${r.ceiling.latencyMs.p50} ms); our throughput = ${(t.ratioToCeiling * 100).toFixed(1)} % of it | |`,
    ...floorTargetRows(r),
    `| one chat taking ${n(l.messages)} messages${scale} | ${n(TARGETS.longChatMessages)}, no failure, all recorded | ${l.continueAsNew} continue-as-new, largest history ${n(l.largestHistoryEvents)} events / ${(l.largestHistoryBytes / 2 ** 20).toFixed(1)} MiB, ${l.failureEvents} failure events, ${n(l.recordedDistinctWamids)} recorded, ${l.unanswered} unanswered, ${l.seconds} s | ${scaled(longOk, l.messages >= TARGETS.longChatMessages)} |`,
    `| worker RSS with ${n(m.openChats)} open idle chats${scale} | < ${TARGETS.idleRssMiB} MiB with ${n(TARGETS.idleChats)} | ${m.workerRssMiB} MiB (${r.worker.rssAfterStartMiB} MiB after start, peak ${m.workerPeakRssMiB} MiB; cache holds at most ${m.maxCachedWorkflows} workflows) | ${scaled((m.workerRssMiB ?? Infinity) < TARGETS.idleRssMiB, m.openChats >= TARGETS.idleChats)} |`,
    ...(r.loginFlood ? [loginFloodRow(r.loginFlood)] : []),
    ...(r.mode === 'quick'
      ? [`| --quick wall time | < ${TARGETS.quickSeconds} s | ${r.wallSeconds} s | ${verdict(r.wallSeconds < TARGETS.quickSeconds)} |`]
      : []),
  ];
  const steps = r.webhook.map(
    (s) =>
      `| ${s.api.offeredPerSecond}/s × ${s.api.seconds} s | ${s.chats} | ${s.floor.latencyMs.p50} / ${s.floor.latencyMs.p99} / ${s.floor.latencyMs.max} | ${s.temporalOnly.latencyMs.p50} / ${s.temporalOnly.latencyMs.p99} / ${s.temporalOnly.latencyMs.max} | ${s.apiWithoutWorker.latencyMs.p50} / ${s.apiWithoutWorker.latencyMs.p99} / ${s.apiWithoutWorker.latencyMs.max} | ${s.api.latencyMs.p50} / ${s.api.latencyMs.p99} / ${s.api.latencyMs.max} | ${s.api.non200} | ${s.api.generatorLagMs.p99} | ${s.drainSeconds} s | ${s.unanswered} / ${s.duplicates} | ${s.api.loadAvg} |`,
  );
  const md = [
    `Measured ${r.at}, \`npm run bench${r.mode === 'quick' ? ' -- --quick' : ''}\` (${r.wallSeconds} s), on ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}; load average ${r.machine.loadAvgAtStart} at start, ${r.machine.loadAvgAtEnd} at end. ${r.setup.description}. DEBOUNCE_MS=${r.setup.debounceMs}, DEBOUNCE_MAX_WAIT_MS=${r.setup.debounceMaxWaitMs}.`,
    '',
    '| figure | target | measured | |',
    '|---|---|---|---|',
    ...rows,
    '',
    `All phases: ${n(r.messages.messages)} messages accepted (by the webhook, or for the minimal chat actor by signal-with-start), ${r.messages.unanswered} never answered, ${r.messages.answeredTwice} answered twice; ${r.unknownReplies} replies named no bench message (a post answered 5xx whose signal still reached Temporal is answered, and Meta would deliver it again: the chat drops the copy by its wamid).`,
    '',
    'Webhook steps (open loop; latency from each request\'s scheduled time to its answer; "Temporal alone" is the API\'s signal-with-start from a bare client at the same rate, on a queue nobody polls; "API without worker work" is a second API process whose chats go to a queue nobody polls; the worker answers every message after each step, before the next):',
    '',
    '| offered | chats | floor p50 / p99 / max ms | Temporal alone p50 / p99 / max ms | API without worker work p50 / p99 / max ms | API p50 / p99 / max ms | not 200 | generator lag p99 ms | worker drain | unanswered / twice | load avg |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...steps,
    '',
    ...floorSection(r),
    'Cores used per process (CPU seconds / wall seconds, from /proc; the machine has ' + r.machine.cpus + '):',
    '',
    `| phase | ${CPU_COLUMNS.join(' | ')} |`,
    `|---|${CPU_COLUMNS.map(() => '---').join('|')}|`,
    ...Object.entries(r.cpu).map(([phase, shares]) => `| ${phase} | ${CPU_COLUMNS.map((c) => shares[c] ?? '').join(' | ')} |`),
    '',
    `Per answered message in the throughput run (${t.perMessage.messages} messages over ${t.perMessage.chats} chats): ${t.perMessage.events} history events, ${t.perMessage.workflowTasks} workflow tasks, ${t.perMessage.activities} activities, ${t.perMessage.timers} timers; the Temporal server persists each event and dispatches each task.`,
    '',
    `Long chat: ${l.statuses.length} runs, ${l.statuses.filter((s) => s === 'CONTINUED_AS_NEW').length} continued as new, last ${l.statuses[l.statuses.length - 1]}; ${l.redelivered} posts refused at first and accepted when delivered again, ${l.refused} never accepted; ${l.workflowTaskTimeouts} workflow tasks timed out and were retried; ${l.continueAsNewRacedBySignal} continue-as-new completions refused by the server because a signal had just arrived (UnhandledCommand; retried with the signal, nothing lost); failure events ${JSON.stringify(l.failures)}${l.firstFailure ? ` (first: ${l.firstFailure})` : ''}.`,
    '',
    'Where the slowest reply-overhead burst spent its time (workflow history, ms after its last message was signalled):',
    '',
    '```',
    ...r.replyOverhead.slowestBurst,
    '```',
    '',
  ].join('\n');
  writeLatestHead(md);
  return md;
}
