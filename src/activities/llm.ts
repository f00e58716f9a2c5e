import { ApplicationFailure } from '@temporalio/activity';
import { APIConnectionError, APIError } from 'openai';
import { LlmNotConfiguredError, type ModelReply } from '../llm/chat-model';
import type { ContextMessage, InboundMessage } from '../workflows/definitions';
import type { ActivityDeps } from './index';

export interface GenerateReplyInput {
  waId: string;
  context: ContextMessage[];
  burst: InboundMessage[];
}

export function createLlmActivities({ llm, log }: Pick<ActivityDeps, 'llm' | 'log'>) {
  return {
    async generateReply({ waId, context, burst }: GenerateReplyInput): Promise<ModelReply> {
      try {
        const reply = await llm.reply(context, burst);
        log.debug({ waId, model: reply.model, handoff: reply.handoff, tokens: reply.completionTokens }, 'LLM replied');
        return reply;
      } catch (err) {
        throw classifyLlmError(err);
      }
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
