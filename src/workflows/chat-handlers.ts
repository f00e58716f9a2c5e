/**
 * The chat's signal, update and query handlers (v2). They change the session and wake the main
 * loop; see chat.ts for the two kinds that also act (sends, and mode writes to Postgres).
 */
import { ActivityFailure, ApplicationFailure, condition, currentUpdateInfo, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ChatRun } from './chat';
import { applyChange, claimFor, lifecycleOf, refuseChange, refuseToAct, type Refusal } from './chat-lifecycle';
import { describeMedia } from './chat-state';
import {
  INVALID_OPERATOR_MESSAGE,
  OPERATOR_HOLDS_CHAT,
  SEND_FAILED,
  USER_WROTE_SINCE,
  WINDOW_CLOSED,
  campaignMessageSignal,
  chatStateQuery,
  conversationUpdate,
  deliveryFailedSignal,
  followUpUpdate,
  handbackUpdate,
  inboundMessageSignal,
  operatorMessageUpdate,
  takeoverUpdate,
  type ConversationLifecycle,
  type ConversationUpdateInput,
  type FollowUpInput,
  type FollowUpResult,
  type OperatorMessageInput,
  type OperatorMessageResult,
} from './definitions';

const WINDOW_CLOSED_MESSAGE =
  'The 24-hour customer service window is closed: the user has not written in the last 24 hours, so only template messages can be sent.';

/**
 * The updates a caller may send with the workflow's start (update-with-start: a lead follow-up,
 * an operator starting a conversation with a new number, a conversation created with its
 * assignee): registered before the workflow's first await and served once the run is set up.
 * Before then their validators let everything through; the handlers check once the run is set up.
 */
export interface DeferredUpdates {
  serve(chat: ChatRun): void;
}

export function deferUpdates(): DeferredUpdates {
  let chat: ChatRun | undefined;
  const ready = async (): Promise<ChatRun> => {
    await condition(() => chat !== undefined);
    return chat!;
  };
  setHandler(followUpUpdate, async (arg) => followUp(await ready(), arg), {
    validator: (arg) => {
      if (chat) validateFollowUp(chat, arg);
    },
  });
  setHandler(operatorMessageUpdate, async (arg) => operatorMessage(await ready(), arg), {
    validator: (arg) => {
      if (chat) validateOperatorMessage(chat, arg);
    },
  });
  setHandler(conversationUpdate, async (arg) => changeConversation(await ready(), arg), {
    validator: (arg) => {
      if (chat) refuseIf(refuseChange(chat.session.state, arg.change, arg.actor));
    },
  });
  return {
    serve(run) {
      chat = run;
    },
  };
}

export function installHandlers(chat: ChatRun, deferred: DeferredUpdates): void {
  const session = chat.session;

  setHandler(inboundMessageSignal, (msg) => {
    const received = session.receive(msg, Date.now());
    if (received === 'duplicate') return;
    // Nothing of the draft has gone out yet: take the burst back and answer everything together.
    if (received === 'queued' && chat.reply?.mayFold) chat.reply.scope.cancel();
    chat.publish();
  });

  setHandler(campaignMessageSignal, (msg) => session.campaignMessage(msg));

  // NeedsHuman is published now; the loop mirrors it to Postgres.
  setHandler(deliveryFailedSignal, (failure) => {
    session.deliveryFailed(failure);
    chat.publish();
  });

  setHandler(
    takeoverUpdate,
    async ({ operator, actor }) => {
      // A closed conversation someone takes over is open again, and theirs if it had no owner.
      applyChange(session.state, { status: 'open' }, Date.now());
      claimFor(session.state, actor);
      session.setMode('operator', actor?.operator ?? operator);
      chat.reply?.scope.cancel();
      chat.publish();
      await chat.mirror();
      return { mode: session.mode };
    },
    { validator: ({ actor }) => refuseIf(refuseToAct(session.state, actor, 'take over')) },
  );

  setHandler(
    handbackUpdate,
    async () => {
      session.setMode('bot', undefined);
      chat.publish();
      await chat.mirror();
      return { mode: session.mode };
    },
    { validator: ({ actor }) => refuseIf(refuseToAct(session.state, actor, 'hand back', false)) },
  );

  setHandler(chatStateQuery, () => session.view(Date.now(), chat.phase, chat.runStartedEventCount));
  deferred.serve(chat);
}

function refuseIf(refusal: Refusal | undefined): void {
  if (refusal) throw ApplicationFailure.create({ type: refusal.type, message: refusal.message });
}

