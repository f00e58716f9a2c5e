import type http from 'node:http';
import { HttpFake } from './http-fake';

interface ChatMessage {
  role: string;
  content: string;
}
export interface CompletionRequest {
  at: number;
  model: string;
  messages: ChatMessage[];
  tools?: unknown[];
}

export type Responder = (req: CompletionRequest) => {
  content?: string;
  handoff?: { reason: string; message?: string };
  qualify?: { interest: string; score?: number };
};

/** The user messages after the last assistant turn: the burst being answered. */
export function burstOf(req: CompletionRequest): string[] {
  const lastAssistant = req.messages.map((m) => m.role).lastIndexOf('assistant');
  return req.messages
    .slice(lastAssistant + 1)
    .filter((m) => m.role === 'user')
    .map((m) => m.content);
}

/** OpenAI-compatible stand-in: POST /v1/chat/completions. By default it answers "Reply to: <burst>". */
export class FakeOpenAI extends HttpFake {
  readonly requests: CompletionRequest[] = [];
  responder: Responder = (req) => ({ content: `Reply to: ${burstOf(req).join(' | ')}` });

  protected async handle(req: http.IncomingMessage, body: unknown) {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      return { status: 404, body: { error: { message: 'not found', type: 'invalid_request_error' } } };
    }
    const request = { ...(body as Omit<CompletionRequest, 'at'>), at: Date.now() };
    this.requests.push(request);
    const answer = this.responder(request);
    const calls = [
      ...(answer.handoff ? [{ id: 'call_1', type: 'function', function: { name: 'handoff_to_human', arguments: JSON.stringify(answer.handoff) } }] : []),
      ...(answer.qualify ? [{ id: 'call_2', type: 'function', function: { name: 'qualify_lead', arguments: JSON.stringify(answer.qualify) } }] : []),
    ];
    const toolCalls = calls.length ? calls : undefined;
    return {
      status: 200,
      body: {
        id: `chatcmpl-${this.requests.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: request.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: answer.content ?? null, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
            finish_reason: toolCalls ? 'tool_calls' : 'stop',
          },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      },
    };
  }

  /** Whether a request so far asked the model to answer a burst containing this text. */
  wasAsked(text: string): boolean {
    return this.requests.some((r) => burstOf(r).includes(text));
  }

  static apiError(status: number, message: string, headers?: Record<string, string>) {
    return { status, body: { error: { message, type: status === 429 ? 'rate_limit_exceeded' : 'server_error' } }, headers };
  }
}
