/**
 * The product measured against floors in the same run (issue 14, item 1): throughput and reply
 * overhead against the minimal chat actor (bench/floor), the webhook's p99 at 200 posts/s against
 * the same API with no worker work behind it (bench/webhook-load.ts). As ratios, because absolute
 * targets mix what the product adds with what the machine and the Temporal server cost anyway.
 */
import type { ReplyOverheadResult } from '../reply-overhead';
import type { ThroughputResult } from '../throughput';
import type { WebhookLoadStep } from '../webhook-load';

export const FLOOR_TARGETS = { throughputRatio: 0.6, replyOverheadP50Ratio: 1.5, webhookP99At200Ratio: 3 };

export interface FloorResults {
  /** How messages reach the floor (no API in front of it), for the record. */
  wayIn: string;
  replyOverhead: ReplyOverheadResult;
  throughput: ThroughputResult;
}

/** Undefined where a side was not measured (--no-floor, or no 200/s webhook step). */
export interface FloorRatios {
  /** Product answered/s ÷ the floor's; target ≥ 0.6. */
  throughput?: number;
  /** Product reply overhead p50 ÷ the floor's; target ≤ 1.5. */
  replyOverheadP50?: number;
  /** Product webhook p99 at 200 posts/s ÷ the API-without-worker-work p99 at 200 posts/s; target ≤ 3. */
  webhookP99At200?: number;
}

/** a ÷ b to two decimals; undefined when b was not measured. */
export const ratio = (a: number, b: number | undefined) => (b !== undefined && b > 0 && Number.isFinite(a / b) ? Math.round((a / b) * 100) / 100 : undefined);

export const webhookStepAt200 = (steps: WebhookLoadStep[]) => steps.find((s) => s.api.offeredPerSecond === 200);

export function ratiosToFloor(
  product: { throughput: ThroughputResult; replyOverhead: ReplyOverheadResult; webhook: WebhookLoadStep[] },
  floor: FloorResults | undefined,
): FloorRatios {
  const at200 = webhookStepAt200(product.webhook);
  return {
    throughput: ratio(product.throughput.answeredPerSecond, floor?.throughput.answeredPerSecond),
    replyOverheadP50: ratio(product.replyOverhead.overheadMs.p50, floor?.replyOverhead.overheadMs.p50),
    webhookP99At200: at200 && ratio(at200.api.latencyMs.p99, at200.apiWithoutWorker.latencyMs.p99),
  };
}

const verdict = (ok: boolean) => (ok ? 'pass' : '**miss**');
const notMeasured = (why: string) => `not measured (${why})`;

/** The three target rows of latest.md's main table. */
export function floorTargetRows(r: {
  floor?: FloorResults;
  ratios: FloorRatios;
  throughput: ThroughputResult;
  replyOverhead: ReplyOverheadResult;
  webhook: WebhookLoadStep[];
}): string[] {
  const { floor, ratios } = r;
  const at200 = webhookStepAt200(r.webhook);
  const T = FLOOR_TARGETS;
  return [
    ratios.throughput === undefined || !floor
      ? `| throughput ÷ the minimal chat actor's | ≥ ${T.throughputRatio} × | ${notMeasured('--no-floor')} | |`
      : `| throughput ÷ the minimal chat actor's (same server, same ${floor.throughput.chats} closed-loop chats) | ≥ ${T.throughputRatio} × | ${r.throughput.answeredPerSecond} ÷ ${floor.throughput.answeredPerSecond} messages/s = **${ratios.throughput}** (floor: ${floor.throughput.lost} lost, ${floor.throughput.duplicates} answered twice) | ${verdict(ratios.throughput >= T.throughputRatio)} |`,
    ratios.replyOverheadP50 === undefined || !floor
      ? `| reply overhead p50 ÷ the minimal chat actor's | ≤ ${T.replyOverheadP50Ratio} × | ${notMeasured('--no-floor')} | |`
      : `| reply overhead p50 ÷ the minimal chat actor's | ≤ ${T.replyOverheadP50Ratio} × | ${r.replyOverhead.overheadMs.p50} ÷ ${floor.replyOverhead.overheadMs.p50} ms = **${ratios.replyOverheadP50}** | ${verdict(ratios.replyOverheadP50 <= T.replyOverheadP50Ratio)} |`,
    ratios.webhookP99At200 === undefined || !at200
      ? `| webhook p99 at 200 posts/s ÷ the API without worker work | ≤ ${T.webhookP99At200Ratio} × | ${notMeasured('no 200 posts/s step')} | |`
      : `| webhook p99 at 200 posts/s ÷ the same API without worker work | ≤ ${T.webhookP99At200Ratio} × | ${at200.api.latencyMs.p99} ÷ ${at200.apiWithoutWorker.latencyMs.p99} ms = **${ratios.webhookP99At200}** | ${verdict(ratios.webhookP99At200 <= T.webhookP99At200Ratio)} |`,
  ];
}

