/**
 * One long-lived workflow per WhatsApp user (SPEC §4, §5), v2. Runs started before v2 finish on
 * the v1 code (legacy/chat-v1.ts) and continue as new into this at their next quiet moment.
 *
 * The rules, in full:
 * - ChatSession (chat-session.ts) holds the carried state and every change to it; this file
 *   decides when things happen. Handlers (chat-handlers.ts) change the session and wake the loop.
 *   Two also act, because their callers wait for the outcome: operatorMessage and followUp send
 *   (through `send`, with the loop's options), and takeover / handback answer only once Postgres
 *   has the new mode (`mirror`).
 * - Postgres writes of the conversation's mode go through `mirror`: one at a time, latest state.
 * - A burst's reply is one activity (replyToBurst: record, ask the model, send). It starts only
 *   when no mirror is in flight, so Postgres agrees with the workflow on who holds the chat, and
 *   it pins the reply (writes it pending) only while Postgres says the bot holds the chat. New
 *   messages (up to MAX_FOLDS times) and takeovers cancel it; a cancel it sees before pinning
 *   drops the draft. A pinned reply is sent as pinned, by whichever activity for the burst gets
 *   there, and answers only the messages it was written for.
 * - Activities and their options are in chat-activities.ts; patch ids in chat-patches.ts.
 */
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  makeContinueAsNewFunc,
  log,
  patched,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { ReplyToBurstResult } from '../activities/reply';
import {
  applyOptKeyword,
  loadAiConfiguration,
  loadChatSettings,
  recordInboundMessages,
  replyActivity,
  sendWhatsAppMessage,
  syncConversation,
} from './chat-activities';
import { installHandlers, deferUpdates } from './chat-handlers';
import { CHAT_PATCHES } from './chat-patches';
import { ChatSession } from './chat-session';
import { boundContext, prefixByChars } from './chat-state';
import { chatWorkflowV1 } from './legacy/chat-v1';
import {
  INBOUND_LIMIT_NOTICE,
  OPT_IN_CONFIRMATION,
  OPT_OUT_CONFIRMATION,
  type AiConfigurationChoice,
  type ChatPhase,
  type ChatSettings,
  type ChatWorkflowInput,
  type MediaInfo,
  type TemplateMessage,
} from './definitions';
import { applyChange, lifecycleOf } from './chat-lifecycle';
import { assignedToKey, businessNumberKey, chatModeKey, conversationStatusKey, lastInboundAtKey, needsHumanKey, whatsAppPhoneKey } from './search-attributes';

export { FALLBACK_REPLY } from './definitions';

/** A burst whose reply was overtaken by new messages is regenerated at most this often, then sent. */
const MAX_FOLDS = 2;
/**
 * Characters of inbound text handed to one activity: a burst to answer, a batch to record. Texts
 * are at most 4,096 characters (the webhook cuts them), so these keep every activity's input far
 * below Temporal's 2 MB payload limit however a user floods; a longer burst is answered in turns.
 */
const BURST_CHARS = 48_000;
const RECORD_CHARS = 96_000;
/** LastInboundAt to the minute is plenty for filtering in the Web UI; the exact time is in chatState. */
const LAST_INBOUND_AT_STEP_MS = 60_000;

export async function chatWorkflow(input: ChatWorkflowInput): Promise<void> {
  if (!patched(CHAT_PATCHES.v2)) return chatWorkflowV1(input);
  // A follow-up may arrive with the workflow's start (update-with-start): its handler exists
  // before the first await and runs once the chat is set up.
  const deferred = deferUpdates();
  const chat = new ChatRun(input, await loadChatSettings());
  installHandlers(chat, deferred);
  chat.publish();
  await chat.loop();
}

type Outcome = 'answered' | 'folded' | 'dropped';

export class ChatRun {
  readonly session: ChatSession;
  phase: ChatPhase = 'idle';
  readonly runStartedEventCount = workflowInfo().historyLength;
  /** The reply activity in flight, and whether new messages may still take its burst back. */
  reply?: { scope: CancellationScope; mayFold: boolean };
  private mirroring: Promise<void> = Promise.resolve();
  /** A fresh chat learns what campaigns sent this user before it existed, at its first record. */
  private bootstrapped: boolean;
  /** The pending burst's reply key, kept across folds so a part sent before a cancel is never sent again. */
  private burstKey?: string;
  private readonly replyToBurst;
  /** The business number the chat is with (issue 13); undefined: the default number. */
  readonly numberId?: number;
  /** The AI configuration the pending burst is answered with (loaded as the burst starts); null: the environment's. */
  private ai?: AiConfigurationChoice | null;

