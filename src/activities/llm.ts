import { ApplicationFailure, Context } from '@temporalio/activity';
import { APIConnectionError, APIError } from 'openai';
import { LlmNotConfiguredError, type ModelReply } from '../llm/chat-model';
import { recordLlmCall, type LlmCallRecord } from '../db/llm-usage';
import type { ContextMessage, InboundMessage } from '../workflows/definitions';
import type { ActivityDeps } from './index';
import { openLeadFromChat } from './lead-replies';

export interface GenerateReplyInput {
  waId: string;
  context: ContextMessage[];
  burst: InboundMessage[];
}

/**
 * One model turn for a burst: usage recorded, a lead the model qualified opened. Shared by the
 * generateReply activity (chat runs from before v2) and the replyToBurst activity.
 */
export function createReplyGenerator({ llm, log, db, llmModel }: Pick<ActivityDeps, 'llm' | 'log' | 'db' | 'llmModel'>) {
  /**
   * Usage analytics must never cost the customer their answer: the write is not awaited (a stalled
   * database must not hold the reply until the activity times out and the model is asked again),
   * and a failed one is logged.
   */
  async function record(r: Omit<LlmCallRecord, 'callKey'>): Promise<void> {
    try {
      await recordLlmCall(db, { ...r, callKey: callKey() });
    } catch (err) {
      log.error({ err, waId: r.waId }, 'could not record LLM usage');
    }
  }
  /** Throws the classified error (see classifyLlmError); an aborted call is not counted. */
  return async function generate({ waId, context, burst }: GenerateReplyInput, signal?: AbortSignal): Promise<ModelReply> {
    let reply: ModelReply;
    const started = Date.now();
    try {
      reply = await llm.reply(context, burst, signal);
    } catch (err) {
      // Not configured: no call was made, so there is nothing to count; aborted: we stopped it.
      if (!(err instanceof LlmNotConfiguredError) && !signal?.aborted) {
        void record({ waId, model: llmModel ?? 'unknown', outcome: 'error', latencyMs: Date.now() - started });
      }
      throw classifyLlmError(err);
    }
    void record({
      waId,
      model: reply.model,
      outcome: reply.handoff ? 'handoff' : 'reply',
      promptTokens: reply.promptTokens,
      completionTokens: reply.completionTokens,
      latencyMs: Date.now() - started,
    });
    log.debug({ waId, model: reply.model, handoff: reply.handoff, tokens: reply.completionTokens }, 'LLM replied');
    // Idempotent (one open lead per contact), so a retried call adds nothing.
    // A failure here must not cost the customer their answer (or the model a second bill).
    if (reply.lead) {
      await openLeadFromChat(db, waId, burst[burst.length - 1]?.contactName, reply.lead).catch((err: unknown) =>
        log.error({ err, waId }, 'could not open a lead from the chat'),
      );
    }
    return reply;
  };
}

export function createLlmActivities(deps: Pick<ActivityDeps, 'llm' | 'log' | 'db' | 'llmModel'>) {
  const generate = createReplyGenerator(deps);
  return {
    /** The model turn alone, as chat runs from before v2 schedule it (replyToBurst does it now). */
    async generateReply(input: GenerateReplyInput): Promise<ModelReply> {
      return generate(input);
    },
  };
}

/** One key per activity attempt: each attempt that reached the model is one call, counted once. */
function callKey(): string {
  const { workflowExecution: wf, activityId, attempt } = Context.current().info;
  return `${wf?.workflowId ?? ''}:${wf?.runId ?? ''}:${activityId}:${attempt}`;
}

/** 429 and 5xx retry (honouring Retry-After); auth and request errors will not get better. */
export function classifyLlmError(err: unknown): unknown {
  if (err instanceof LlmNotConfiguredError) return ApplicationFailure.nonRetryable(err.message, 'LlmNotConfigured');
  if (err instanceof APIConnectionError) return err;
  if (!(err instanceof APIError)) return err;
  const status = err.status ?? 0;
  const message = `LLM ${status}: ${err.message}`;
  if (status === 429 || status >= 500 || status === 408 || status === 409) {
    const retryAfter = Number(err.headers?.get?.('retry-after'));
    return ApplicationFailure.create({
      type: 'LlmUnavailable',
      message,
      nextRetryDelay: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    });
  }
  return ApplicationFailure.nonRetryable(message, 'LlmRejected');
}
