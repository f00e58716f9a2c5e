/**
 * The chat workflow's contract: everything the API and worker share, free of side effects so the
 * workflow bundle, the API and tests can all import it.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export type ChatMode = 'bot' | 'operator';
/** The inbox's view of a conversation (issue 12): closed ones reopen when the customer writes. */
export type ConversationStatus = 'open' | 'closed';
export type ConversationPriority = 'low' | 'normal' | 'high' | 'urgent';
export const CONVERSATION_PRIORITIES: readonly ConversationPriority[] = ['low', 'normal', 'high', 'urgent'];
export type ContextRole = 'user' | 'bot' | 'operator' | 'campaign';

/** Media metadata as Meta sends it; the bytes stay with Meta until someone downloads them. */
export interface MediaInfo {
  id?: string;
  link?: string;
  mimeType?: string;
  caption?: string;
  filename?: string;
  sha256?: string;
}

/** WhatsApp media kind from a MIME type; Graph needs the kind as the message type. */
export function mediaKind(mimeType: string | undefined): 'image' | 'audio' | 'video' | 'document' | 'sticker' {
  if (!mimeType) return 'document';
  if (mimeType === 'image/webp') return 'sticker';
  if (mimeType.startsWith('image/')) return 'image';
  if (mimeType.startsWith('audio/')) return 'audio';
  if (mimeType.startsWith('video/')) return 'video';
  return 'document';
}

/** A parsed inbound WhatsApp message: small, never the raw webhook. */
export interface InboundMessage {
  wamid: string;
  waId: string;
  /** Meta's timestamp, epoch milliseconds. */
  sentAt: number;
  type: string;
  /** The text, or a description of a non-text message, as the LLM will read it. */
  text: string;
  media?: MediaInfo;
  contactName?: string;
  /** False for events that are recorded but never answered (reactions, system notices). */
  answerable: boolean;
  /** Set by the chat, never by the webhook: over the user's inbound limit, so recorded but not answered. */
  rateLimited?: boolean;
  /** The text was longer than WhatsApp's 4,096 characters and is kept cut (set at the webhook). */
  truncated?: { originalLength: number };
  /** The provider's timestamp when it could not be a real send time; sentAt is then when it reached us. */
  originalTimestamp?: string;
}

export interface PendingMessage extends InboundMessage {
  /** Workflow time the signal was handled, for debounce arithmetic. */
  receivedAt: number;
}

export interface ContextMessage {
  role: ContextRole;
  text: string;
  at: number;
}

/** A campaign message that went out to this user: it joins the chat's context for the LLM. */
export interface CampaignMessage {
  wamid: string;
  campaignId: number;
  text: string;
  /** Epoch milliseconds the message was sent. */
  at: number;
}

/** An inbound STOP / START keyword waiting to be applied to the contact's opt-in. */
export interface OptRequest {
  message: InboundMessage;
  optIn: boolean;
}

export interface ChatState {
  waId: string;
  contactName?: string;
  mode: ChatMode;
  operator?: string;
  needsHuman: boolean;
  context: ContextMessage[];
  /** Most recent wamids seen, oldest first, bounded by SEEN_WAMIDS_LIMIT. */
  seenWamids: string[];
  lastInboundAt?: number;
  /** Received and not yet answered (or consumed by an operator-held chat). */
  pending: PendingMessage[];
  /** Received and not yet written to Postgres. */
  unrecorded: InboundMessage[];
  /** Postgres copy of mode/needsHuman is behind the workflow's. */
  conversationDirty: boolean;
  /** Outbound messages so far: the send idempotency key of the next one is derived from it. */
  outboundCount: number;
  /** Opt-out / opt-in keywords received and not yet applied. */
  optRequests: OptRequest[];
  /** Workflow times of the answerable messages admitted within the inbound limit's window (at most the limit). */
  inboundTimes: number[];
  /** The last answerable message was over the inbound limit; cleared when one is admitted again. */
  inboundLimited: boolean;
  /** The limited period's one notice is owed to the user (sent by the main loop). */
  limitNoticeDue: boolean;
  /** Over-limit messages that join the context once the burst before them has been answered. */
  overLimit: ContextMessage[];
  /**
   * WhatsApp said the 24 h window was closed (131047) for a message sent after the user's last
   * inbound at this time: free text waits for the user to write again. Absent in older runs.
   */
  windowClosedFor?: number;
  /*
   * The inbox (issue 12). All optional: runs started before it carry none, which reads as an
   * open, unassigned, untagged conversation of normal priority.
   */
  status?: ConversationStatus;
  /** Closed and hidden from the inbox's lists (DELETE); the customer writing reopens it. */
  archived?: boolean;
  /** Epoch ms the conversation was last closed. */
  closedAt?: number;
  /** The user (users.id) who owns the conversation. */
  assignedTo?: number;
  tags?: string[];
  priority?: ConversationPriority;
}