function validateOperatorMessage(chat: ChatRun, { text, media, template, actor }: OperatorMessageInput): void {
  refuseIf(refuseToAct(chat.session.state, actor, 'write'));
  if (!text?.trim() && !media?.id && !media?.link && !template) {
    throw ApplicationFailure.create({ type: INVALID_OPERATOR_MESSAGE, message: 'Message text, media or a template is required' });
  }
  // A template is the one kind of message WhatsApp takes outside the window.
  if (!template && !chat.session.windowOpen(Date.now())) throw ApplicationFailure.create({ type: WINDOW_CLOSED, message: WINDOW_CLOSED_MESSAGE });
}

/**
 * An operator's message (text, media or an approved template), sent under the caller's key when
 * the request carried an Idempotency-Key: asked again, even in a later run, it is not sent twice.
 * Writing to a closed conversation reopens it; a user writing to an unassigned one takes it.
 */
async function operatorMessage(chat: ChatRun, input: OperatorMessageInput): Promise<OperatorMessageResult> {
  validateOperatorMessage(chat, input);
  const { text, media, template, actor, clientKey } = input;
  const operator = actor?.operator ?? input.operator;
  const content = template ? { template } : { text, media };
  const state = chat.session.state;
  // Claimed before the send, so a second sales user's message validated meanwhile is refused.
  const claimed = claimFor(state, actor);
  const wamid = await sendOrFail(() => chat.send('operator', content, operator, clientKey), 'message');
  chat.session.remember({ role: 'operator', text: template?.text ?? text ?? describeMedia(media ?? {}), at: Date.now() });
  const reopened = applyChange(state, { status: 'open' }, Date.now());
  if (claimed || reopened) {
    chat.publish();
    await chat.mirror();
  }
  return { wamid, kind: template ? 'template' : media ? 'media' : 'text' };
}

/** Status, archive, assignee, tags, priority: answered once Postgres shows the change. */
async function changeConversation(chat: ChatRun, { change, actor }: ConversationUpdateInput): Promise<ConversationLifecycle> {
  const state = chat.session.state;
  refuseIf(refuseChange(state, change, actor));
  if (applyChange(state, change, Date.now())) chat.publish();
  // Always written, even when nothing changed: a conversation created by this update gets its row.
  await chat.mirror();
  return lifecycleOf(state);
}

function validateFollowUp(chat: ChatRun, { text, template, notIfInboundSince }: FollowUpInput): void {
  const state = chat.session.state;
  if (state.mode !== 'bot') {
    throw ApplicationFailure.create({ type: OPERATOR_HOLDS_CHAT, message: 'An operator holds this chat; try again after handback.' });
  }
  if (notIfInboundSince !== undefined && (state.lastInboundAt ?? 0) > notIfInboundSince) {
    throw ApplicationFailure.create({ type: USER_WROTE_SINCE, message: 'The user has written since the follow-up was scheduled.' });
  }
  if (!text.trim()) throw ApplicationFailure.create({ type: INVALID_OPERATOR_MESSAGE, message: 'Follow-up text is required' });
  if (!chat.session.windowOpen(Date.now()) && !template) {
    throw ApplicationFailure.create({ type: WINDOW_CLOSED, message: 'The 24-hour window is closed and the follow-up has no approved template.' });
  }
}

/**
 * Lead follow-ups go through the chat so the operator check and the 24 h window are decided
 * against the chat's own state, and the message joins the context like any other.
 */
async function followUp(chat: ChatRun, arg: FollowUpInput): Promise<FollowUpResult> {
  validateFollowUp(chat, arg);
  const inWindow = chat.session.windowOpen(Date.now());
  // Keyed by the update id: asked again (after a retry, even in a later run) it is not sent twice.
  const key = `${chat.session.state.waId}:update:${currentUpdateInfo()?.id ?? workflowInfo().runId}`;
  const wamid = await sendOrFail(() => chat.send('bot', inWindow ? { text: arg.text } : { template: arg.template }, undefined, key), 'follow-up');
  chat.session.remember({ role: 'bot', text: inWindow ? arg.text : arg.template!.text, at: Date.now() });
  return { wamid, kind: inWindow ? 'text' : 'template' };
}

async function sendOrFail(send: () => Promise<string>, what: string): Promise<string> {
  try {
    return await send();
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause instanceof Error ? err.cause.message : String(err);
    throw ApplicationFailure.create({ type: SEND_FAILED, message: `WhatsApp did not accept the ${what}: ${cause}` });
  }
}