  constructor(
    input: ChatWorkflowInput,
    readonly settings: ChatSettings,
  ) {
    this.numberId = input.numberId;
    const limit =
      settings.inboundLimitMessages && settings.inboundLimitWindowMs
        ? { messages: settings.inboundLimitMessages, windowMs: settings.inboundLimitWindowMs }
        : undefined;
    this.session = new ChatSession(input.waId, input.state, settings, limit);
    if (!input.state && input.lifecycle) applyChange(this.session.state, input.lifecycle, Date.now());
    this.bootstrapped = input.state !== undefined;
    this.replyToBurst = replyActivity(settings);
  }

  private get state() {
    return this.session.state;
  }

  /** The chat's number in activity inputs: nothing for the default number (as before numbers existed). */
  get number(): { numberId?: number } {
    return this.numberId === undefined ? {} : { numberId: this.numberId };
  }

  /** One step at a time, then look again: every step below makes progress or waits. */
  async loop(): Promise<void> {
    const s = this.state;
    for (;;) {
      this.phase = 'idle';
      await condition(() => this.session.hasWork() || this.continueAsNewDue());
      if (this.session.mustRecordNow()) await this.record();
      // A conversation the inbox has touched (no run from before the inbox had one) is mirrored
      // before a burst's debounce: Postgres learns of a reopened conversation at once.
      else if (s.status !== undefined && s.conversationDirty) await this.mirror();
      else if (s.optRequests.length > 0) await this.applyOptRequests();
      else if (s.pending.length > 0) await this.answerBurst();
      else if (s.conversationDirty) await this.mirror();
      else if (s.overLimit.length > 0) this.session.flushOverLimit();
      else if (s.limitNoticeDue) await this.sendLimitNotice();
      else if (await this.quietAfterHandlers()) await this.continueAsNew();
    }
  }

  private async answerBurst(): Promise<void> {
    this.ai = await this.chooseAiConfiguration();
    for (let folds = 0; this.session.mode === 'bot'; folds++) {
      if (!(await this.debounce())) break;
      if (!this.session.windowOpen(Date.now())) {
        // A late redelivery of old messages: free text is no longer allowed, so nothing is sent.
        log.info('burst is outside the 24 h window; not answering', { pending: this.state.pending.length });
        break;
      }
      const outcome = await this.generateAndSend(folds < MAX_FOLDS);
      if (outcome === 'answered') return;
      if (outcome === 'dropped') break;
    }
    // Not answered by the bot (an operator holds the chat, or the window closed): context only.
    if (this.session.mode !== 'bot' || !this.session.windowOpen(Date.now())) this.consumeBurst(this.state.pending.length);
  }

  /**
   * The number's AI configuration as it is now, once per burst (a local activity: the id and
   * version are in the history, so a replay answers with the same). Undefined: runs from before
   * configurations that have not passed the patch (their recorded settings lack the flag).
   */
  private async chooseAiConfiguration(): Promise<AiConfigurationChoice | null | undefined> {
    if (this.settings.aiConfigurations !== true && !patched(CHAT_PATCHES.aiConfigurations)) return undefined;
    return loadAiConfiguration({ numberId: this.numberId ?? 1 });
  }

  /** Waits until the burst is quiet (or has waited long enough); false when the bot lost the chat. */
  private async debounce(): Promise<boolean> {
    for (;;) {
      this.phase = 'debouncing';
      if (this.session.mode !== 'bot') return false;
      const remaining = this.session.burstDeadline(this.ai ?? undefined) - Date.now();
      if (remaining <= 0) return true;
      const arrivals = this.session.arrivals;
      await condition(() => this.session.arrivals !== arrivals || this.session.mode !== 'bot', remaining);
    }
  }

