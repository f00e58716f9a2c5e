import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { debounceBatchSize, llmCalls, llmDuration, llmErrors, llmTokens } from '../metrics/registry';
import type { ContextMessage, InboundMessage } from '../workflows/definitions';

export interface ChatModelOptions {
  /** Without a key every call fails at once (no network attempt); chats get the fallback reply. */
  apiKey: string | undefined;
  baseUrl: string;
  model: string;
  systemPrompt: string;
  temperature: number;
  maxTokens: number;
  timeoutMs: number;
  /** handoff_to_human and qualify_lead offered to the model (default); false: plain answers only. */
  toolsEnabled?: boolean;
}

export interface ModelReply {
  text: string;
  /** The model asked for a human (handoff_to_human tool). */
  handoff: boolean;
  handoffReason?: string;
  /** The model judged the customer a sales lead (qualify_lead tool). */
  lead?: { interest: string; score?: number };
  model: string;
  promptTokens?: number;
  completionTokens?: number;
}

export const DEFAULT_SYSTEM_PROMPT = [
  'You are a helpful, concise assistant answering customers of a business on WhatsApp.',
  'Write short messages in plain text suitable for a phone screen, in the language the customer uses.',
  'If the customer asks for a person, is upset, or needs something you cannot do, call the handoff_to_human tool.',
  'Messages marked as sent by a human operator were written by the business staff; stay consistent with them.',
  'When the customer shows clear interest in buying something, call the qualify_lead tool as well as answering.',
].join(' ');

export const HOLDING_REPLY = "I'm passing you to a member of our team. They'll reply here shortly.";

const QUALIFY_LEAD_TOOL: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'qualify_lead',
    description: 'Record that the customer is a sales lead: they showed interest in buying.',
    parameters: {
      type: 'object',
      properties: {
        interest: { type: 'string', description: 'What the customer is interested in, in a few words.' },
        score: { type: 'integer', minimum: 0, maximum: 100, description: 'How likely they are to buy, 0-100.' },
      },
      required: ['interest'],
    },
  },
};

const HANDOFF_TOOL: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'handoff_to_human',
    description: 'Hand the conversation to a human operator of the business.',
    parameters: {
      type: 'object',
      properties: {
        reason: { type: 'string', description: 'Why a human is needed, for the operator.' },
        message: { type: 'string', description: 'A short holding reply for the customer.' },
      },
      required: ['reason'],
    },
  },
};

export function buildMessages(systemPrompt: string, context: ContextMessage[], burst: InboundMessage[]): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: systemPrompt }];
  for (const entry of context) {
    if (entry.role === 'user') messages.push({ role: 'user', content: entry.text });
    else if (entry.role === 'bot') messages.push({ role: 'assistant', content: entry.text });
    else if (entry.role === 'campaign') messages.push({ role: 'assistant', content: `(campaign message sent to the customer) ${entry.text}` });
    else messages.push({ role: 'assistant', content: `(sent by a human operator) ${entry.text}` });
  }
  for (const msg of burst) messages.push({ role: 'user', content: msg.text });
  return messages;
}

/** The OpenAI SDK with its own retries off: Temporal's retry policy is the only one (STYLE). */
export class LlmNotConfiguredError extends Error {}

export class ChatModel {
  private readonly client: OpenAI;
  constructor(private readonly options: ChatModelOptions) {
    this.client = new OpenAI({
      apiKey: options.apiKey ?? 'not-configured',
      baseURL: options.baseUrl,
      maxRetries: 0,
      timeout: options.timeoutMs,
    });
  }

  /** `signal` aborts the request in flight (the chat took the burst back to fold in new messages). */
  async reply(context: ContextMessage[], burst: InboundMessage[], signal?: AbortSignal): Promise<ModelReply> {
    const reply = await this.answer(context, burst, signal);
    // The reply activity's one model turn answers one debounced burst: its size is observed
    // here, so neither the workflow nor the activity needs to change for it.
    debounceBatchSize.observe(burst.length);
    return reply;
  }