/** latest.md's floor section: the product and the floor side by side, and how the floor was driven. */
export function floorSection(r: {
  floor?: FloorResults;
  ratios: FloorRatios;
  throughput: ThroughputResult;
  replyOverhead: ReplyOverheadResult;
  cpu: Record<string, Record<string, number>>;
}): string[] {
  const f = r.floor;
  if (!f) return ['Floor (minimal chat actor): not measured (--no-floor).', ''];
  const [po, fo, pt, ft] = [r.replyOverhead.overheadMs, f.replyOverhead.overheadMs, r.throughput, f.throughput];
  const cost = (t: ThroughputResult) => `${t.perMessage.events} / ${t.perMessage.workflowTasks} / ${t.perMessage.activities} / ${t.perMessage.timers}`;
  const cores = (shares: Record<string, number> | undefined, worker: string) => (shares ? `${shares.temporal ?? ''} / ${shares[worker] ?? ''}` : '');
  // A closed-loop chat sends at most one message per DEBOUNCE_MS: with few chats that, not the
  // system, can cap the floor (and so flatter the product's ratio).
  const bound = Math.round((ft.chats * 1000) / f.replyOverhead.debounceMs);
  const boundNote =
    ft.answeredPerSecond >= bound / 2
      ? ` With ${ft.chats} chats each waiting ${f.replyOverhead.debounceMs} ms per message, the load allows at most ${bound}/s and the floor reached ${Math.round((ft.answeredPerSecond / bound) * 100)} % of that: its throughput is partly the load's limit, so the throughput ratio flatters the product (more chats, as in the full run, lift the bound).`
      : '';
  return [
    `Floor: the minimal chat actor (bench/floor/floor-workflow.ts, its own worker process and task queue, run only during its own phases, just before the product's matching phase): signal-with-start with the first message, one debounce timer (same DEBOUNCE_MS and cap), then ONE activity that asks the same fake LLM through the OpenAI SDK and sends its text with the product's Graph client. No database, no recording, no search attribute upserts. ${f.wayIn}`,
    '',
    '| figure | product | floor | product ÷ floor |',
    '|---|---|---|---|',
    `| reply overhead p50 / p99 (max), ${po.n} / ${fo.n} bursts | ${po.p50} / ${po.p99} (${po.max}) ms | ${fo.p50} / ${fo.p99} (${fo.max}) ms, ${f.replyOverhead.unanswered} unanswered | ${r.ratios.replyOverheadP50} (p50) |`,
    `| sustained throughput, ${pt.chats} closed-loop chats, ${pt.windowSeconds} s window | ${pt.answeredPerSecond}/s; ${pt.lost} lost, ${pt.duplicates} answered twice | ${ft.answeredPerSecond}/s; ${ft.lost} lost, ${ft.duplicates} answered twice | ${r.ratios.throughput} |`,
    `| message → reply p50 / p99 in the throughput window | ${pt.endToEndMs.p50} / ${pt.endToEndMs.p99} ms | ${ft.endToEndMs.p50} / ${ft.endToEndMs.p99} ms | |`,
    `| per answered message: history events / workflow tasks / activities / timers | ${cost(pt)} | ${cost(ft)} | |`,
    `| cores in the throughput window: dev server / worker | ${cores(r.cpu.throughputWindow, 'worker')} | ${cores(r.cpu.floorThroughputWindow, 'floor')} | |`,
    '',
    ...(boundNote ? [boundNote.trim(), ''] : []),
    "Where the floor's slowest reply-overhead burst spent its time (ms after its last message was signalled):",
    '',
    '```',
    ...f.replyOverhead.slowestBurst,
    '```',
    '',
  ];
}
