import { ApplicationFailure, Context } from '@temporalio/activity';
import { SendError, type OutboundContent } from '../channels/types';
import { reserveOutbound, type OutboundIntent } from '../db/messages';
import { clearSendStarted, readSendState, restartSend, storeSent } from '../db/outbound-sends';
import { isOfflineResponder } from '../llm/offline-responder';
import { whatsAppSends } from '../metrics/registry';
import type { ActivityDeps } from './index';
import { numbersOf } from '../numbers/registry';

/** The client key is chosen by the workflow; a retry of the same send carries the same key. */
export type SendMessageInput = OutboundIntent;

/**
 * Room left in an attempt for the send itself after waiting for a receipt: the Graph and Twilio
 * clients give up after 15 s. The wait is cut to fit the activity's start-to-close timeout (see
 * chat-activities.ts), and config refuses a CHAT_SEND_CONFIRM_GRACE_MS above 15 s for the same reason.
 */
const SEND_ROOM_MS = 15_000;
const POLL_MS = 500;

/** What an attempt remembers for the next one: the wamid it got, if it could not store it. */
interface SendHeartbeat {
  wamid?: string;
}

/**
 * What a send attempt knows from earlier attempts, and how it hands on a wamid it could not store
 * (through the activity's heartbeat, which the SDK flushes with a failure).
 */
export interface SendMemory {
  /** The wamid an earlier attempt got from WhatsApp and failed to store. */
  remembered?: string;
  remember(wamid: string): void;
}

export function createSendActivities(
  deps: Pick<ActivityDeps, 'db' | 'whatsapp' | 'log' | 'sendConfirmGraceMs' | 'numbers'> & Partial<Pick<ActivityDeps, 'llm'>>,
) {
  const sendOutbound = createOutboundSender(deps);
  return {
    async sendWhatsAppMessage(input: SendMessageInput): Promise<{ wamid: string }> {
      const ctx = Context.current();
      const remembered = (ctx.info.heartbeatDetails as SendHeartbeat | undefined)?.wamid;
      const memory: SendMemory = {
        remembered: typeof remembered === 'string' ? remembered : undefined,
        remember: (wamid) => ctx.heartbeat({ wamid } satisfies SendHeartbeat),
      };
      return sendOutbound(input, memory);
    },
  };
}

/**
 * Records the message, sends it, stores the wamid; sends each message at most once as long as
 * WhatsApp's receipts reach the API. The send passes its client key to the provider, which
 * echoes it in its status receipts; a receipt stores the wamid on the row by that key. An
 * attempt that finds an earlier one may have sent (send_started_at set, no wamid) waits until
 * send_started_at + CHAT_SEND_CONFIRM_GRACE_MS for that receipt: if it comes, its wamid is
 * adopted and nothing is sent; if not, the earlier attempt evidently never reached WhatsApp.
 * Runs inside an activity (it reads the activity's timeout). A chat reply's rows are pinned
 * before (see pinReply), so for them this finds the row and sends its text.
 */
