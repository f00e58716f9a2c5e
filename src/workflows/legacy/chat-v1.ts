/**
 * The chat workflow as it ran before v2 (../chat.ts), kept so runs started before v2 replay and
 * finish their current work unchanged. Frozen, one long function as it was released: its commands
 * are pinned by the histories in test/histories/*.v1-v5.json, and it can be deleted (with
 * CHAT_PATCHES.v2 deprecated) once no run started before v2 is open. The one addition is
 * CHAT_PATCHES.upgradeToV2: at its next quiet moment (nothing pending, nothing unrecorded, no
 * handler running) a v1 run continues as new, carrying its whole state, and the new run is v2.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import {
  admitInbound,
  burstDeadline,
  describeMedia,
  hasWork,
  inboundLimitedUntil,
  newChatState,
  optKeyword,
  pushContext,
  recordInboundTime,
  SeenWamids,
  windowOpen,
  type InboundLimit,
} from '../chat-state';
import {
  CUSTOMER_WINDOW_MS,
  INBOUND_LIMIT_NOTICE,
  INVALID_OPERATOR_MESSAGE,
  SEND_FAILED,
  OPERATOR_HOLDS_CHAT,
  OPT_IN_CONFIRMATION,
  OPT_OUT_CONFIRMATION,
  USER_WROTE_SINCE,
  WINDOW_CLOSED,
  FALLBACK_REPLY,
  campaignMessageSignal,
  chatStateQuery,
  followUpUpdate,
  handbackUpdate,
  inboundMessageSignal,
  operatorMessageUpdate,
  takeoverUpdate,
  type ChatPhase,
  type ChatState,
  type ChatWorkflowInput,
  type FollowUpInput,
  type FollowUpResult,
  type InboundMessage,
  type MediaInfo,
} from '../definitions';
import { chatModeKey, lastInboundAtKey, needsHumanKey, whatsAppPhoneKey } from '../search-attributes';
import { CHAT_PATCHES } from '../chat-patches';
import { splitMessage } from '../split-message';

/** A burst whose reply was overtaken by new messages is regenerated at most this often, then sent. */
const MAX_FOLDS = 2;
const COARSE_LAST_INBOUND_AT = CHAT_PATCHES.coarseLastInboundAt;
const OPT_KEYWORDS = CHAT_PATCHES.optKeywords;
const INBOUND_RATE_LIMIT = CHAT_PATCHES.inboundRateLimit;
const LAST_INBOUND_AT_STEP_MS = 60_000;

/*
 * Every step that changes the world is a regular activity: its input (the send's idempotency key
 * included) is pinned in history when it is scheduled. Local activities were tried for the send
 * and recording, to save a server round trip: when a signal raced a continue-as-new, the workflow
 * task was rejected, the local activity's marker was lost with it, and the re-run send was
 * matched to the previous reply's key, so a reply was never sent.
 * Recording is scheduled after the debounce timer starts so the two run side by side. The LLM call
 * is a regular activity so a takeover or a new message arriving while the model thinks is seen
 * before anything is sent.
 */
const { loadChatSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });

// Postgres writes: retried until the database is back, so nothing received is ever dropped.
const { recordInboundMessages, syncConversation, applyOptKeyword } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

// Sends: retried through a Postgres or WhatsApp outage of up to 10 minutes (a reply later than that
// is worse than the fallback of flagging a human); non-retryable WhatsApp errors stop at once.
// Retry options are not part of the determinism check, so runs started before replay unchanged.
const { sendWhatsAppMessage } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '10 minutes',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '20s' },
});

