/**
 * The drills' load: M chats each writing at its own steady pace, together `rate` messages a second,
 * through the signed webhook. Every message has a unique wamid and a unique text token
 * (`D<drill>-C<chat>-M<seq>`) that the fake model echoes, so each reply at the Graph server can be
 * traced to the messages it answers. A POST that does not get 200 (refused, reset, 5xx, timeout) is
 * delivered again like Meta does: same body, same wamid, until it is accepted.
 */
import { signBody } from '../src/api/webhook/signature';
import { webhookBody } from '../test/helpers/webhook-payload';
import { WEBHOOK_SECRET } from './setup';

export interface LoadMessage {
  token: string;
  wamid: string;
  waId: string;
  /** Epoch ms of the first POST, and of the 200 that accepted it. */
  firstPostAt: number;
  acceptedAt?: number;
  /** POSTs made for it; more than 1 means Meta-style redeliveries. */
  posts: number;
  /** Never answered 200, and given up long after the load stopped: a send that failed. */
  gaveUp?: boolean;
}

export interface WebhookFailures {
  count: number;
  firstAtMs: number;
  lastAtMs: number;
}

export const TOKEN_PATTERN = /D\d+-C\d+-M\d+/g;

const POST_TIMEOUT_MS = 10_000;
const GIVE_UP_AFTER_STOP_MS = 120_000;

export class Load {
  readonly messages: LoadMessage[] = [];
  /** Non-200 answers and network errors seen, by kind (e.g. "502", "ECONNREFUSED", "timeout"), with when (ms since start). */
  readonly failures = new Map<string, WebhookFailures>();
  private stopped = false;
  private stoppedAt = 0;
  private loops: Promise<void>[] = [];
  private startedAt = 0;

  constructor(private readonly opts: { webhookUrl: string; drill: number; waIds: string[]; rate: number }) {}

  start(): void {
    const t0 = (this.startedAt = Date.now());
    const { waIds, rate } = this.opts;
    // Each chat writes every waIds.length / rate seconds, offset so the total rate is steady.
    const periodMs = (waIds.length / rate) * 1000;
    this.loops = waIds.map(async (waId, c) => {
      for (let seq = 0; ; seq++) {
        const due = t0 + (c / waIds.length) * periodMs + seq * periodMs;
        if (due > Date.now()) await sleep(due - Date.now());
        // A chat that fell behind (its redeliveries waited for the API) catches up at once, like Meta.
        if (this.stopped) return;
        await this.deliver(this.newMessage(waId, c, seq));
      }
    });
  }

  /** Stops writing new messages and resolves when every message written so far got its 200 (or was given up). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stoppedAt = Date.now();
    await Promise.all(this.loops);
  }

  get accepted(): LoadMessage[] {
    return this.messages.filter((m) => m.acceptedAt !== undefined);
  }

  private newMessage(waId: string, chat: number, seq: number): LoadMessage {
    const token = `D${this.opts.drill}-C${String(chat).padStart(4, '0')}-M${String(seq).padStart(4, '0')}`;
    const message: LoadMessage = { token, wamid: `wamid.drill-${token}`, waId, firstPostAt: Date.now(), posts: 0 };
    this.messages.push(message);
    return message;
  }

  private async deliver(m: LoadMessage): Promise<void> {
    const body = JSON.stringify(webhookBody({ messages: [{ from: m.waId, wamid: m.wamid, text: m.token, name: `Drill ${m.waId}` }], phoneNumberId: 'BENCH' }));
    const headers = { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, WEBHOOK_SECRET) };
    for (let backoff = 200; ; backoff = Math.min(backoff * 2, 2000)) {
      m.posts++;
      let outcome: string;
      try {
        const res = await fetch(this.opts.webhookUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(POST_TIMEOUT_MS) });
        await res.arrayBuffer();
        if (res.status === 200) {
          m.acceptedAt = Date.now();
          return;
        }
        outcome = String(res.status);
      } catch (err) {
        outcome = errorKind(err);
      }
      const at = Date.now() - this.startedAt;
      const seen = this.failures.get(outcome) ?? { count: 0, firstAtMs: at, lastAtMs: at };
      this.failures.set(outcome, { ...seen, count: seen.count + 1, lastAtMs: at });
      if (this.stopped && Date.now() - this.stoppedAt > GIVE_UP_AFTER_STOP_MS) {
        m.gaveUp = true;
        return;
      }
      await sleep(backoff);
    }
  }
}

function errorKind(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'timeout';
  const cause = (err as { cause?: { code?: string } }).cause;
  return cause?.code ?? (err instanceof Error ? err.name : 'error');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
