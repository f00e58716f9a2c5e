import { ApplicationFailure } from '@temporalio/activity';
import { APIConnectionError, APIError } from 'openai';
import { LlmNotConfiguredError, type ModelReply } from '../llm/chat-model';
import type { ContextMessage, InboundMessage } from '../workflows/definitions';
import type { ActivityDeps } from './index';
import { openLeadFromChat } from './lead-replies';

export interface GenerateReplyInput {
  waId: string;
  context: ContextMessage[];
  burst: InboundMessage[];
}

export function createLlmActivities({ llm, log, db }: Pick<ActivityDeps, 'llm' | 'log' | 'db'>) {
  return {
    async generateReply({ waId, context, burst }: GenerateReplyInput): Promise<ModelReply> {
      let reply: ModelReply;
      try {
        reply = await llm.reply(context, burst);
      } catch (err) {
        throw classifyLlmError(err);
      }
      log.debug({ waId, model: reply.model, handoff: reply.handoff, tokens: reply.completionTokens }, 'LLM replied');
      // Idempotent (one open lead per contact), so a retried call adds nothing.
      // A failure here must not cost the customer their answer (or the model a second bill).
      if (reply.lead) {
        await openLeadFromChat(db, waId, burst[burst.length - 1]?.contactName, reply.lead).catch((err: unknown) =>
          log.error({ err, waId }, 'could not open a lead from the chat'),
        );
      }
      return reply;
    },
  };
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
