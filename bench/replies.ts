import type { FakeGraph } from '../test/helpers/fake-graph';
import { sleep } from './stats';

interface Tracked {
  sentAt: number;
  answeredAt?: number;
  answers: number;
}

/**
 * Which message each reply at the Graph server answered. Every message the bench sends has a
 * unique text (`m<n>`) and the fake LLM answers a burst with "Reply to: <text> | <text> ...", so a
 * reply names the messages it answered; times are the Graph server's own (same clock as sentAt).
 */
export class ReplyTracker {
  private readonly messages = new Map<string, Tracked>();
  private readonly waiters = new Map<string, (at: number) => void>();
  private seq = 0;
  /** Replies that named no message the bench sent (fallbacks, notices). */
  unknownReplies = 0;
  /** Every send the fake Graph took, for phases that only wait for the system to go quiet. */
  replies = 0;

  constructor(graph: FakeGraph) {
    graph.onSend = (send) => {
      this.replies++;
      this.onReply(send.text ?? '', send.at);
      // The fake keeps every send; the bench only needs them here.
      graph.sends.length = 0;
    };
  }

  newText(): string {
    return `m${++this.seq}`;
  }

  sent(text: string, at = Date.now()): void {
    this.messages.set(text, { sentAt: at, answers: 0 });
  }

  /** A message the API refused (no reply will come). */
  forget(text: string): void {
    this.messages.delete(text);
  }

  get(text: string): Tracked | undefined {
    return this.messages.get(text);
  }

  /** Resolves with the reply's time once the message is answered. */
  answered(text: string): Promise<number> {
    const known = this.messages.get(text)?.answeredAt;
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => this.waiters.set(text, resolve));
  }

  /** Waits until every text is answered or the time is up; returns how many are still unanswered. */
  async settled(texts: string[], timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let open = texts.filter((t) => this.messages.get(t)?.answeredAt === undefined);
    while (open.length > 0 && Date.now() < deadline) {
      await sleep(100);
      open = open.filter((t) => this.messages.get(t)?.answeredAt === undefined);
    }
    return open.length;
  }

  /** Over every message the bench sent: how many, how many have no reply, how many got more than one. */
  totals(): { messages: number; unanswered: number; answeredTwice: number } {
    let unanswered = 0;
    let answeredTwice = 0;
    for (const m of this.messages.values()) {
      if (m.answeredAt === undefined) unanswered++;
      if (m.answers > 1) answeredTwice++;
    }
    return { messages: this.messages.size, unanswered, answeredTwice };
  }

  /** How many of these texts were answered more than once. */
  duplicates(texts: string[]): number {
    return texts.filter((t) => (this.messages.get(t)?.answers ?? 0) > 1).length;
  }

  private onReply(text: string, at: number): void {
    const match = /^Reply to: (.*)$/s.exec(text);
    let named = 0;
    for (const t of match ? match[1]!.split(' | ') : []) {
      const m = this.messages.get(t);
      if (!m) continue;
      named++;
      m.answers++;
      if (m.answeredAt === undefined) {
        m.answeredAt = at;
        this.waiters.get(t)?.(at);
        this.waiters.delete(t);
      }
    }
    if (named === 0) this.unknownReplies++;
  }
}