export interface ChatWorkflowInput {
  waId: string;
  /**
   * The business number (whatsapp_numbers.id) this chat is with (issue 13). Absent: the default
   * number, which every chat started before numbers existed is with.
   */
  numberId?: number;
  /** Present after continue-as-new: the whole state of the previous run. */
  state?: ChatState;
  /**
   * The inbox's state Postgres already has, for a chat started again for a conversation whose
   * workflow is gone (terminated by hand): the first mirror must not wipe its assignee and tags.
   */
  lifecycle?: ConversationChange;
}

export interface ChatSettings {
  debounceMs: number;
  maxWaitMs: number;
  contextMessages: number;
  llmMaxAttempts: number;
  llmTimeoutMs: number;
  llmRetryInitialMs: number;
  continueAsNewAfterEvents: number;
  /**
   * How long a campaign waits for WhatsApp's receipt of a send whose outcome a crash hid, before
   * concluding it never reached WhatsApp and sending it again.
   */
  campaignConfirmGraceMs: number;
  /** History length at which a campaign run continues as new (earlier if Temporal suggests it). */
  campaignContinueAsNewAfterEvents: number;
  /** A follow-up due while an operator holds the chat is tried again after this long. */
  leadFollowUpPostponeMs: number;
  /** A follow-up unanswered (or never sent) this long after it was due makes the lead overdue. */
  leadOverdueAfterMs: number;
  /**
   * Answerable messages per user per window that reach the LLM (seed 003). Optional: histories
   * recorded before the limit replay a settings result without them, which means no limit.
   */
  inboundLimitMessages?: number;
  inboundLimitWindowMs?: number;
  /**
   * Characters of past messages sent with a burst (LLM_MAX_CONTEXT_CHARS), newest first, on top
   * of the message count. Optional: histories recorded before it replay without it (the default).
   */
  contextChars?: number;
  /**
   * Chats load the AI configuration of their number at each burst (issue 13). Optional: runs whose
   * recorded settings lack it started before configurations and take them up through a patch.
   */
  aiConfigurations?: boolean;
  /** The default number's phone_number_id, for BusinessNumber on chats started before numbers. */
  defaultBusinessNumber?: string;
}

/**
 * The AI configuration a burst is answered with, as loaded at the burst's start (recorded in the
 * chat's history). Null: none applies, the worker's environment settings answer.
 */
export interface AiConfigurationChoice {
  id: number;
  version: number;
  debounceMs: number;
  maxWaitMs: number;
  contextMessages: number;
}

export type ChatPhase = 'idle' | 'recording' | 'debouncing' | 'generating' | 'sending';

export interface ChatStateView {
  waId: string;
  contactName?: string;
  mode: ChatMode;
  operator?: string;
  needsHuman: boolean;
  phase: ChatPhase;
  pendingCount: number;
  contextSize: number;
  lastInboundAt?: string;
  windowOpen: boolean;
  windowClosesAt?: string;
  duplicatesIgnored: number;
  /** Over the inbound limit as of the chat's last event: new messages are recorded, not answered. */
  inboundLimited: boolean;
  /** When the limit's window frees up for the next message, while inboundLimited. */
  inboundLimitedUntil?: string;
  runStartedEventCount: number;
  /** The inbox's state (issue 12); absent while a run still runs the v1 code. */
  lifecycle?: ConversationLifecycle;
}

/**
 * Who asks for a change, as the API authenticated them. A sales user may only act on
 * conversations assigned to them: the chat checks it against its own state, so no read of
 * Postgres can race an assignment.
 */
export interface ChatActor {
  /** `user:<id>` or `key:<name>`: recorded as the operator. */
  operator: string;
  /** The signed-in user's id; an API key has none. */
  userId?: number;
  /** Sales: only conversations assigned to `userId` (or, to assign, unassigned ones for themselves). */
  onlyAssigned?: boolean;
}

export interface TakeoverInput {
  operator?: string;
  actor?: ChatActor;
}
export interface HandbackInput {
  operator?: string;
  actor?: ChatActor;
}
/** An approved template, resolved and rendered by the API: the chat sends it as it is. */
export interface TemplateMessage {
  name: string;
  language: string;
  parameters: { name: string; value: string }[];
  /** The rendered text, for the record and the model's context. */
  text: string;
}
export interface OperatorMessageInput {
  operator?: string;
  text?: string;
  media?: MediaInfo;
  /** Sent as a template: the only kind of message allowed outside the 24 h window. */
  template?: TemplateMessage;
  actor?: ChatActor;
  /** The send's idempotency key (from the request's Idempotency-Key); the chat picks one otherwise. */
  clientKey?: string;
}