  private async answer(context: ContextMessage[], burst: InboundMessage[], signal?: AbortSignal): Promise<ModelReply> {
    const model = this.options.model;
    if (!this.options.apiKey) {
      llmErrors.inc({ model, type: 'not_configured' });
      throw new LlmNotConfiguredError('OPENAI_API_KEY is not set');
    }
    const messages = buildMessages(this.options.systemPrompt, context, burst);
    // Metrics are labelled with the configured model (bounded), not the dated name a server answers.
    const ask = async (tools: ChatCompletionTool[]) => {
      const stop = llmDuration.startTimer({ model });
      try {
        const completion = await this.client.chat.completions.create(
          {
            model,
            messages,
            ...(tools.length ? { tools } : {}),
            temperature: this.options.temperature,
            max_tokens: this.options.maxTokens,
          },
          { signal },
        );
        llmCalls.inc({ model, outcome: 'ok' });
        countTokens(model, completion.usage);
        return completion;
      } catch (err) {
        llmCalls.inc({ model, outcome: 'error' });
        llmErrors.inc({ model, type: llmErrorType(err) });
        throw err;
      } finally {
        stop();
      }
    };
    let completion = await ask(this.options.toolsEnabled === false ? [] : [HANDOFF_TOOL, QUALIFY_LEAD_TOOL]);
    let choice = completion.choices[0];
    // A turn may take two calls; both are billed, so the usage reported is their sum.
    let promptTokens = completion.usage?.prompt_tokens;
    let completionTokens = completion.usage?.completion_tokens;
    const lead = qualifiedLead(choice?.message.tool_calls);
    const qualifyOnly = lead && !choice?.message.content?.trim() && !choice?.message.tool_calls?.some(isHandoff);
    if (qualifyOnly) {
      // Models usually answer a tool call with no text: tell it the lead is noted and ask again.
      const calls = choice!.message.tool_calls!;
      messages.push({ role: 'assistant', content: null, tool_calls: calls });
      for (const c of calls) messages.push({ role: 'tool', tool_call_id: c.id, content: 'Noted for the sales team.' });
      completion = await ask([HANDOFF_TOOL]);
      choice = completion.choices[0];
      if (completion.usage) {
        promptTokens = (promptTokens ?? 0) + completion.usage.prompt_tokens;
        completionTokens = (completionTokens ?? 0) + completion.usage.completion_tokens;
      }
    }
    const usage = { model: completion.model || this.options.model, promptTokens, completionTokens };
    const call = choice?.message.tool_calls?.find(isHandoff);
    if (call && call.type === 'function') {
      const args = parseArgs(call.function.arguments);
      const text = choice?.message.content?.trim() || args.message?.trim() || HOLDING_REPLY;
      return { text, handoff: true, handoffReason: args.reason, lead, ...usage };
    }
    const text = choice?.message.content?.trim();
    if (!text) {
      llmErrors.inc({ model, type: 'empty_reply' });
      throw new Error(`the model returned no text (finish_reason ${choice?.finish_reason ?? 'none'})`);
    }
    return { text, handoff: false, lead, ...usage };
  }
}

function countTokens(model: string, usage: CompletionUsage | undefined): void {
  if (usage?.prompt_tokens) llmTokens.inc({ model, kind: 'prompt' }, usage.prompt_tokens);
  if (usage?.completion_tokens) llmTokens.inc({ model, kind: 'completion' }, usage.completion_tokens);
}

/** A bounded error type for llm_errors_total. */
export function llmErrorType(err: unknown): string {
  if (err instanceof APIConnectionTimeoutError) return 'timeout';
  if (err instanceof APIConnectionError) return 'connection';
  if (!(err instanceof APIError)) return 'other';
  const status = err.status ?? 0;
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'auth';
  if (status >= 500) return 'server_error';
  if (status >= 400) return 'client_error';
  return 'other';
}

type ToolCalls = NonNullable<OpenAI.Chat.Completions.ChatCompletionMessage['tool_calls']>;
const isHandoff = (c: ToolCalls[number]) => c.type === 'function' && c.function.name === 'handoff_to_human';

function qualifiedLead(calls: ToolCalls | undefined): ModelReply['lead'] {
  const call = calls?.find((c) => c.type === 'function' && c.function.name === 'qualify_lead');
  if (!call || call.type !== 'function') return undefined;
  try {
    const args = JSON.parse(call.function.arguments) as { interest?: unknown; score?: unknown };
    if (typeof args.interest !== 'string' || !args.interest.trim()) return undefined;
    const score = typeof args.score === 'number' && args.score >= 0 && args.score <= 100 ? Math.round(args.score) : undefined;
    return { interest: args.interest.trim().slice(0, 200), score };
  } catch {
    return undefined;
  }
}

function parseArgs(raw: string): { reason?: string; message?: string } {
  try {
    const parsed = JSON.parse(raw) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as { reason?: string; message?: string }) : {};
  } catch {
    return {};
  }
}
