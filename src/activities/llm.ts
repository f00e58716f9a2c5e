import { ApplicationFailure, Context } from '@temporalio/activity';
import { APIConnectionError, APIError } from 'openai';
import { LlmNotConfiguredError, type ModelReply } from '../llm/chat-model';
import { recordLlmCall, type LlmCallRecord } from '../db/llm-usage';
import type { ContextMessage, InboundMessage } from '../workflows/definitions';
import type { ActivityDeps } from './index';
import { openLeadFromChat } from './lead-replies';
import { createAiModels } from './ai-models';

export interface GenerateReplyInput {
  waId: string;
  /** The chat's business number; absent: the default number. */
  numberId?: number;
  /** The AI configuration version the chat chose for this burst; absent: the environment's model. */
  ai?: { id: number; version: number };
  context: ContextMessage[];
  burst: InboundMessage[];
}

/**
 * One model turn for a burst: usage recorded, a lead the model qualified opened. Shared by the
 * generateReply activity (chat runs from before v2) and the replyToBurst activity.
 */
export function createReplyGenerator(deps: Pick<ActivityDeps, 'llm' | 'log' | 'db' | 'llmModel'> & Partial<Pick<ActivityDeps, 'secrets' | 'aiDefaults'>>) {
  const { log, db, llmModel } = deps;
  const models = createAiModels(deps);
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
  return async function generate({ waId, numberId, ai, context, burst }: GenerateReplyInput, signal?: AbortSignal): Promise<ModelReply> {
    let reply: ModelReply;
    // The version the chat recorded for this burst, whatever the configuration says by now.
    const { model: llm, name } = ai ? await models.forVersion(ai.id, ai.version) : { model: deps.llm, name: llmModel };
    const usage = { waId, numberId, ai };
    const started = Date.now();
    try {
      reply = await llm.reply(context, burst, signal);
    } catch (err) {
      // Not configured: no call was made, so there is nothing to count; aborted: we stopped it.
      if (!(err instanceof LlmNotConfiguredError) && !signal?.aborted) {
        void record({ ...usage, model: name ?? 'unknown', outcome: 'error', latencyMs: Date.now() - started });
      }
      throw classifyLlmError(err);
    }
    void record({
      ...usage,
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
      await openLeadFromChat(db, waId, burst[burst.length - 1]?.contactName, reply.lead, numberId).catch((err: unknown) =>
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
