import type { Client } from '@temporalio/client';
import { Gauge } from 'prom-client';
import { CHAT_WORKFLOW_TYPE } from '../workflows/definitions';
import { chatModeKey, needsHumanKey } from '../workflows/search-attributes';
import { registry } from './registry';

export interface ChatCountsSnapshot {
  bot: number;
  operator: number;
  needsHuman: number;
  /** When Temporal answered these. */
  at: Date;
}

export interface ChatCountsOptions {
  /** Scrapes within this time reuse one answer, so they cannot hammer the visibility store. */
  ttlMs?: number;
  timeoutMs?: number;
  /** While Temporal does not answer, the last counts are reported until they are this old; then none. */
  staleAfterMs?: number;
}

/**
 * Running chat workflows on one task queue by ChatMode and NeedsHuman (SPEC §4 search attributes),
 * counted in Temporal visibility. Visibility is eventually consistent: counts lag a second or so.
 */
export class ChatCounts {
  private last?: ChatCountsSnapshot;
  private attemptedAt = 0;
  private inflight?: Promise<ChatCountsSnapshot | undefined>;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly staleAfterMs: number;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    options: ChatCountsOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.staleAfterMs = options.staleAfterMs ?? 60_000;
  }

  /** Never throws: undefined when Temporal has not answered for a while (or ever). */
  async get(): Promise<ChatCountsSnapshot | undefined> {
    // One question at a time: concurrent scrapes (and both gauges of one scrape) share it.
    if (this.inflight) return this.inflight;
    if (Date.now() - this.attemptedAt < this.ttlMs) return this.usable();
    this.inflight = this.refresh().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private usable(): ChatCountsSnapshot | undefined {
    return this.last && Date.now() - this.last.at.getTime() <= this.staleAfterMs ? this.last : undefined;
  }

  private async refresh(): Promise<ChatCountsSnapshot | undefined> {
    this.attemptedAt = Date.now();
    const base = `WorkflowType="${CHAT_WORKFLOW_TYPE}" AND ExecutionStatus="Running" AND TaskQueue=${quote(this.taskQueue)}`;
    const count = (filter: string) => this.client.workflow.count(`${base} AND ${filter}`).then((r) => r.count);
    try {
      const [bot, operator, needsHuman] = await this.client.withDeadline(Date.now() + this.timeoutMs, () =>
        Promise.all([count(`${chatModeKey.name}="bot"`), count(`${chatModeKey.name}="operator"`), count(`${needsHumanKey.name}=true`)]),
      );
      this.last = { bot, operator, needsHuman, at: new Date() };
    } catch {
      // Reported as stale or missing series; /health is where Temporal being down shows.
    }
    return this.usable();
  }
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const byClient = new WeakMap<Client, Map<string, ChatCounts>>();

/** One cache per Temporal client and task queue, shared by GET /metrics and GET /api/v1/stats. */
export function chatCountsFor(client: Client, taskQueue: string): ChatCounts {
  let perQueue = byClient.get(client);
  if (!perQueue) byClient.set(client, (perQueue = new Map()));
  let counts = perQueue.get(taskQueue);
  if (!counts) perQueue.set(taskQueue, (counts = new ChatCounts(client, taskQueue)));
  return counts;
}

let source: ChatCounts | undefined;

// Registered by the API only (exposeChatCounts): the worker's endpoint has no Temporal visibility view.
const chatsByMode = new Gauge({
  name: 'chats_by_mode',
  help: 'Running chat workflows by ChatMode (bot, operator), from Temporal visibility at scrape time',
  labelNames: ['mode'] as const,
  registers: [],
  async collect() {
    const counts = await source?.get();
    this.reset();
    if (!counts) return;
    this.set({ mode: 'bot' }, counts.bot);
    this.set({ mode: 'operator' }, counts.operator);
  },
});

const chatsNeedingHuman = new Gauge({
  name: 'chats_needing_human',
  help: 'Running chat workflows with NeedsHuman=true, from Temporal visibility at scrape time',
  registers: [],
  async collect() {
    const counts = await source?.get();
    // No sample rather than a made-up 0 when Temporal cannot say.
    if (counts) this.set(counts.needsHuman);
    else this.remove();
  },
});

/** Makes the registry report the chat gauges from this client's counts (the API calls it once). */
export function exposeChatCounts(counts: ChatCounts): void {
  source = counts;
  if (!registry.getSingleMetric('chats_by_mode')) {
    registry.registerMetric(chatsByMode);
    registry.registerMetric(chatsNeedingHuman);
  }
}
