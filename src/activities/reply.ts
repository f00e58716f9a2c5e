import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { cleanText } from '../db/clean-text';
import { pinReply } from '../db/messages';
import type { ModelReply } from '../llm/chat-model';
import { isOfflineResponder } from '../llm/offline-responder';
import { FALLBACK_REPLY, type ContextMessage, type InboundMessage } from '../workflows/definitions';
import { splitMessage } from '../workflows/split-message';
import { createInboundRecorder, type RecordInboundResult } from './conversation-record';
import { createReplyGenerator } from './llm';
import { createOutboundSender, type SendMemory } from './send';
import type { ActivityDeps } from './index';
import { numbersOf } from '../numbers/registry';
import { AiConfigurationUnavailable } from './ai-models';

export interface ReplyToBurstInput {
  waId: string;
  /** The chat's business number; absent: the default number. */
  numberId?: number;
  /** The AI configuration version the chat chose when the burst started; absent: the environment's model. */
  ai?: { id: number; version: number };
  contactName?: string;
  /** Inbound messages not on record yet (the burst and anything beside it): written first. */
  record: InboundMessage[];
  /** The chat's first record since it started afresh: campaign messages sent before join the context. */
  earlierOutbound?: boolean;
  context: ContextMessage[];
  burst: InboundMessage[];
  /** The key of the reply's first part; part n (from 2) is `${clientKey}/n`. */
  clientKey: string;
  /** Model attempts before the fallback reply is sent instead (LLM_MAX_ATTEMPTS). */
  llmMaxAttempts: number;
}

export interface ReplyDraft {
  text: string;
  handoff: boolean;
  /** The model failed for good: the text is the fallback reply. */
  llmFailed: boolean;
}

export interface ReplyToBurstResult extends ReplyDraft {
  earlier?: RecordInboundResult['earlier'];
  /** The parts WhatsApp took, in order. */
  sent: string[];
  /**
   * How many messages of the burst this reply answers: fewer than the burst when the reply is one
   * an earlier activity pinned for the burst as it then was (see pinReply); the rest are a new burst.
   */
  answered: number;
  /** Nothing sent: Postgres says an operator holds the chat (taken over while the model worked). */
  suppressed: boolean;
  /** WhatsApp refused a part for good (recorded failed); the parts after it were not sent. */
  refused?: string;
}

/** What an attempt hands the next one. */
interface ReplyHeartbeat {
  recorded?: boolean;
  earlier?: RecordInboundResult['earlier'];
  llmFailures?: number;
  draft?: ReplyDraft;
  /** Per part key, a wamid WhatsApp gave an attempt that could not store it. */
  wamids?: Record<string, string>;
}

/** Heartbeats while the activity runs: the worker throttles them to its heartbeat interval. */
const HEARTBEAT_EVERY_MS = 500;

