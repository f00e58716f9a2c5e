/**
 * The chat's carried state and every change to it, as plain methods with no Temporal in them: the
 * workflow (chat.ts) decides when things happen and runs activities; this class decides what they
 * mean. Unit-tested on its own (test/unit/chat-session.test.ts). `state` is exactly what
 * continue-as-new carries, the same shape as the chat runs before v2, so a v1 run hands over whole.
 */
import {
  DEFAULT_CONTEXT_CHARS,
  admitInbound,
  boundContext,
  burstDeadline,
  hasWork,
  inboundLimitedUntil,
  newChatState,
  optKeyword,
  pushContext,
  recordInboundTime,
  SeenWamids,
  windowOpen,
  type InboundLimit,
} from './chat-state';
import { lifecycleOf, reopenOnInbound } from './chat-lifecycle';
import {
  CUSTOMER_WINDOW_MS,
  type CampaignMessage,
  type ChatMode,
  type ChatPhase,
  type ChatSettings,
  type ChatState,
  type ChatStateView,
  type ContextMessage,
  type DeliveryFailure,
  type InboundMessage,
} from './definitions';

/** What became of an inbound message. */
export type Received = 'duplicate' | 'opt-keyword' | 'over-limit' | 'queued' | 'recorded-only';

/** The search attribute values the chat should show now (published only when they change). */
export interface ChatAttributes {
  mode: ChatMode;
  needsHuman: boolean;
  lastInboundAt?: Date;
  /** ConversationStatus: open, closed or archived. */
  status: 'open' | 'closed' | 'archived';
  assignedTo?: number;
}

export interface EarlierOutbound {
  wamid: string;
  text: string;
  at: number;
}

export class ChatSession {
  readonly state: ChatState;
  private readonly seen: SeenWamids;
  /** Answerable messages queued in this run: the debounce restarts when it changes. */
  arrivals = 0;
  duplicatesIgnored = 0;

  constructor(
    waId: string,
    carried: ChatState | undefined,
    private readonly settings: Pick<ChatSettings, 'contextMessages' | 'contextChars' | 'debounceMs' | 'maxWaitMs'>,
    private readonly inboundLimit?: InboundLimit,
  ) {
    // Carried state over fresh defaults: a field added since the previous run started is valid too.
    this.state = { ...newChatState(waId), ...carried };
    this.seen = new SeenWamids(this.state.seenWamids);
  }

  get mode(): ChatMode {
    return this.state.mode;
  }

  /** LLM_MAX_CONTEXT_CHARS, or its default for runs whose settings predate it. */
  get contextChars(): number {
    return this.settings.contextChars ?? DEFAULT_CONTEXT_CHARS;
  }

  /**
   * A message from the webhook: dropped when its wamid was seen, otherwise put on the record and,
   * if the bot may answer it, queued for the next burst. STOP / START are never limited (an
   * opt-out must always work); only the bot's answers are (an operator reads everything).
   */
  receive(msg: InboundMessage, now: number): Received {
    if (this.seen.has(msg.wamid)) {
      this.duplicatesIgnored++;
      return 'duplicate';
    }
    this.seen.add(msg.wamid);
    const state = this.state;
    reopenOnInbound(state);
    if (msg.contactName) state.contactName = msg.contactName;
    recordInboundTime(state, msg, now);
    const optIn = optKeyword(msg);
    if (optIn !== undefined) {
      state.unrecorded.push(msg);
      state.optRequests.push({ message: msg, optIn });
      return 'opt-keyword';
    }
    if (msg.answerable && this.inboundLimit && state.mode === 'bot') {
      if (!admitInbound(state, now, this.inboundLimit)) {
        this.overLimit(msg);
        return 'over-limit';
      }
      state.inboundLimited = false;
    }
    state.unrecorded.push(msg);
    if (!msg.answerable) return 'recorded-only';
    this.queue(msg, now);
    return 'queued';
  }

  /** A STOP / START that turned out to be an ordinary message (START from someone never opted out). */
  queue(msg: InboundMessage, now: number): void {
    this.state.pending.push({ ...msg, receivedAt: now });
    this.arrivals++;
  }

  /**
   * Recorded (marked) and kept for the context, but not part of any burst; the first of a limited
   * period owes the user one notice. A burst already pending is still answered as usual.
   */
  private overLimit(msg: InboundMessage): void {
    const state = this.state;
    state.unrecorded.push({ ...msg, rateLimited: true });
    state.overLimit.push({ role: 'user', text: msg.text, at: msg.sentAt });
    // Only the last contextMessages could reach the context anyway; a long flood must not grow the state.
    if (state.overLimit.length > this.settings.contextMessages) state.overLimit.shift();
    if (!state.inboundLimited) {
      state.inboundLimited = true;
      state.limitNoticeDue = true;
    }
  }

  /** A campaign message this user got joins the context (the sender may signal it twice). */
  campaignMessage(msg: CampaignMessage): void {
    if (this.seen.has(msg.wamid)) return;
    this.seen.add(msg.wamid);
    this.remember({ role: 'campaign', text: msg.text, at: msg.at });
  }

  /** An operator holding the chat, or handing it back, has dealt with whatever asked for a human. */
  setMode(mode: ChatMode, operator: string | undefined): void {
    this.state.mode = mode;
    this.state.operator = mode === 'operator' ? operator : undefined;
    this.setNeedsHuman(false);
  }

