import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { maskSecret, SecretError, type SecretBox } from '../crypto/secrets';
import type { AiConfigurationSnapshot } from '../db/schema';
import { LlmNotConfiguredError } from '../llm/chat-model';
import { AI_KEY_PURPOSE, modelForSnapshot, type AiDefaults } from './model';

export const DEFAULT_TEST_MESSAGE = 'Hello! Reply with a short greeting.';

/** An admin waits for the answer in a request: at most this long, or LLM_TIMEOUT_MS when shorter. */
const TEST_TIMEOUT_MS = 30_000;

export type TestFailure =
  'not_configured' | 'key_unreadable' | 'auth_refused' | 'not_found' | 'rate_limited' | 'rejected' | 'server_error' | 'timeout' | 'unreachable' | 'bad_reply';

export type TestResult =
  | { ok: true; model: string; reply: string; latency_ms: number; prompt_tokens: number | null; completion_tokens: number | null }
  | { ok: false; model: string; latency_ms: number; error: { type: TestFailure; status: number | null; message: string } };

/**
 * One real call to the model a version describes, as a chat would make it (its endpoint, key,
 * prompt, tools), with one short message and no history. Nothing is recorded: it is not a chat's
 * turn, so llm_usage and the analytics never see it. Failures are answers, classified so an admin
 * knows whether to fix the key, the URL or the model name, or to wait.
 */
export async function testAiConfiguration(
  snapshot: AiConfigurationSnapshot,
  defaults: AiDefaults,
  secrets: SecretBox | undefined,
  message: string,
): Promise<TestResult> {
  const started = Date.now();
  const failed = (type: TestFailure, text: string, status: number | null = null): TestResult => ({
    ok: false,
    model: snapshot.model,
    latency_ms: Date.now() - started,
    error: { type, status, message: scrub(text, snapshot, defaults, secrets) },
  });
  try {
    const model = modelForSnapshot(snapshot, defaults, secrets);
    const reply = await model.reply(
      [],
      [{ wamid: 'test', waId: 'test', sentAt: Date.now(), type: 'text', text: message, answerable: true }],
      AbortSignal.timeout(Math.min(TEST_TIMEOUT_MS, defaults.timeoutMs)),
    );
    return {
      ok: true,
      model: reply.model,
      reply: reply.text,
      latency_ms: Date.now() - started,
      prompt_tokens: reply.promptTokens ?? null,
      completion_tokens: reply.completionTokens ?? null,
    };
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (err instanceof LlmNotConfiguredError)
      return failed('not_configured', 'No API key: set api_key on this configuration or OPENAI_API_KEY in the environment');
    if (err instanceof SecretError || (snapshot.apiKeyEncrypted && !secrets)) return failed('key_unreadable', `The stored API key cannot be read: ${text}`);
    if (err instanceof APIConnectionTimeoutError || err instanceof APIUserAbortError) return failed('timeout', 'The model did not answer in time');
    if (err instanceof APIConnectionError) return failed('unreachable', `Could not reach ${snapshot.baseUrl ?? defaults.baseUrl}: ${causeOf(err)}`);
    if (err instanceof APIError) {
      const status = err.status ?? null;
      if (status === 401 || status === 403) return failed('auth_refused', `The server refused the API key: ${text}`, status);
      if (status === 404) return failed('not_found', `The server does not know this model or URL: ${text}`, status);
      if (status === 429) return failed('rate_limited', `Rate limited or out of quota: ${text}`, status);
      if (status !== null && status >= 500) return failed('server_error', `The server failed: ${text}`, status);
      return failed('rejected', `The server refused the request: ${text}`, status);
    }
    return failed('bad_reply', text);
  }
}

/** The socket's own words (ECONNREFUSED, ENOTFOUND), under fetch's "fetch failed". */
function causeOf(err: APIConnectionError): string {
  let cause: unknown = err.cause;
  let said = err.message;
  for (let depth = 0; cause && depth < 5; depth++) {
    const c = cause as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof c.code === 'string') return c.code;
    if (typeof c.message === 'string' && c.message) said = c.message;
    cause = c.cause;
  }
  return said;
}

/** Providers sometimes quote the key they refused: never pass it on whole. */
function scrub(text: string, snapshot: AiConfigurationSnapshot, defaults: AiDefaults, secrets: SecretBox | undefined): string {
  const keys = [defaults.apiKey];
  try {
    if (snapshot.apiKeyEncrypted && secrets) keys.push(secrets.open(snapshot.apiKeyEncrypted, AI_KEY_PURPOSE));
  } catch {
    // unreadable: it was not sent either
  }
  let out = text;
  for (const key of keys) if (key) out = out.split(key).join(maskSecret(key) ?? '');
  return out.slice(0, 500);
}