export function createReplyActivities(deps: ActivityDeps) {
  const recordInbound = createInboundRecorder(deps);
  const generate = createReplyGenerator(deps);
  const sendOutbound = createOutboundSender(deps);
  const numbers = numbersOf(deps);

  return {
    /**
     * One activity per reply (chat v2): records the burst, asks the model, sends the reply.
     * Each step is idempotent or remembered in the heartbeat, so a retry neither records twice,
     * nor asks the model again once it answered, nor sends a part twice (each part's key).
     * Cancelled by the chat until it pins the reply (all parts written pending, in one statement);
     * after that the reply is what was pinned, whichever activity for the burst finishes sending it.
     */
    async replyToBurst(input: ReplyToBurstInput): Promise<ReplyToBurstResult> {
      const ctx = Context.current();
      const memo: ReplyHeartbeat = { ...(ctx.info.heartbeatDetails as ReplyHeartbeat | undefined) };
      const pump = setInterval(() => ctx.heartbeat(memo), HEARTBEAT_EVERY_MS);
      try {
        if (!memo.recorded && input.record.length > 0) {
          const { earlier } = await recordInbound({
            waId: input.waId,
            numberId: input.numberId,
            contactName: input.contactName,
            messages: input.record,
            earlierOutbound: input.earlierOutbound,
          });
          Object.assign(memo, { recorded: true, earlier });
        }
        // The draft rides on the pump's next heartbeat, and on a failure (the SDK hands an attempt's
        // last heartbeat to the next): a retry does not ask the model again. Not sent at once: that
        // would be a server round trip on every reply; a worker dying within 500 ms of a quick answer
        // costs one more model call instead.
        memo.draft ??= await draftReply(input, memo);
        // The last point at which the chat may still take the burst back.
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('the chat took the burst back before the reply was sent');
        return { ...memo.draft, earlier: memo.earlier, ...(await sendParts(input, memo)) };
      } catch (err) {
        if (!(err instanceof CancelledFailure)) ctx.heartbeat(memo);
        throw err;
      } finally {
        clearInterval(pump);
      }
    },
  };

  /** The model's answer; the fallback once its attempts are spent or it refuses the request. */
  async function draftReply(input: ReplyToBurstInput, memo: ReplyHeartbeat): Promise<ReplyDraft> {
    const ctx = Context.current();
    let reply: ModelReply;
    try {
      reply = await generate(
        { waId: input.waId, numberId: input.numberId, ai: input.ai, context: withEarlier(input.context, memo.earlier), burst: input.burst },
        ctx.cancellationSignal,
      );
    } catch (err) {
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('the chat took the burst back while the model was answering');
      // Postgres, not the model: the activity is retried and the model's attempts are not spent.
      if (err instanceof AiConfigurationUnavailable) throw err;
      memo.llmFailures = (memo.llmFailures ?? 0) + 1;
      const retryable = !(err instanceof ApplicationFailure && err.nonRetryable);
      if (retryable && memo.llmFailures < input.llmMaxAttempts) {
        ctx.heartbeat(memo); // flushed with the failure: the next attempt counts on from here
        throw err;
      }
      deps.log.warn({ err, waId: input.waId, attempts: memo.llmFailures }, 'LLM failed for good; sending the fallback reply');
      return { text: FALLBACK_REPLY, handoff: true, llmFailed: true };
    }
    // A model can be talked into emitting a NUL; Postgres would refuse the pinned reply for ever.
    const text = cleanText(reply.text);
    if (!text.trim()) {
      deps.log.warn({ waId: input.waId }, 'the model replied with nothing WhatsApp can show; sending the fallback reply');
      return { text: FALLBACK_REPLY, handoff: true, llmFailed: true };
    }
    return { text, handoff: reply.handoff, llmFailed: false };
  }

  async function sendParts(input: ReplyToBurstInput, memo: ReplyHeartbeat): Promise<Pick<ReplyToBurstResult, 'sent' | 'suppressed' | 'refused' | 'answered'>> {
    const parts = splitMessage(memo.draft!.text);
    const provider = (await numbers.sender(input.numberId ?? 1)).provider;
    const metadata = {
      provider,
      ...(isOfflineResponder(deps.llm) && !input.ai ? { llm: 'offline' } : {}),
      ...(input.ai ? { ai_configuration_id: input.ai.id, ai_configuration_version: input.ai.version } : {}),
    };
    const pinned = await pinReply(deps.db, {
      waId: input.waId,
      numberId: input.numberId,
      clientKey: input.clientKey,
      parts,
      burstSize: input.burst.length,
      metadata,
    });
    // Not pinned: Postgres says an operator holds the chat (taken over while the model worked).
    if (pinned.length === 0) return { sent: [], suppressed: parts.length > 0, answered: 0 };
    const answered = Math.min(pinned[0]!.burst_size ?? input.burst.length, input.burst.length);
    const sent: string[] = [];
    for (const { client_key: clientKey, content: text } of pinned) {
      const memory: SendMemory = {
        remembered: memo.wamids?.[clientKey],
        remember: (wamid) => {
          memo.wamids = { ...memo.wamids, [clientKey]: wamid };
          Context.current().heartbeat(memo);
        },
      };
      try {
        await sendOutbound({ waId: input.waId, numberId: input.numberId, clientKey, senderType: 'bot', text }, memory);
        sent.push(text);
      } catch (err) {
        if (err instanceof ApplicationFailure && err.type === 'WhatsAppRejected') return { sent, suppressed: false, refused: err.message, answered };
        throw err;
      }
    }
    return { sent, suppressed: false, answered };
  }
}

/** Campaign messages found at the chat's first record, in the context the model reads. */
function withEarlier(context: ContextMessage[], earlier: RecordInboundResult['earlier']): ContextMessage[] {
  if (!earlier?.length) return context;
  const known = new Set(context.filter((c) => c.role === 'campaign').map((c) => `${c.at}:${c.text}`));
  const added = earlier.filter((m) => !known.has(`${m.at}:${m.text}`)).map((m) => ({ role: 'campaign' as const, text: m.text, at: m.at }));
  return [...added, ...context].sort((a, b) => a.at - b.at);
}
