import { conversationStates, conversationSummaries, conversationsUpdatedSince, lastMessageId, messagesAfter, messagesByIds } from '../db/conversation-stream';
import type { Db } from '../db/database';
import type { Message } from '../db/schema';
import type { Logger } from '../logger';
import { HttpError } from './errors';

type StateRow = Awaited<ReturnType<typeof conversationStates>>[number];
export type ConversationSummary = Awaited<ReturnType<typeof conversationSummaries>>[number];

export type StreamEvent =
  { kind: 'message'; message: Message } | { kind: 'message_update'; message: Message } | { kind: 'conversation'; conversation: ConversationSummary };

/** One client's stream. send/heartbeat answer false when the client stopped keeping up. */
export interface StreamSink {
  send(events: StreamEvent[]): boolean;
  heartbeat(): boolean;
  end(): void;
}

export type StreamFilter = { conversationId: string } | { waId: string } | { inbox: true };

export interface StreamHubOptions {
  pollMs?: number;
  heartbeatMs?: number;
  /** Open streams per process; beyond it opening one answers 429. */
  maxStreams?: number;
  /** Open streams per caller (API key or user), so one caller cannot take the whole process's. */
  maxStreamsPerCaller?: number;
  /** How long a message may take between getting its id and committing, and still be streamed. */
  lookbackMs?: number;
  /** The inbox poll's window on updated_at; covers clock skew between workers and the database. */
  inboxLookbackMs?: number;
}

interface ChatSub {
  kind: 'chat';
  sink: StreamSink;
  caller: string;
  ready: boolean;
  waId?: string;
  conversationId?: string;
  /** mode, needs_human, operator and the inbox state as last sent. */
  state?: string;
  /** Every message with a larger id not in `emitted` is still to be sent. */
  cursor: bigint;
  emitted: Set<bigint>;
  /** Outbound messages sent on, by id, with the delivery status sent, until it is final. */
  tracked: Map<string, string>;
}
interface InboxSub {
  kind: 'inbox';
  sink: StreamSink;
  caller: string;
  ready: boolean;
}
type Sub = ChatSub | InboxSub;

const PAGE = 500;
const MAX_PAGES = 20;
const MAX_TRACKED = 20;
const FINAL = new Set(['received', 'read', 'failed']);

// Not the unread count: a conversation's own stream shows the messages themselves.
const chatState = (c: StateRow) =>
  [c.mode, c.needs_human, c.operator ?? '', c.status, c.archived_at !== null, c.assigned_to ?? '', c.tags.join(','), c.priority].join('|');
// An inbox also shows unread badges: a conversation marked read is news to the other consoles.
const inboxState = (c: StateRow) => `${chatState(c)}|${c.last_message_at?.getTime() ?? ''}|${c.contact_name ?? ''}|${c.unread_count}`;
const statusKey = (m: Message) => `${m.delivery_status}|${m.wamid ?? ''}`;
const uniq = <T>(xs: T[]) => [...new Set(xs)];

const hubs = new Set<ConversationStreamHub>();

/** Ends every open conversation stream of this process (API shutdown: clients resume elsewhere). */
export function closeConversationStreams(): void {
  for (const hub of hubs) hub.closeAll();
}

/**
 * Live conversation events for any number of streams from one Postgres poll per process, so it
 * works the same behind any number of API replicas and needs nothing from the workflows.
 *
 * Message ids come from a sequence and are taken before their transaction commits, so a message
 * can become visible after one with a larger id. The poll therefore re-reads the last `lookbackMs`
 * worth of ids (the floor is the largest id seen that long ago) and each stream skips what it
 * already sent: a late commit is streamed, only after its successor.
 */