/** `upgrade` false only in the live-upgrade test, which runs this as the code from before v2. */
export async function chatWorkflowV1(input: ChatWorkflowInput, upgrade = true): Promise<void> {
  // Carried state over fresh defaults: a field added since the previous run started is valid too.
  const state: ChatState = { ...newChatState(input.waId), ...input.state };

  // A follow-up may arrive together with the workflow's start (update-with-start), so its handler
  // exists before the first await; it runs once the rest of the chat is set up below.
  let followUp: ((arg: FollowUpInput) => Promise<FollowUpResult>) | undefined = undefined;
  setHandler(
    followUpUpdate,
    async (arg) => {
      await condition(() => followUp !== undefined);
      return followUp!(arg);
    },
    {
      validator: ({ text, template, notIfInboundSince }) => {
        if (state.mode !== 'bot') {
          throw ApplicationFailure.create({ type: OPERATOR_HOLDS_CHAT, message: 'An operator holds this chat; try again after handback.' });
        }
        if (notIfInboundSince !== undefined && (state.lastInboundAt ?? 0) > notIfInboundSince) {
          throw ApplicationFailure.create({ type: USER_WROTE_SINCE, message: 'The user has written since the follow-up was scheduled.' });
        }
        if (!text.trim()) throw ApplicationFailure.create({ type: INVALID_OPERATOR_MESSAGE, message: 'Follow-up text is required' });
        if (!windowOpen(state, Date.now()) && !template) {
          throw ApplicationFailure.create({
            type: WINDOW_CLOSED,
            message: 'The 24-hour window is closed and the follow-up has no approved template.',
          });
        }
      },
    },
  );

  const settings = await loadChatSettings();
  const { generateReply } = proxyActivities<Activities>({
    startToCloseTimeout: settings.llmTimeoutMs + 5_000,
    retry: {
      initialInterval: settings.llmRetryInitialMs,
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: settings.llmMaxAttempts,
    },
  });

  const seen = new SeenWamids(state.seenWamids);
  let phase: ChatPhase = 'idle';
  let arrivals = 0;
  let duplicatesIgnored = 0;
  const runStartedEventCount = workflowInfo().historyLength;

  const published: { mode?: string; needsHuman?: boolean; lastInboundAt?: number } = {};
  // Each upsert is a visibility write on the server; LastInboundAt to the minute is plenty for
  // filtering in the Web UI (the exact time is in chatState and Postgres). Patched because runs
  // started before this upserted it on every message.
  const lastInboundAtStep = patched(COARSE_LAST_INBOUND_AT) ? LAST_INBOUND_AT_STEP_MS : 0;
  // Patched: runs started before the limit answered every message. Settings recorded before it
  // carry no limit (the local activity's old result replays), which means no limit too.
  const limitPatched = patched(INBOUND_RATE_LIMIT);
  const inboundLimit: InboundLimit | undefined =
    limitPatched && settings.inboundLimitMessages && settings.inboundLimitWindowMs
      ? { messages: settings.inboundLimitMessages, windowMs: settings.inboundLimitWindowMs }
      : undefined;
  function publishSearchAttributes(): void {
    const updates = [];
    if (published.mode !== state.mode) updates.push({ key: chatModeKey, value: state.mode });
    if (published.needsHuman !== state.needsHuman) updates.push({ key: needsHumanKey, value: state.needsHuman });
    const inbound = state.lastInboundAt;
    if (inbound !== undefined && inbound !== published.lastInboundAt) {
      if (published.lastInboundAt === undefined || inbound - published.lastInboundAt >= lastInboundAtStep) {
        updates.push({ key: lastInboundAtKey, value: new Date(inbound) });
      }
    }
    if (updates.length === 0) return;
    upsertSearchAttributes(updates);
    published.mode = state.mode;
    published.needsHuman = state.needsHuman;
    if (updates.some((u) => u.key === lastInboundAtKey)) published.lastInboundAt = inbound;
  }
  upsertSearchAttributes([{ key: whatsAppPhoneKey, value: state.waId }]);
  publishSearchAttributes();

  /** NeedsHuman changes reach the search attributes at once and Postgres from the main loop. */
  function setNeedsHuman(needsHuman: boolean): void {
    state.needsHuman = needsHuman;
    state.conversationDirty = true;
    publishSearchAttributes();
  }

  function setMode(mode: 'bot' | 'operator', operator: string | undefined): void {
    state.mode = mode;
    state.operator = mode === 'operator' ? operator : undefined;
    // An operator holding the chat, or handing it back, has dealt with whatever asked for a human.
    setNeedsHuman(false);
  }

  async function send(
    senderType: 'bot' | 'operator',
    content: { text?: string; media?: MediaInfo; template?: FollowUpInput['template'] },
    operator?: string,
    key?: string,
  ): Promise<string> {
    // One key per outbound message: the chat's execution chain (stable across continue-as-new,
    // new if the chat is ever started afresh) and a counter that continue-as-new carries; or the
    // caller's own key, for a message a caller may ask for again (a follow-up's update id).
    const clientKey = key ?? `${state.waId}:${workflowInfo().firstExecutionRunId}:${++state.outboundCount}`;
    const { wamid } = await sendWhatsAppMessage({
      waId: state.waId,
      clientKey,
      senderType,
      operator,
      ...content,
    });
    return wamid;
  }

  setHandler(inboundMessageSignal, (msg) => {
    if (seen.has(msg.wamid)) {
      duplicatesIgnored++;
      return;
    }
    seen.add(msg.wamid);
    const now = Date.now();
    if (msg.contactName) state.contactName = msg.contactName;
    recordInboundTime(state, msg, now);
    const optIn = optKeyword(msg);
    // Patched: before it, a STOP went to the LLM like any other message.
    // STOP / START are never limited: an opt-out must always work.
    if (optIn !== undefined && patched(OPT_KEYWORDS)) {
      state.unrecorded.push(msg);
      state.optRequests.push({ message: msg, optIn });
      return;
    }
    // Only the bot's answers are limited: while an operator holds the chat nothing goes to the LLM.
    if (msg.answerable && inboundLimit && state.mode === 'bot') {
      if (!admitInbound(state, now, inboundLimit)) {
        overInboundLimit(msg);
        return;
      }
      state.inboundLimited = false;
    }
    state.unrecorded.push(msg);
    if (msg.answerable) {
      state.pending.push({ ...msg, receivedAt: now });
      arrivals++;
    }
  });

  /**
   * Recorded (marked) and kept for the context, but not part of any burst; the first of a limited
   * period owes the user one notice. A burst already pending is still answered as usual.
   */
  function overInboundLimit(msg: InboundMessage): void {
    state.unrecorded.push({ ...msg, rateLimited: true });
    state.overLimit.push({ role: 'user', text: msg.text, at: msg.sentAt });
    // Only the last contextMessages could reach the context anyway; a long flood must not grow the state.
    if (state.overLimit.length > settings.contextMessages) state.overLimit.shift();
    if (!state.inboundLimited) {
      state.inboundLimited = true;
      state.limitNoticeDue = true;
    }
  }

  setHandler(campaignMessageSignal, (msg) => {
    // The campaign sender signals again after a retry; the wamid makes that harmless.
    if (seen.has(msg.wamid)) return;
    seen.add(msg.wamid);
    pushContext(state, { role: 'campaign', text: msg.text, at: msg.at }, settings.contextMessages);
  });

  setHandler(takeoverUpdate, ({ operator }) => {
    setMode('operator', operator);
    return { mode: state.mode };
  });

  setHandler(handbackUpdate, () => {
    setMode('bot', undefined);
    return { mode: state.mode };
  });

  setHandler(
    operatorMessageUpdate,
    async ({ operator, text, media }) => {
      let wamid: string;
      try {
        wamid = await send('operator', { text, media }, operator);
      } catch (err) {
        const cause = err instanceof ActivityFailure && err.cause instanceof Error ? err.cause.message : String(err);
        throw ApplicationFailure.create({ type: SEND_FAILED, message: `WhatsApp did not accept the message: ${cause}` });
      }
      const described = text ?? describeMedia(media ?? {});
      pushContext(state, { role: 'operator', text: described, at: Date.now() }, settings.contextMessages);
      return { wamid };
    },
    {
      validator: ({ text, media }) => {
        if (!text?.trim() && !media?.id && !media?.link) {
          throw ApplicationFailure.create({ type: INVALID_OPERATOR_MESSAGE, message: 'Message text or media is required' });
        }
        if (!windowOpen(state, Date.now())) {
          throw ApplicationFailure.create({
            type: WINDOW_CLOSED,
            message: 'The 24-hour customer service window is closed: the user has not written in the last 24 hours, so only template messages can be sent.',
          });
        }
      },
    },
  );

  // Lead follow-ups go through the chat so the operator check and the 24 h window are decided
  // against the chat's own state, and the message joins the context like any other.
  followUp = async ({ text, template }) => {
    if (state.mode !== 'bot') {
      throw ApplicationFailure.create({ type: OPERATOR_HOLDS_CHAT, message: 'An operator took the chat over; try again after handback.' });
    }
    const inWindow = windowOpen(state, Date.now());
    // Keyed by the update id: asked again (after a retry, even in a later run) it is not sent twice.
    const key = `${state.waId}:update:${currentUpdateInfo()?.id ?? workflowInfo().runId}`;
    let wamid: string;
    try {
      wamid = await send('bot', inWindow ? { text } : { template }, undefined, key);
    } catch (err) {
      const cause = err instanceof ActivityFailure && err.cause instanceof Error ? err.cause.message : String(err);
      throw ApplicationFailure.create({ type: SEND_FAILED, message: `WhatsApp did not accept the follow-up: ${cause}` });
    }
    const sent = inWindow ? text : template!.text;
    pushContext(state, { role: 'bot', text: sent, at: Date.now() }, settings.contextMessages);
    return { wamid, kind: inWindow ? 'text' : 'template' };
  };

  setHandler(chatStateQuery, () => {
    const now = Date.now();
    const limitedUntil = inboundLimit && state.inboundLimited ? inboundLimitedUntil(state, now, inboundLimit) : undefined;
    return {
      waId: state.waId,
      contactName: state.contactName,
      mode: state.mode,
      operator: state.operator,
      needsHuman: state.needsHuman,
      phase,
      pendingCount: state.pending.length,
      contextSize: state.context.length,
      lastInboundAt: state.lastInboundAt === undefined ? undefined : new Date(state.lastInboundAt).toISOString(),
      windowOpen: windowOpen(state, now),
      windowClosesAt: state.lastInboundAt === undefined ? undefined : new Date(state.lastInboundAt + CUSTOMER_WINDOW_MS).toISOString(),
      duplicatesIgnored,
      inboundLimited: limitedUntil !== undefined,
      inboundLimitedUntil: limitedUntil === undefined ? undefined : new Date(limitedUntil).toISOString(),
      runStartedEventCount,
    };
  });

  // A chat that starts afresh learns what the business sent this user before it existed
  // (campaign messages go out without starting a chat for every recipient).
  let bootstrapped = input.state !== undefined;
  async function recordReceived(): Promise<void> {
    phase = 'recording';
    const batch = state.unrecorded.slice();
    const { earlier } = await recordInboundMessages({
      waId: state.waId,
      contactName: state.contactName,
      messages: batch,
      ...(bootstrapped ? {} : { earlierOutbound: true }),
    });
    bootstrapped = true;
    state.unrecorded.splice(0, batch.length);
    for (const m of earlier ?? []) {
      if (seen.has(m.wamid)) continue;
      seen.add(m.wamid);
      state.context.unshift({ role: 'campaign', text: m.text, at: m.at });
    }
    if (earlier?.length) {
      state.context.sort((a, b) => a.at - b.at);
      if (state.context.length > settings.contextMessages) state.context.splice(0, state.context.length - settings.contextMessages);
    }
    publishSearchAttributes();
  }

  async function syncConversationRecord(): Promise<void> {
    phase = 'recording';
    state.conversationDirty = false;
    await syncConversation({
      waId: state.waId,
      mode: state.mode,
      needsHuman: state.needsHuman,
      operator: state.operator ?? null,
    });
  }

  /** Messages that will not be answered by the bot still belong to the conversation's context. */
  function consumePending(count: number): void {
    for (const msg of state.pending.splice(0, count)) {
      pushContext(state, { role: 'user', text: msg.text, at: msg.sentAt }, settings.contextMessages);
    }
    if (state.pending.length === 0) flushOverLimit();
  }

  /** Over-limit messages join the context after the burst they followed, so the order is kept. */
  function flushOverLimit(): void {
    for (const entry of state.overLimit.splice(0)) pushContext(state, entry, settings.contextMessages);
  }

  /** The limited period's one notice, sent from the main loop once any burst before it is answered. */
  async function sendLimitNotice(): Promise<void> {
    state.limitNoticeDue = false;
    // An operator holding the chat speaks for the business; a closed window allows no free text.
    if (state.mode !== 'bot' || !windowOpen(state, Date.now())) return;
    phase = 'sending';
    try {
      await send('bot', { text: INBOUND_LIMIT_NOTICE });
      pushContext(state, { role: 'bot', text: INBOUND_LIMIT_NOTICE, at: Date.now() }, settings.contextMessages);
    } catch (err) {
      log.error('inbound limit notice could not be delivered', { error: String(err) });
    }
  }

  /** Waits until the burst is quiet (or has waited long enough); false when the bot lost the chat. */
  async function debounce(): Promise<boolean> {
    for (;;) {
      phase = 'debouncing';
      if (state.mode !== 'bot') return false;
      const remaining = burstDeadline(state, settings.debounceMs, settings.maxWaitMs) - Date.now();
      if (remaining <= 0) return true;
      const seenArrivals = arrivals;
      // The timer starts first; messages are written down while it runs, so the record stays live.
      const quietOrInterrupted = condition(() => arrivals !== seenArrivals || state.mode !== 'bot', remaining);
      if (state.unrecorded.length > 0) await recordReceived();
      phase = 'debouncing';
      await quietOrInterrupted;
    }
  }

  async function answerBurst(): Promise<void> {
    for (let folds = 0; ; folds++) {
      if (!(await debounce())) return;
      if (!windowOpen(state, Date.now())) {
        // A late redelivery of old messages: free text is no longer allowed, so nothing is sent.
        log.info('burst is outside the 24 h window; not answering', { pending: state.pending.length });
        consumePending(state.pending.length);
        return;
      }
      const burst = state.pending.slice();
      const arrivalsBefore = arrivals;
      phase = 'generating';
      let reply = FALLBACK_REPLY;
      let handoff = true;
      let llmFailed = false;
      try {
        ({ text: reply, handoff } = await generateReply({ waId: state.waId, context: state.context, burst }));
      } catch (err) {
        log.warn('LLM failed after retries; sending the fallback reply', { error: String(err) });
        llmFailed = true;
      }
      // Taken over while the model was thinking: the operator owns the chat, the draft is dropped.
      if (state.mode !== 'bot') return;
      // New messages arrived and nothing was sent yet: answer them together rather than twice.
      // A failed model is not asked again for the same burst; its retries are already spent.
      if (arrivals !== arrivalsBefore && folds < MAX_FOLDS && !llmFailed) continue;

      consumePending(burst.length);
      if (handoff && !state.needsHuman) setNeedsHuman(true);
      await sendReply(reply);
      return;
    }
  }

  async function sendReply(reply: string): Promise<void> {
    // Anything that arrived while the model was busy goes on record before the answer does.
    if (state.unrecorded.length > 0) await recordReceived();
    phase = 'sending';
    const sent: string[] = [];
    for (const part of splitMessage(reply)) {
      if (state.mode !== 'bot') break;
      try {
        await send('bot', { text: part });
        sent.push(part);
      } catch (err) {
        log.error('reply could not be delivered; flagging the chat for a human', { error: String(err) });
        setNeedsHuman(true);
        break;
      }
    }
    if (sent.length > 0) pushContext(state, { role: 'bot', text: sent.join('\n'), at: Date.now() }, settings.contextMessages);
  }

  /**
   * STOP always opts the contact out and is confirmed once (compliance, whoever holds the chat).
   * START only counts when the contact had opted out; otherwise it is an ordinary message.
   */
  async function applyOptRequests(): Promise<void> {
    while (state.optRequests.length > 0) {
      const { message, optIn } = state.optRequests[0]!;
      phase = 'recording';
      const { handled, changed } = await applyOptKeyword({
        waId: state.waId,
        optIn,
        at: message.sentAt,
        name: state.contactName,
      });
      state.optRequests.shift();
      if (!handled) {
        state.pending.push({ ...message, receivedAt: Date.now() });
        arrivals++;
        continue;
      }
      pushContext(state, { role: 'user', text: message.text, at: message.sentAt }, settings.contextMessages);
      if (!changed) continue;
      const confirmation = optIn ? OPT_IN_CONFIRMATION : OPT_OUT_CONFIRMATION;
      phase = 'sending';
      try {
        await send('bot', { text: confirmation });
        pushContext(state, { role: 'bot', text: confirmation, at: Date.now() }, settings.contextMessages);
      } catch (err) {
        log.error('opt-in/out confirmation could not be delivered', { error: String(err) });
      }
    }
  }

  function shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= settings.continueAsNewAfterEvents;
  }

  /** Nothing in flight that the main loop owns: the state can be carried to a new run as it is. */
  const quiet = () => !hasWork(state);

  for (;;) {
    phase = 'idle';
    // Evaluated only at quiet loop tops, so replays call patched() at the same points as the run did.
    if (upgrade && quiet() && patched(CHAT_PATCHES.upgradeToV2)) {
      await condition(allHandlersFinished);
      if (quiet()) await continueAsNew<typeof chatWorkflowV1>({ waId: state.waId, state });
    }
    await condition(
      () =>
        state.unrecorded.length > 0 ||
        state.optRequests.length > 0 ||
        state.pending.length > 0 ||
        state.conversationDirty ||
        state.overLimit.length > 0 ||
        state.limitNoticeDue ||
        shouldContinueAsNew(),
    );
    if (state.unrecorded.length > 0) await recordReceived();
    if (state.conversationDirty) await syncConversationRecord();
    // Opt requests are few and must not wait behind a burst; they go on record first (above).
    if (state.optRequests.length > 0) await applyOptRequests();
    if (state.pending.length > 0) {
      if (state.mode === 'bot') await answerBurst();
      else consumePending(state.pending.length);
      continue;
    }
    if (state.overLimit.length > 0) flushOverLimit();
    if (state.limitNoticeDue) {
      await sendLimitNotice();
      continue;
    }
    if (shouldContinueAsNew() && state.unrecorded.length === 0 && !state.conversationDirty && state.optRequests.length === 0) {
      // Operator updates may be mid-flight (sending); they finish in this run before it hands over.
      await condition(allHandlersFinished);
      if (state.pending.length > 0 || state.unrecorded.length > 0 || state.optRequests.length > 0) continue;
      await continueAsNew<typeof chatWorkflowV1>({ waId: state.waId, state });
    }
  }
}
