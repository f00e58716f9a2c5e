/**
 * The chat's signal, update and query handlers (v2). They change the session and wake the main
 * loop; see chat.ts for the two kinds that also act (sends, and mode writes to Postgres).
 */
import { ActivityFailure, ApplicationFailure, condition, currentUpdateInfo, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ChatRun } from './chat';
import { describeMedia } from './chat-state';
import {
  INVALID_OPERATOR_MESSAGE,
  OPERATOR_HOLDS_CHAT,
  SEND_FAILED,
  USER_WROTE_SINCE,
  WINDOW_CLOSED,
  campaignMessageSignal,
  chatStateQuery,
  deliveryFailedSignal,
  followUpUpdate,
  handbackUpdate,
  inboundMessageSignal,
  operatorMessageUpdate,
  takeoverUpdate,
  type FollowUpInput,
  type FollowUpResult,
} from './definitions';

const WINDOW_CLOSED_MESSAGE =
  'The 24-hour customer service window is closed: the user has not written in the last 24 hours, so only template messages can be sent.';

/** The follow-up update, registered before the workflow's first await and served once the run is set up. */
export interface DeferredFollowUps {
  serve(chat: ChatRun): void;
}

export function deferFollowUps(): DeferredFollowUps {
  let chat: ChatRun | undefined;
  setHandler(
    followUpUpdate,
    async (arg) => {
      await condition(() => chat !== undefined);
      return followUp(chat!, arg);
    },
    {
      validator: (arg) => {
        // Before the run is set up (update-with-start), the handler itself checks once it is.
        if (chat) validateFollowUp(chat, arg);
      },
    },
  );
  return {
    serve(run) {
      chat = run;
    },
  };
}

export function installHandlers(chat: ChatRun, followUps: DeferredFollowUps): void {
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

  setHandler(takeoverUpdate, async ({ operator }) => {
    session.setMode('operator', operator);
    chat.reply?.scope.cancel();
    chat.publish();
    await chat.mirror();
    return { mode: session.mode };
  });

  setHandler(handbackUpdate, async () => {
    session.setMode('bot', undefined);
    chat.publish();
    await chat.mirror();
    return { mode: session.mode };
  });

  setHandler(
    operatorMessageUpdate,
    async ({ operator, text, media }) => {
      const wamid = await sendOrFail(() => chat.send('operator', { text, media }, operator), 'message');
      session.remember({ role: 'operator', text: text ?? describeMedia(media ?? {}), at: Date.now() });
      return { wamid };
    },
    {
      validator: ({ text, media }) => {
        if (!text?.trim() && !media?.id && !media?.link) {
          throw ApplicationFailure.create({ type: INVALID_OPERATOR_MESSAGE, message: 'Message text or media is required' });
        }
        if (!session.windowOpen(Date.now())) throw ApplicationFailure.create({ type: WINDOW_CLOSED, message: WINDOW_CLOSED_MESSAGE });
      },
    },
  );

  setHandler(chatStateQuery, () => session.view(Date.now(), chat.phase, chat.runStartedEventCount));
  followUps.serve(chat);
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