export class ConversationStreamHub {
  private readonly subs = new Set<Sub>();
  private readonly perCaller = new Map<string, number>();
  private readonly pollMs: number;
  private readonly heartbeatMs: number;
  private readonly maxStreams: number;
  private readonly maxStreamsPerCaller: number;
  private readonly lookbackMs: number;
  private readonly inboxLookbackMs: number;
  private running = false;
  private heartbeat?: NodeJS.Timeout;
  private history: { at: number; maxId: bigint }[] = [];
  private floor?: bigint;
  private maxSeen = 0n;
  private inbox?: Map<string, string>;
  private inboxBaseline?: Promise<void>;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    opts: StreamHubOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 500;
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
    this.maxStreams = opts.maxStreams ?? 200;
    this.maxStreamsPerCaller = opts.maxStreamsPerCaller ?? 5;
    this.lookbackMs = opts.lookbackMs ?? 10_000;
    this.inboxLookbackMs = opts.inboxLookbackMs ?? 60_000;
    hubs.add(this);
  }

  get size(): number {
    return this.subs.size;
  }

  /**
   * Starts a stream: sends its first events (the conversation, and the messages after sinceId),
   * then everything new. Throws before sending anything when the stream cannot start. Returns the
   * function that ends it. `caller` names who opens it (see maxStreamsPerCaller).
   */
  async open(filter: StreamFilter, sink: StreamSink, sinceId?: string, caller = 'anonymous'): Promise<() => void> {
    if (this.subs.size >= this.maxStreams) {
      throw new HttpError('RATE_LIMIT_EXCEEDED', 'Too many open streams on this API process; try again shortly', {
        open_streams: this.subs.size,
        limit: this.maxStreams,
      });
    }
    const callerStreams = this.perCaller.get(caller) ?? 0;
    if (callerStreams >= this.maxStreamsPerCaller) {
      throw new HttpError('RATE_LIMIT_EXCEEDED', `This caller already has ${callerStreams} open streams; close one first`, {
        open_streams: callerStreams,
        limit: this.maxStreamsPerCaller,
        per: 'caller',
      });
    }
    const sub: Sub =
      'inbox' in filter
        ? { kind: 'inbox', sink, caller, ready: false }
        : { kind: 'chat', sink, caller, ready: false, cursor: 0n, emitted: new Set(), tracked: new Map() };
    this.subs.add(sub);
    this.perCaller.set(caller, callerStreams + 1);
    this.ensureRunning();
    try {
      if (sub.kind === 'inbox') await this.ensureInboxBaseline();
      else await this.startChat(sub, filter as Exclude<StreamFilter, { inbox: true }>, sinceId);
    } catch (err) {
      this.remove(sub);
      throw err;
    }
    sub.ready = true;
    return () => this.remove(sub);
  }

  closeAll(): void {
    for (const sub of [...this.subs]) {
      this.remove(sub);
      sub.sink.end();
    }
  }

  /** Idempotent: a stream can end from both sides (the client leaving, and closeAll or drop). */
  private remove(sub: Sub): void {
    if (!this.subs.delete(sub)) return;
    const left = (this.perCaller.get(sub.caller) ?? 1) - 1;
    if (left > 0) this.perCaller.set(sub.caller, left);
    else this.perCaller.delete(sub.caller);
    if (sub.kind === 'inbox' && ![...this.subs].some((s) => s.kind === 'inbox')) {
      this.inbox = undefined;
      this.inboxBaseline = undefined;
    }
  }

  private async startChat(sub: ChatSub, filter: { conversationId: string } | { waId: string }, sinceId?: string): Promise<void> {
    const [conv] =
      'conversationId' in filter ? await conversationStates(this.db, [filter.conversationId], []) : await conversationStates(this.db, [], [filter.waId]);
    if (!conv && 'conversationId' in filter) throw new HttpError('NOT_FOUND', `Conversation ${filter.conversationId} not found`);
    sub.waId = conv?.wa_id ?? ('waId' in filter ? filter.waId : undefined);
    sub.cursor = BigInt(sinceId ?? (conv ? await lastMessageId(this.db, conv.id) : '0'));
    if (!conv) return;
    sub.conversationId = conv.id;
    sub.state = chatState(conv);
    const events: StreamEvent[] = [];
    const [summary] = await conversationSummaries(this.db, [conv.id]);
    if (summary) events.push({ kind: 'conversation', conversation: summary });
    if (sinceId) {
      for (const m of await this.fetchMessages(new Map([[conv.id, sub.cursor]]))) {
        events.push({ kind: 'message', message: m });
        this.track(sub, m);
        sub.cursor = BigInt(m.id);
      }
    }
    sub.sink.send(events);
  }

  private track(sub: ChatSub, m: Message): void {
    if (m.direction !== 'outbound' || FINAL.has(m.delivery_status)) return;
    sub.tracked.set(m.id, statusKey(m));
    if (sub.tracked.size > MAX_TRACKED) sub.tracked.delete(sub.tracked.keys().next().value!);
  }

  private ensureInboxBaseline(): Promise<void> {
    this.inboxBaseline ??= conversationsUpdatedSince(this.db, this.inboxLookbackMs).then(
      (rows) => {
        this.inbox = new Map(rows.map((r) => [r.id, inboxState(r)]));
      },
      (err: unknown) => {
        this.inboxBaseline = undefined;
        throw err;
      },
    );
    return this.inboxBaseline;
  }

  private ensureRunning(): void {
    if (this.running) return;
    this.running = true;
    this.heartbeat = setInterval(() => {
      for (const sub of this.subs) if (sub.ready && !sub.sink.heartbeat()) this.drop(sub);
    }, this.heartbeatMs).unref();
    void this.loop();
  }

  private async loop(): Promise<void> {
    while (this.subs.size > 0) {
      await new Promise((r) => setTimeout(r, this.pollMs).unref());
      if (this.subs.size === 0) break;
      try {
        await this.tick();
      } catch (err) {
        this.log.warn({ err }, 'conversation stream poll failed; retrying');
      }
    }
    // Nothing awaited since the check above: a stream opening now starts a fresh loop.
    this.running = false;
    clearInterval(this.heartbeat);
    this.history = [];
    this.floor = undefined;
  }

  private drop(sub: Sub): void {
    this.remove(sub);
    sub.sink.end();
  }

  private async fetchMessages(after: Map<string, bigint>): Promise<Message[]> {
    const out: Message[] = [];
    let pageAfter = 0n;
    for (let page = 0; page < MAX_PAGES; page++) {
      const rows = await messagesAfter(this.db, after, pageAfter, PAGE);
      out.push(...rows);
      if (rows.length < PAGE) break;
      pageAfter = BigInt(rows[rows.length - 1]!.id);
    }
    return out;
  }

  /** One poll: read what changed, then (with no await in between) send it and move the cursors. */
  private async tick(): Promise<void> {
    const now = Date.now();
    if (this.history.length === 0) {
      this.maxSeen = BigInt(await lastMessageId(this.db));
      this.history.push({ at: now, maxId: this.maxSeen });
    }
    const subs = [...this.subs].filter((s) => s.ready);
    const chats = subs.filter((s): s is ChatSub => s.kind === 'chat');
    const inboxes = subs.filter((s): s is InboxSub => s.kind === 'inbox');

    // Conversation state of the watched conversations, and phones that have now written.
    const states = await conversationStates(
      this.db,
      uniq(chats.flatMap((s) => (s.conversationId ? [s.conversationId] : []))),
      uniq(chats.flatMap((s) => (!s.conversationId && s.waId ? [s.waId] : []))),
    );
    const byId = new Map(states.map((r) => [r.id, r]));
    // A stream by phone watches the default number's conversation, never another number's with the same customer.
    const byWaId = new Map(states.filter((r) => r.number_id === 1).map((r) => [r.wa_id, r]));
    const found = new Map<ChatSub, StateRow>();
    for (const s of chats) {
      const row = s.conversationId ? byId.get(s.conversationId) : s.waId ? byWaId.get(s.waId) : undefined;
      if (row) found.set(s, row);
    }

    // New messages, from the floor (or from a stream's own cursor while it is below the floor).
    const after = new Map<string, bigint>();
    for (const [s, row] of found) {
      const from = this.floor === undefined || s.cursor < this.floor ? s.cursor : this.floor;
      const prev = after.get(row.id);
      after.set(row.id, prev === undefined || from < prev ? from : prev);
    }
    const fresh = await this.fetchMessages(after);
    const byMessageId = new Map(fresh.map((m) => [m.id, m]));
    const stale = uniq(chats.flatMap((s) => [...s.tracked.keys()])).filter((id) => !byMessageId.has(id));
    for (const m of await messagesByIds(this.db, stale)) byMessageId.set(m.id, m);

    let inboxChanged: StateRow[] = [];
    let nextInbox: Map<string, string> | undefined;
    if (inboxes.length > 0 && this.inbox) {
      const rows = await conversationsUpdatedSince(this.db, this.inboxLookbackMs);
      nextInbox = new Map(rows.map((r) => [r.id, inboxState(r)]));
      inboxChanged = rows.filter((r) => this.inbox!.get(r.id) !== nextInbox!.get(r.id));
    }

    const changedChats = [...found].filter(([s, row]) => !s.conversationId || s.state !== chatState(row));
    const summaries = new Map(
      (await conversationSummaries(this.db, uniq([...changedChats.map(([, r]) => r.id), ...inboxChanged.map((r) => r.id)]))).map((c) => [c.id, c]),
    );

    // Send.
    const changedState = new Map(changedChats);
    for (const s of chats) {
      if (!this.subs.has(s)) continue;
      const row = found.get(s);
      const first = Boolean(row && !s.conversationId);
      if (row) s.conversationId = row.id;
      const events = this.chatEvents(s, fresh, byMessageId);
      const changed = changedState.get(s);
      const summary = changed && summaries.get(changed.id);
      if (changed && summary) {
        s.state = chatState(changed);
        // Placed by time among this poll's messages; a conversation's first appearance comes first.
        const later = events.findIndex((e) => e.kind === 'message' && e.message.recorded_at > changed.updated_at);
        events.splice(first ? 0 : later < 0 ? events.length : later, 0, { kind: 'conversation', conversation: summary });
      }
      if (events.length > 0 && !s.sink.send(events)) this.drop(s);
    }
    if (nextInbox) this.inbox = nextInbox;
    const inboxEvents: StreamEvent[] = inboxChanged
      .sort((a, b) => a.updated_at.getTime() - b.updated_at.getTime())
      .flatMap((r) => (summaries.has(r.id) ? [{ kind: 'conversation' as const, conversation: summaries.get(r.id)! }] : []));
    if (inboxEvents.length > 0) for (const s of inboxes) if (this.subs.has(s) && !s.sink.send(inboxEvents)) this.drop(s);

    // Slide the floor: the largest id seen lookbackMs ago; below it every stream is complete.
    for (const m of fresh) if (BigInt(m.id) > this.maxSeen) this.maxSeen = BigInt(m.id);
    this.history.push({ at: now, maxId: this.maxSeen });
    while (this.history.length > 1 && this.history[1]!.at <= now - this.lookbackMs) this.history.shift();
    if (this.history[0]!.at <= now - this.lookbackMs) this.floor = this.history[0]!.maxId;
    if (this.floor === undefined) return;
    for (const s of chats) {
      if (!s.conversationId) continue;
      if (s.cursor < this.floor) s.cursor = this.floor;
      for (const id of s.emitted) if (id <= s.cursor) s.emitted.delete(id);
    }
  }

  private chatEvents(s: ChatSub, fresh: Message[], byId: Map<string, Message>): StreamEvent[] {
    const events: StreamEvent[] = [];
    const updates: StreamEvent[] = [];
    for (const [id, key] of s.tracked) {
      const m = byId.get(id);
      if (!m || statusKey(m) === key) continue;
      updates.push({ kind: 'message_update', message: m });
      if (FINAL.has(m.delivery_status)) s.tracked.delete(id);
      else s.tracked.set(id, statusKey(m));
    }
    for (const m of fresh) {
      const id = BigInt(m.id);
      if (m.conversation_id !== s.conversationId || id <= s.cursor || s.emitted.has(id)) continue;
      s.emitted.add(id);
      this.track(s, m);
      events.push({ kind: 'message', message: m });
    }
    return [...updates, ...events];
  }
}
