import { CUSTOMER_WINDOW_MS, SEEN_WAMIDS_LIMIT, type ChatState, type ContextMessage, type InboundMessage, type MediaInfo, mediaKind } from './definitions';

export function newChatState(waId: string): ChatState {
  return {
    waId,
    mode: 'bot',
    needsHuman: false,
    context: [],
    seenWamids: [],
    pending: [],
    unrecorded: [],
    conversationDirty: false,
    outboundCount: 0,
    optRequests: [],
    inboundTimes: [],
    inboundLimited: false,
    limitNoticeDue: false,
    overLimit: [],
  };
}

/** A Set for lookups over the bounded, ordered list that is carried across continue-as-new. */
export class SeenWamids {
  private readonly set: Set<string>;
  constructor(private readonly list: string[]) {
    this.set = new Set(list);
  }
  has(wamid: string): boolean {
    return this.set.has(wamid);
  }
  add(wamid: string): void {
    this.set.add(wamid);
    this.list.push(wamid);
    while (this.list.length > SEEN_WAMIDS_LIMIT) this.set.delete(this.list.shift()!);
  }
}

/** Anything for the chat's main loop to do (everything else the state holds is at rest). */
export function hasWork(state: ChatState): boolean {
  return (
    state.unrecorded.length > 0 ||
    state.optRequests.length > 0 ||
    state.pending.length > 0 ||
    state.conversationDirty ||
    state.overLimit.length > 0 ||
    state.limitNoticeDue
  );
}

export function pushContext(state: ChatState, entry: ContextMessage, limit: number, maxChars: number = DEFAULT_CONTEXT_CHARS): void {
  state.context.push(entry);
  if (state.context.length > limit) state.context.splice(0, state.context.length - limit);
  state.context = boundContext(state.context, maxChars);
}

/** LLM_MAX_CONTEXT_CHARS's default: about 6,000 tokens of history, whatever the message count. */
export const DEFAULT_CONTEXT_CHARS = 24_000;

/**
 * The newest messages whose texts fit in `maxChars` (the oldest one that does not fit is cut to
 * the room left), so what the chat carries and hands its reply activity stays far below
 * Temporal's payload limits however long the messages are. Returns the same array when it fits.
 */
export function boundContext(context: ContextMessage[], maxChars: number): ContextMessage[] {
  let room = maxChars;
  let i = context.length;
  while (i > 0 && context[i - 1]!.text.length <= room) room -= context[--i]!.text.length;
  if (i === 0) return context;
  const kept = context.slice(i);
  if (room > 0) kept.unshift({ ...context[i - 1]!, text: context[i - 1]!.text.slice(-room) });
  return kept;
}

/**
 * The longest prefix of `messages` whose texts fit in `maxChars`, and never less than one: a
 * burst or a batch to record is handed to one activity at a time in pieces of this size.
 */
export function prefixByChars<T extends { text: string }>(messages: T[], maxChars: number): T[] {
  let used = 0;
  let n = 0;
  while (n < messages.length && (n === 0 || used + messages[n]!.text.length <= maxChars)) used += messages[n++]!.text.length;
  return messages.slice(0, n);
}

export function recordInboundTime(state: ChatState, msg: InboundMessage, now: number): void {
  // Meta's timestamp, but never in our future: a skewed clock must not stretch the 24 h window.
  const at = Math.min(msg.sentAt, now);
  if (state.lastInboundAt === undefined || at > state.lastInboundAt) state.lastInboundAt = at;
}

export function windowOpen(state: ChatState, now: number): boolean {
  // WhatsApp's word (131047) beats our clock until the user writes again (lastInboundAt moves on).
  if (state.windowClosedFor !== undefined && state.windowClosedFor === (state.lastInboundAt ?? 0)) return false;
  return state.lastInboundAt !== undefined && now - state.lastInboundAt < CUSTOMER_WINDOW_MS;
}

export interface InboundLimit {
  messages: number;
  windowMs: number;
}

/**
 * The per-user inbound limit as a sliding window over admitted messages: admits (and counts) a
 * message when fewer than `limit.messages` were admitted in the last `limit.windowMs`. Refused
 * messages are not counted, so a user who keeps writing is answered again as soon as the window
 * frees up. The list never holds more than `limit.messages` times.
 */
export function admitInbound(state: ChatState, now: number, limit: InboundLimit): boolean {
  const times = state.inboundTimes;
  while (times.length > 0 && (now - times[0]! >= limit.windowMs || times.length > limit.messages)) times.shift();
  if (times.length >= limit.messages) return false;
  times.push(now);
  return true;
}

/** When the next message would be admitted again, or undefined when it would be admitted now. */
export function inboundLimitedUntil(state: ChatState, now: number, limit: InboundLimit): number | undefined {
  const recent = state.inboundTimes.filter((t) => now - t < limit.windowMs);
  if (recent.length < limit.messages) return undefined;
  return recent[recent.length - limit.messages]! + limit.windowMs;
}

/** How a media message reads in the LLM's context, as inbound media do (see meta-payload.ts). */
export function describeMedia(media: MediaInfo): string {
  const kind = mediaKind(media.mimeType);
  const label = kind === 'document' && media.filename ? `[document: ${media.filename}]` : `[${kind}]`;
  return media.caption ? `${label} ${media.caption}` : label;
}

/** When the burst in `pending` should be answered: quiet for debounceMs, capped at maxWaitMs. */
export function burstDeadline(state: ChatState, debounceMs: number, maxWaitMs: number): number {
  const first = state.pending[0]!;
  const last = state.pending[state.pending.length - 1]!;
  return Math.min(last.receivedAt + debounceMs, first.receivedAt + maxWaitMs);
}

// Whole-message keywords only: "please don't stop" is a conversation, "STOP" is an instruction.
const OPT_OUT_WORDS = new Set(['stop', 'stopall', 'stop all', 'unsubscribe', 'opt out', 'optout', 'opt-out']);
const OPT_IN_WORDS = new Set(['start', 'unstop', 'subscribe', 'opt in', 'optin', 'opt-in']);

/** true: asks to opt in, false: asks to opt out, undefined: an ordinary message. */
export function optKeyword(msg: InboundMessage): boolean | undefined {
  if (msg.type !== 'text') return undefined;
  const word = msg.text
    .trim()
    .toLowerCase()
    .replace(/[.!\s]+$/, '')
    .replace(/\s+/g, ' ');
  if (OPT_OUT_WORDS.has(word)) return false;
  if (OPT_IN_WORDS.has(word)) return true;
  return undefined;
}