export function createOutboundSender(
  deps: Pick<ActivityDeps, 'db' | 'whatsapp' | 'log' | 'sendConfirmGraceMs' | 'numbers'> & Partial<Pick<ActivityDeps, 'llm'>>,
) {
  const { db, log, llm, sendConfirmGraceMs } = deps;
  const numbers = numbersOf(deps);
  // A worker without a model says so on every bot message it sends, so no one mistakes them for answers.
  const botLabels = isOfflineResponder(llm) ? { llm: 'offline' } : undefined;
  return async function sendOutbound(input: SendMessageInput, memory: SendMemory): Promise<{ wamid: string }> {
    const ctx = Context.current();
    const { remembered } = memory;
    // The chat's number sends (issue 13): the environment's for the default number.
    const whatsapp = await numbers.sender(input.numberId ?? 1);
    // Passed on again at once, so it survives this attempt failing too (e.g. Postgres still down).
    if (remembered) memory.remember(remembered);
    const content: OutboundContent = input.text
      ? { kind: 'text', text: input.text }
      : input.template
        ? { kind: 'template', template: input.template }
        : { kind: 'media', media: input.media ?? {} };
    const reserved = await reserveOutbound(db, input, content, whatsapp.provider, input.senderType === 'bot' ? botLabels : undefined);
    const conversationId = reserved.conversation_id;
    const adopt = async (wamid: string) => {
      log.info({ clientKey: input.clientKey, wamid }, 'an earlier attempt of this send reached WhatsApp; not sending again');
      await storeSent(db, input.clientKey, conversationId, wamid);
      return { wamid };
    };
    if (reserved.wamid) {
      // Stored by an earlier attempt; if that attempt died first, by Meta's receipt (the row is
      // still marked as started): then its bookkeeping is done here.
      return reserved.send_started_at ? adopt(reserved.wamid) : { wamid: reserved.wamid };
    }
    if (remembered) return adopt(remembered);
    if (!reserved.fresh) {
      if (reserved.send_started_at) {
        const confirmed = await awaitReceipt(ctx, input.clientKey);
        if (confirmed) return adopt(confirmed);
      }
      if (!(await restartSend(db, input.clientKey))) {
        const state = await readSendState(db, input.clientKey, 0);
        if (state?.wamid) return adopt(state.wamid);
      }
    }

    let wamid: string;
    const labels = { provider: whatsapp.provider, sender_type: input.senderType };
    try {
      ({ wamid } = await whatsapp.send(input.waId, content, { callbackData: input.clientKey }));
    } catch (err) {
      // Refused for good (the message is recorded failed), or transient and retried by Temporal.
      whatsAppSends.inc({ ...labels, status: err instanceof SendError && !err.retryable ? 'failed' : 'retrying' });
      throw await sendFailure(err, input.clientKey);
    }
    whatsAppSends.inc({ ...labels, status: 'sent' });
    try {
      await storeSent(db, input.clientKey, conversationId, wamid, new Date());
    } catch (err) {
      // A failed attempt hands its last heartbeat to the next one (the SDK flushes it with the
      // failure): the retry adopts this wamid rather than waiting for a receipt that the same
      // outage may be holding up.
      memory.remember(wamid);
      throw err;
    }
    return { wamid };
  };

  /**
   * Re-reads the row until a receipt supplies the wamid or the grace period after the earlier
   * attempt's send_started_at is over. A retry after a worker crash comes after the attempt's
   * timeout, by which time the receipt (Meta sends "sent" within seconds) is normally there and
   * nothing waits.
   */
  async function awaitReceipt(ctx: Context, clientKey: string): Promise<string | undefined> {
    const graceMs = Math.min(sendConfirmGraceMs, Math.max(0, ctx.info.startToCloseTimeoutMs - SEND_ROOM_MS));
    for (;;) {
      const state = await readSendState(db, clientKey, graceMs);
      if (state?.wamid) return state.wamid;
      if (!state?.waiting) return undefined;
      // Not ctx.sleep: a cancelled reply must still settle a send that may have gone out.
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async function sendFailure(err: unknown, clientKey: string): Promise<unknown> {
    if (!(err instanceof SendError)) return err;
    if (err.retryable) {
      // Ambiguous (a timeout, a dropped connection): it may have been accepted as late as now, so
      // the retry's grace for a receipt counts from now. Otherwise nothing went out and the retry
      // need not wait. Failing to record either only moves or costs that wait, so the provider's
      // answer (and its Retry-After) is what is thrown.
      await (err.ambiguous ? restartSend(db, clientKey) : clearSendStarted(db, clientKey)).catch((e: unknown) =>
        log.warn({ err: e, clientKey }, 'could not record the outcome of a send attempt'),
      );
      return ApplicationFailure.create({
        type: 'WhatsAppThrottled',
        message: err.message,
        nextRetryDelay: err.retryAfterMs,
      });
    }
    log.warn({ clientKey, code: err.code }, `WhatsApp refused the message: ${err.message}`);
    await db
      .updateTable('messages')
      .set({
        delivery_status: 'failed',
        status_updated_at: new Date(),
        error: JSON.stringify({ code: err.code, message: err.message }),
        send_started_at: null,
      })
      .where('client_key', '=', clientKey)
      .execute();
    return ApplicationFailure.nonRetryable(err.message, 'WhatsAppRejected', { code: err.code });
  }
}