  private async generateAndSend(mayFold: boolean): Promise<Outcome> {
    if (this.state.conversationDirty) await this.mirror();
    await this.mirroring;
    if (this.session.mode !== 'bot') return 'dropped';
    const s = this.state;
    const burst = prefixByChars(s.pending, BURST_CHARS);
    const record = prefixByChars(s.unrecorded, RECORD_CHARS);
    this.burstKey ??= this.session.nextClientKey(workflowInfo().firstExecutionRunId);
    this.phase = 'generating';
    const scope = new CancellationScope();
    this.reply = { scope, mayFold };
    let result: ReplyToBurstResult;
    try {
      result = await scope.run(() =>
        this.replyToBurst({
          waId: s.waId,
          ...this.number,
          contactName: s.contactName,
          record,
          ...(this.bootstrapped ? {} : { earlierOutbound: true }),
          context: boundContext(this.ai ? s.context.slice(-this.ai.contextMessages) : s.context, this.session.contextChars),
          ...(this.ai ? { ai: { id: this.ai.id, version: this.ai.version } } : {}),
          burst,
          clientKey: this.burstKey!,
          llmMaxAttempts: this.settings.llmMaxAttempts,
        }),
      );
    } catch (err) {
      // Cancelled, or failed after the chat asked it to stop (the server does not retry an
      // activity whose cancel is requested): the burst is taken back, not given up. A reply it may
      // have pinned and sent is found and finished by the next activity for the burst.
      if (isCancellation(err) || scope.consideredCancelled) return this.session.mode === 'bot' ? 'folded' : 'dropped';
      // Refused or out of time for good; whatever it recorded is recorded again, idempotently.
      log.error('reply could not be delivered; flagging the chat for a human', { error: String(err) });
      this.finishBurst(burst.length, undefined, true);
      return 'answered';
    } finally {
      this.reply = undefined;
    }
    this.bootstrapped = true;
    this.session.recorded(record.length, result.earlier);
    if (result.suppressed) {
      // Postgres says an operator holds the chat. If the workflow says the bot does (taken over
      // and handed back while the model worked), Postgres is brought level before trying again.
      if (this.session.mode === 'bot') this.state.conversationDirty = true;
      return 'dropped';
    }
    // A reply pinned by an earlier activity for this burst answers the burst as it then was; the
    // messages after it stay pending and are answered next, under a new key.
    this.finishBurst(result.answered ?? burst.length, result.sent.join('\n') || undefined, result.handoff || result.refused !== undefined);
    return 'answered';
  }

  private finishBurst(size: number, sentText: string | undefined, needsHuman: boolean): void {
    this.burstKey = undefined;
    this.session.answered(size, sentText, Date.now());
    if (needsHuman) this.session.setNeedsHuman(true);
    this.publish();
  }

  private consumeBurst(size: number): void {
    this.burstKey = undefined;
    this.session.consumePending(size);
  }

  /** Messages that will not go with a reply soon (an operator holds the chat, nothing to answer). */
  private async record(): Promise<void> {
    this.phase = 'recording';
    const batch = prefixByChars(this.state.unrecorded, RECORD_CHARS);
    const { earlier } = await recordInboundMessages({
      waId: this.state.waId,
      ...this.number,
      contactName: this.state.contactName,
      messages: batch,
      ...(this.bootstrapped ? {} : { earlierOutbound: true }),
    });
    this.bootstrapped = true;
    this.session.recorded(batch.length, earlier);
  }

  /**
   * Writes the conversation's mode, operator, NeedsHuman and inbox state to Postgres: one write at
   * a time, each of the state as it is when the write starts.
   */
  mirror(): Promise<void> {
    this.state.conversationDirty = false;
    const write = this.mirroring.then(() => {
      const s = this.state;
      const { status, archived, assignedTo, tags, priority, closedAt } = lifecycleOf(s);
      return syncConversation({
        waId: s.waId,
        ...this.number,
        mode: s.mode,
        needsHuman: s.needsHuman,
        operator: s.operator ?? null,
        lifecycle: { status, archived, assignedTo, tags, priority, closedAt: closedAt ?? null },
      });
    });
    this.mirroring = write.catch(() => undefined);
    return write;
  }