/** Fields left out are left as they are; `assignedTo: null` unassigns. */
export interface ConversationChange {
  status?: ConversationStatus;
  archived?: boolean;
  assignedTo?: number | null;
  tags?: string[];
  priority?: ConversationPriority;
}
export interface ConversationUpdateInput {
  change: ConversationChange;
  actor: ChatActor;
}
export interface ConversationLifecycle {
  status: ConversationStatus;
  archived: boolean;
  assignedTo: number | null;
  tags: string[];
  priority: ConversationPriority;
  closedAt?: string;
  mode: ChatMode;
  needsHuman: boolean;
  operator?: string;
}
/** A business-initiated message sent through the chat (a lead follow-up). */
export interface FollowUpInput {
  /** Sent as free text inside the 24 h window. */
  text: string;
  /** Sent instead outside the window; without one the update is rejected with WINDOW_CLOSED. */
  template?: { name: string; language: string; parameters: { name: string; value: string }[]; text: string };
  leadId: number;
  /** Epoch ms: refused when the user has written after this (the follow-up is moot). */
  notIfInboundSince?: number;
}
export interface FollowUpResult {
  wamid: string;
  kind: 'text' | 'template';
}

export interface OperatorMessageResult {
  wamid: string;
  kind?: 'text' | 'media' | 'template';
}
export interface ModeResult {
  mode: ChatMode;
}

export const inboundMessageSignal = defineSignal<[InboundMessage]>('inboundMessage');
export const takeoverUpdate = defineUpdate<ModeResult, [TakeoverInput]>('takeover');
export const handbackUpdate = defineUpdate<ModeResult, [HandbackInput]>('handback');
export const operatorMessageUpdate = defineUpdate<OperatorMessageResult, [OperatorMessageInput]>('operatorMessage');
export const campaignMessageSignal = defineSignal<[CampaignMessage]>('campaignMessage');
export const followUpUpdate = defineUpdate<FollowUpResult, [FollowUpInput]>('followUp');
export const chatStateQuery = defineQuery<ChatStateView>('chatState');
/** Status, archive, assignee, tags, priority; answers once Postgres shows the change. */
export const conversationUpdate = defineUpdate<ConversationLifecycle, [ConversationUpdateInput]>('updateConversation');
/** A reply WhatsApp accepted and later could not deliver for good (status webhook, both providers). */
export const deliveryFailedSignal = defineSignal<[DeliveryFailure]>('deliveryFailed');

export interface DeliveryFailure {
  wamid: string;
  /** Meta's or Twilio's error code, when the status carried one. */
  code?: number;
  title?: string;
  /** When the failed message was sent (epoch ms): a window failure older than the last inbound is stale. */
  sentAt: number;
  /** The provider says the 24 h window is closed (Meta 131047, Twilio 63016): templates only. */
  windowClosed: boolean;
}

/** ApplicationFailure types the API maps to HTTP statuses. */
export const WINDOW_CLOSED = 'WindowClosed';
export const INVALID_OPERATOR_MESSAGE = 'InvalidOperatorMessage';
export const SEND_FAILED = 'SendFailed';
/** An operator holds the chat: automated messages wait until it is handed back. */
export const OPERATOR_HOLDS_CHAT = 'OperatorHoldsChat';
export const USER_WROTE_SINCE = 'UserWroteSince';
/** A sales user acted on a conversation that is not assigned to them (403). */
export const NOT_ASSIGNED = 'NotAssigned';
/** A conversation change that cannot apply (bad tags, an archived conversation left closed…) (400). */
export const INVALID_CONVERSATION_CHANGE = 'InvalidConversationChange';

export const CUSTOMER_WINDOW_MS = 24 * 60 * 60 * 1000;
export const SEEN_WAMIDS_LIMIT = 2000;
export const OPT_OUT_CONFIRMATION = "You've been unsubscribed and won't receive marketing messages from us. Reply START to subscribe again.";
export const OPT_IN_CONFIRMATION = "You're subscribed again. Reply STOP at any time to unsubscribe.";
/** Sent once per limited period when a user writes faster than the inbound limit allows. */
export const INBOUND_LIMIT_NOTICE =
  "Thanks for your messages! You're writing faster than we can answer, so we'll pause our replies for a moment. Everything you send is saved; please wait a minute and write again.";

/** Sent when the model fails for good (retries spent, or refused); the chat is flagged for a human. */
export const FALLBACK_REPLY = "Sorry, I'm having trouble answering right now. A member of our team will get back to you here shortly.";

/** WhatsApp rejects text bodies longer than this. */
export const WHATSAPP_TEXT_LIMIT = 4096;

/**
 * A chat's workflow id: `chat-<wa_id>` with the default number (every chat started before numbers
 * existed has it), `chat-<wa_id>@<number id>` with any other (issue 13).
 */
export function chatWorkflowId(waId: string, numberId?: number): string {
  return numberId === undefined || numberId === 1 ? `chat-${waId}` : `chat-${waId}@${numberId}`;
}

/** The workflow type name, for clients that import the workflow only as a type. */
export const CHAT_WORKFLOW_TYPE = 'chatWorkflow';
