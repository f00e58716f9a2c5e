import type { Config } from '../config';
import type { SecretBox } from '../crypto/secrets';
import type { AiConfigurationSnapshot } from '../db/schema';
import { ChatModel } from '../llm/chat-model';
import { loadSystemPrompt } from '../llm/system-prompt';

/** What chats use without an AI configuration: the environment's settings (OPENAI_*, LLM_*, DEBOUNCE_*). */
export interface AiDefaults {
  apiKey?: string;
  baseUrl: string;
  model: string;
  temperature: number;
  maxTokens: number;
  systemPrompt: string;
  contextMessages: number;
  debounceMs: number;
  maxWaitMs: number;
  timeoutMs: number;
}

export function aiDefaultsFromConfig(config: Config): AiDefaults {
  return {
    apiKey: config.OPENAI_API_KEY,
    baseUrl: config.OPENAI_BASE_URL,
    model: config.OPENAI_MODEL,
    temperature: config.LLM_TEMPERATURE,
    maxTokens: config.LLM_MAX_TOKENS,
    systemPrompt: loadSystemPrompt(config.LLM_SYSTEM_PROMPT_FILE),
    contextMessages: config.LLM_MAX_CONTEXT_MESSAGES,
    debounceMs: config.DEBOUNCE_MS,
    maxWaitMs: config.DEBOUNCE_MAX_WAIT_MS,
    timeoutMs: config.LLM_TIMEOUT_MS,
  };
}

/** The configuration calls OPENAI_BASE_URL (its own base_url is unset or the same). */
export function usesEnvironmentEndpoint(snapshot: Pick<AiConfigurationSnapshot, 'baseUrl'>, defaults: Pick<AiDefaults, 'baseUrl'>): boolean {
  return snapshot.baseUrl === null || snapshot.baseUrl.replace(/\/+$/, '') === defaults.baseUrl.replace(/\/+$/, '');
}

/** The purpose an AI configuration's API key is sealed for (src/crypto/secrets.ts). */
export const AI_KEY_PURPOSE = 'ai_configurations.api_key';

/**
 * The model one version of an AI configuration describes. Its own endpoint and key, or the
 * environment's (OPENAI_BASE_URL, OPENAI_API_KEY) where it has none; the environment's timeout.
 * Throws SecretError when its key cannot be decrypted here.
 */
export function modelForSnapshot(snapshot: AiConfigurationSnapshot, defaults: AiDefaults, secrets: SecretBox | undefined): ChatModel {
  // The environment's key goes only to the environment's endpoint: a configuration pointing
  // elsewhere brings its own key, so no admin can send OPENAI_API_KEY to a host of their choosing.
  const ownEndpoint = !usesEnvironmentEndpoint(snapshot, defaults);
  // (A keyless one, a local Ollama say, gets a placeholder: the OpenAI client needs some key.)
  let apiKey = ownEndpoint ? 'no-key' : defaults.apiKey;
  if (snapshot.apiKeyEncrypted) {
    if (!secrets) throw new Error(`AI configuration "${snapshot.name}" has an encrypted API key and CREDENTIALS_ENCRYPTION_KEY is not set in this process`);
    apiKey = secrets.open(snapshot.apiKeyEncrypted, AI_KEY_PURPOSE);
  }
  return new ChatModel({
    apiKey,
    baseUrl: snapshot.baseUrl ?? defaults.baseUrl,
    model: snapshot.model,
    systemPrompt: snapshot.systemPrompt,
    temperature: snapshot.temperature,
    maxTokens: snapshot.maxTokens,
    timeoutMs: defaults.timeoutMs,
    toolsEnabled: snapshot.toolsEnabled,
  });
}
