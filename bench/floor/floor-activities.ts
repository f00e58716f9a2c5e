/**
 * The floor's one activity: ask the LLM about the burst, send its text verbatim through the
 * product's own Graph client (MetaGraphSender, the same request the product sends), done.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type OpenAI from 'openai';
import type { WhatsAppSender } from '../../src/channels/types';
import type { FloorAnswerInput } from './floor-definitions';

export interface FloorActivityDeps {
  /** Built as src/llm/chat-model.ts builds its client: the SDK's own retries off. */
  openai: OpenAI;
  model: string;
  temperature: number;
  maxTokens: number;
  whatsapp: WhatsAppSender;
}

export function createFloorActivities({ openai, model, temperature, maxTokens, whatsapp }: FloorActivityDeps) {
  return {
    async answerBurst({ waId, texts }: FloorAnswerInput): Promise<void> {
      const completion = await openai.chat.completions.create({
        model,
        messages: [{ role: 'system', content: 'You are a helpful assistant.' }, ...texts.map((content) => ({ role: 'user' as const, content }))],
        temperature,
        max_tokens: maxTokens,
      });
      const text = completion.choices[0]?.message.content?.trim();
      if (!text) throw ApplicationFailure.nonRetryable('the model returned no text', 'EmptyReply');
      await whatsapp.send(waId, { kind: 'text', text });
    },
  };
}

export type FloorActivities = ReturnType<typeof createFloorActivities>;