  /**
   * A message WhatsApp accepted and then could not deliver for good: someone must look at the
   * chat. A closed-window failure (131047) also closes the window here, unless the user has
   * written since the failed message was sent (which opened a new one).
   */
  deliveryFailed(failure: DeliveryFailure): void {
    this.setNeedsHuman(true);
    const lastInbound = this.state.lastInboundAt ?? 0;
    if (failure.windowClosed && failure.sentAt >= lastInbound) this.state.windowClosedFor = lastInbound;
  }

  setNeedsHuman(needsHuman: boolean): void {
    if (this.state.needsHuman === needsHuman) return;
    this.state.needsHuman = needsHuman;
    this.state.conversationDirty = true;
  }

  remember(entry: ContextMessage): void {
    pushContext(this.state, entry, this.settings.contextMessages, this.contextChars);
  }

  windowOpen(now: number): boolean {
    return windowOpen(this.state, now);
  }

  /**
   * When the pending burst should be answered: quiet for debounceMs, never later than maxWaitMs
   * (the burst's AI configuration's, else the worker's settings).
   */
  burstDeadline(timing?: { debounceMs: number; maxWaitMs: number }): number {
    return burstDeadline(this.state, timing?.debounceMs ?? this.settings.debounceMs, timing?.maxWaitMs ?? this.settings.maxWaitMs);
  }

  /** Inbound messages must go on record now rather than with the next reply (which takes them along). */
  mustRecordNow(): boolean {
    const s = this.state;
    return s.unrecorded.length > 0 && (s.mode !== 'bot' || s.pending.length === 0 || s.optRequests.length > 0);
  }

  /** The first `count` unrecorded messages are in Postgres now (later arrivals stay queued). */
  recorded(count: number, earlier: EarlierOutbound[] | undefined): void {
    this.state.unrecorded.splice(0, count);
    this.addEarlier(earlier ?? []);
  }

  /** Campaign messages sent before this chat existed join its context, in time order. */
  private addEarlier(earlier: EarlierOutbound[]): void {
    const context = this.state.context;
    let added = false;
    for (const m of earlier) {
      if (this.seen.has(m.wamid)) continue;
      this.seen.add(m.wamid);
      context.unshift({ role: 'campaign', text: m.text, at: m.at });
      added = true;
    }
    if (!added) return;
    context.sort((a, b) => a.at - b.at);
    if (context.length > this.settings.contextMessages) context.splice(0, context.length - this.settings.contextMessages);
    this.state.context = boundContext(context, this.contextChars);
  }

  /** Messages the bot will not (or no longer) answer still belong to the conversation's context. */
  consumePending(count: number): void {
    for (const msg of this.state.pending.splice(0, count)) this.remember({ role: 'user', text: msg.text, at: msg.sentAt });
    if (this.state.pending.length === 0) this.flushOverLimit();
  }

  /** Over-limit messages join the context after the burst they followed, so the order is kept. */
  flushOverLimit(): void {
    for (const entry of this.state.overLimit.splice(0)) this.remember(entry);
  }

  /** The burst is answered (or failed for good): it and whatever of the reply went out join the context. */
  answered(burstSize: number, sentText: string | undefined, at: number): void {
    this.consumePending(burstSize);
    if (sentText) this.remember({ role: 'bot', text: sentText, at });
  }

  /**
   * One idempotency key per outbound message: the chat's execution chain (stable across
   * continue-as-new) and a counter continue-as-new carries.
   */
  nextClientKey(firstExecutionRunId: string): string {
    return `${this.state.waId}:${firstExecutionRunId}:${++this.state.outboundCount}`;
  }

  /** Anything for the main loop to do. */
  hasWork(): boolean {
    return hasWork(this.state);
  }

  attributes(): ChatAttributes {
    const at = this.state.lastInboundAt;
    const s = this.state;
    return {
      mode: s.mode,
      needsHuman: s.needsHuman,
      lastInboundAt: at === undefined ? undefined : new Date(at),
      status: s.archived ? 'archived' : (s.status ?? 'open'),
      assignedTo: s.assignedTo,
    };
  }

  view(now: number, phase: ChatPhase, runStartedEventCount: number): ChatStateView {
    const s = this.state;
    const limitedUntil = this.inboundLimit && s.inboundLimited ? inboundLimitedUntil(s, now, this.inboundLimit) : undefined;
    return {
      waId: s.waId,
      contactName: s.contactName,
      mode: s.mode,
      operator: s.operator,
      needsHuman: s.needsHuman,
      phase,
      pendingCount: s.pending.length,
      contextSize: s.context.length,
      lastInboundAt: s.lastInboundAt === undefined ? undefined : new Date(s.lastInboundAt).toISOString(),
      windowOpen: windowOpen(s, now),
      windowClosesAt: s.lastInboundAt === undefined ? undefined : new Date(s.lastInboundAt + CUSTOMER_WINDOW_MS).toISOString(),
      duplicatesIgnored: this.duplicatesIgnored,
      inboundLimited: limitedUntil !== undefined,
      inboundLimitedUntil: limitedUntil === undefined ? undefined : new Date(limitedUntil).toISOString(),
      runStartedEventCount,
      lifecycle: lifecycleOf(s),
    };
  }
}