  /** Publishes the search attributes that differ from what the workflow already shows. */
  publish(): void {
    const want = this.session.attributes();
    const have = workflowInfo().typedSearchAttributes;
    const updates: SearchAttributeUpdatePair[] = [];
    if (have.get(whatsAppPhoneKey) !== this.state.waId) updates.push({ key: whatsAppPhoneKey, value: this.state.waId });
    // Chats start with BusinessNumber; those of the default number started before numbers gain it
    // at the start of a run whose settings name the number (none did before), so no replay changes.
    const defaultNumber = this.settings.defaultBusinessNumber;
    if (this.numberId === undefined && defaultNumber && have.get(businessNumberKey) === undefined)
      updates.push({ key: businessNumberKey, value: defaultNumber });
    if (have.get(chatModeKey) !== want.mode) updates.push({ key: chatModeKey, value: want.mode });
    if (have.get(needsHumanKey) !== want.needsHuman) updates.push({ key: needsHumanKey, value: want.needsHuman });
    const shown = have.get(lastInboundAtKey)?.getTime();
    const inbound = want.lastInboundAt?.getTime();
    if (inbound !== undefined && (shown === undefined || inbound - shown >= LAST_INBOUND_AT_STEP_MS)) {
      updates.push({ key: lastInboundAtKey, value: want.lastInboundAt! });
    }
    // Chats start with ConversationStatus (chatStartAttributes). Runs from before the inbox, which
    // did not, publish it once something sets it, or carry it into their next run (continueAsNew
    // below): replaying their histories adds no command.
    if (have.get(conversationStatusKey) !== undefined || this.state.status !== undefined || this.state.assignedTo !== undefined) {
      if (have.get(conversationStatusKey) !== want.status) updates.push({ key: conversationStatusKey, value: want.status });
      // A removed attribute may read back as null.
      if ((have.get(assignedToKey) ?? undefined) !== want.assignedTo) updates.push({ key: assignedToKey, value: want.assignedTo ?? null });
    }
    if (updates.length > 0) upsertSearchAttributes(updates);
  }

  /** A message outside a reply, with its own key (or the caller's, for one it may ask for again). */
  async send(
    senderType: 'bot' | 'operator',
    content: { text?: string; media?: MediaInfo; template?: TemplateMessage },
    operator?: string,
    key?: string,
  ): Promise<string> {
    const clientKey = key ?? this.session.nextClientKey(workflowInfo().firstExecutionRunId);
    const { wamid } = await sendWhatsAppMessage({ waId: this.state.waId, ...this.number, clientKey, senderType, operator, ...content });
    return wamid;
  }

  /**
   * STOP always opts the contact out and is confirmed once (compliance, whoever holds the chat).
   * START only counts when the contact had opted out; otherwise it is an ordinary message.
   */
  private async applyOptRequests(): Promise<void> {
    const s = this.state;
    while (s.optRequests.length > 0) {
      const { message, optIn } = s.optRequests[0]!;
      this.phase = 'recording';
      const { handled, changed } = await applyOptKeyword({ waId: s.waId, ...this.number, optIn, at: message.sentAt, name: s.contactName });
      s.optRequests.shift();
      if (!handled) {
        this.session.queue(message, Date.now());
        continue;
      }
      this.session.remember({ role: 'user', text: message.text, at: message.sentAt });
      if (changed) await this.sendNotice(optIn ? OPT_IN_CONFIRMATION : OPT_OUT_CONFIRMATION, 'opt-in/out confirmation');
    }
  }

  /** The limited period's one notice, once any burst before it is answered. */
  private async sendLimitNotice(): Promise<void> {
    this.state.limitNoticeDue = false;
    // An operator holding the chat speaks for the business; a closed window allows no free text.
    if (this.session.mode !== 'bot' || !this.session.windowOpen(Date.now())) return;
    await this.sendNotice(INBOUND_LIMIT_NOTICE, 'inbound limit notice');
  }

  private async sendNotice(text: string, what: string): Promise<void> {
    this.phase = 'sending';
    try {
      await this.send('bot', { text });
      this.session.remember({ role: 'bot', text, at: Date.now() });
    } catch (err) {
      log.error(`${what} could not be delivered`, { error: String(err) });
    }
  }

  /**
   * The next run, with the search attributes this one should show: a run from before the inbox
   * hands its chat on with ConversationStatus, at no cost in events.
   */
  private async continueAsNew(): Promise<never> {
    const want = this.session.attributes();
    const attributes = workflowInfo().typedSearchAttributes.updateCopy([
      { key: conversationStatusKey, value: want.status },
      { key: assignedToKey, value: want.assignedTo ?? null },
    ]);
    return makeContinueAsNewFunc<typeof chatWorkflow>({ typedSearchAttributes: attributes })({ waId: this.state.waId, ...this.number, state: this.state });
  }

  private continueAsNewDue(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= this.settings.continueAsNewAfterEvents;
  }

  /** Updates in flight (an operator message sending) finish in this run before it hands over. */
  private async quietAfterHandlers(): Promise<boolean> {
    if (!this.continueAsNewDue()) return false;
    await condition(allHandlersFinished);
    await this.mirroring;
    return !this.session.hasWork();
  }
}
