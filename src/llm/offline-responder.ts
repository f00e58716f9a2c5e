import { debounceBatchSize } from '../metrics/registry';
import type { ContextMessage, InboundMessage } from '../workflows/definitions';
import type { ChatModel, ModelReply } from './chat-model';

/** How /health, the startup output and each reply's metadata name the LLM when none is configured. */
export const OFFLINE_LLM = 'offline responder';
export const OFFLINE_PREFIX = '[offline responder — no LLM configured]';
export const OFFLINE_MODEL = 'offline-responder';

const ASKS_FOR_A_PERSON = /\b(human|agent|person|operator|someone real|representative)\b/i;
const SUMMARY_CHARS = 200;

/**
 * Stands in for the model when OPENAI_API_KEY is not set, so a local run answers at once and
 * visibly offline instead of sending the fallback reply to every chat. Deterministic: it echoes
 * the burst, and hands the chat to a person when asked for one (so takeover can be tried).
 */
export class OfflineResponder implements Pick<ChatModel, 'reply'> {
  async reply(_context: ContextMessage[], burst: InboundMessage[]): Promise<ModelReply> {
    debounceBatchSize.observe(burst.length);
    const texts = burst.map((m) => m.text.replace(/\s+/g, ' ').trim()).filter(Boolean);
    if (texts.some((t) => ASKS_FOR_A_PERSON.test(t))) {
      return {
        text: `${OFFLINE_PREFIX} Passing you to a member of our team; they'll reply here.`,
        handoff: true,
        handoffReason: 'asked for a person (offline responder)',
        model: OFFLINE_MODEL,
      };
    }
    const said = texts.join(' / ');
    const summary = said.length > SUMMARY_CHARS ? `${said.slice(0, SUMMARY_CHARS - 1)}…` : said;
    const count = burst.length > 1 ? ` (${burst.length} messages)` : '';
    return {
      text: `${OFFLINE_PREFIX} You said${count}: "${summary}". Write "human" to be handed to a person.`,
      handoff: false,
      model: OFFLINE_MODEL,
    };
  }
}

export function isOfflineResponder(llm: unknown): boolean {
  return llm instanceof OfflineResponder;
}

/** The LLM in use, as /health and the dev summary show it: "offline responder" or "<model> at <host>". */
export function describeLlm(opts: { apiKey?: string; model: string; baseUrl: string }): string {
  if (!opts.apiKey) return OFFLINE_LLM;
  let host = opts.baseUrl;
  try {
    host = new URL(opts.baseUrl).host;
  } catch {
    // config validates the URL; keep whatever was given otherwise
  }
  return `${opts.model} at ${host}`;
}
