import { z } from 'zod';
import { AI_KEY_PURPOSE, aiDefaultsFromConfig, type AiDefaults } from '../ai/model';
import { parseConfig } from '../config';
import { isUniqueViolation, pgError } from '../db/pg-errors';
import type { AiConfigurationSnapshot } from '../db/schema';
import type { AppDeps } from './deps';
import { HttpError } from './errors';
import type { AiSettingsShape } from './routes/ai-configuration-schemas';

// How a request's AI settings become a configuration's: shared by /ai-configurations and PATCH /admin/settings.

let builtInDefaults: AiDefaults | undefined;
/** The environment's AI settings; an app built without them uses config.ts's defaults, as an API with no OPENAI_* / LLM_* set would. */
export function aiDefaultsOf(deps: AppDeps): AiDefaults {
  return deps.aiDefaults ?? (builtInDefaults ??= aiDefaultsFromConfig(parseConfig({})));
}

/**
 * The sealed key a change leaves: undefined keeps `current`, null clears it (OPENAI_API_KEY), a
 * key is sealed, unless it is the one already stored (re-sending a form is not a new version).
 */
export function sealKey(deps: AppDeps, given: string | null | undefined, current: string | null): string | null {
  if (given === undefined || given === null) return given === null ? null : current;
  if (!deps.secrets) {
    throw new HttpError(
      'CONFLICT',
      'API keys cannot be stored: set CREDENTIALS_ENCRYPTION_KEY (openssl rand -hex 32) on the API and the worker, or leave api_key out to use OPENAI_API_KEY',
      [{ field: 'api_key', reason: 'CREDENTIALS_ENCRYPTION_KEY is not set' }],
    );
  }
  try {
    if (current && deps.secrets.open(current, AI_KEY_PURPOSE) === given) return current;
  } catch {
    // stored under another key: the new one replaces it
  }
  return deps.secrets.seal(given, AI_KEY_PURPOSE);
}

/** Unique indexes decide (no check-then-write race); this only says which one refused. */
export function refusedWrite(name: string) {
  return (err: unknown): never => {
    if (!isUniqueViolation(err)) throw err;
    if (pgError(err).constraint === 'ai_configurations_one_default')
      throw new HttpError('CONFLICT', 'Another configuration was made the default at the same moment; try again');
    throw new HttpError('CONFLICT', `An AI configuration named "${name}" already exists`, [
      { field: 'name', reason: 'taken (names are compared ignoring case)' },
    ]);
  };
}

/** The merged settings must keep the reply deadline after the quiet time (the table checks it too). */
export function checkWaits(s: { debounceMs: number; maxWaitMs: number }): void {
  if (s.maxWaitMs < s.debounceMs) {
    throw new HttpError('VALIDATION_ERROR', `max_wait_ms (${s.maxWaitMs}) must be at least debounce_ms (${s.debounceMs})`, [
      { field: 'max_wait_ms', reason: `must be at least debounce_ms (${s.debounceMs})` },
    ]);
  }
}

type SettingsInput = Partial<{ [K in keyof typeof AiSettingsShape]: z.output<(typeof AiSettingsShape)[K]> }> & { name?: string };

/** The environment's settings (OPENAI_*, LLM_*, DEBOUNCE_*) as a configuration's would read: what a new one starts from. */
export function environmentSnapshot(d: AiDefaults, name: string): AiConfigurationSnapshot {
  return {
    name,
    baseUrl: null,
    apiKeyEncrypted: null,
    model: d.model,
    temperature: d.temperature,
    maxTokens: d.maxTokens,
    systemPrompt: d.systemPrompt,
    contextMessages: d.contextMessages,
    toolsEnabled: true,
    debounceMs: d.debounceMs,
    maxWaitMs: d.maxWaitMs,
  };
}

/** `base` with the fields the body gives (the key is handled by the caller: it needs sealing). */
export function mergeSettings(base: AiConfigurationSnapshot, b: SettingsInput): AiConfigurationSnapshot {
  return {
    ...base,
    name: b.name ?? base.name,
    baseUrl: b.base_url === undefined ? base.baseUrl : b.base_url,
    model: b.model ?? base.model,
    temperature: b.temperature ?? base.temperature,
    maxTokens: b.max_tokens ?? base.maxTokens,
    systemPrompt: b.system_prompt ?? base.systemPrompt,
    contextMessages: b.context_messages ?? base.contextMessages,
    toolsEnabled: b.tools_enabled ?? base.toolsEnabled,
    debounceMs: b.debounce_ms ?? base.debounceMs,
    maxWaitMs: b.max_wait_ms ?? base.maxWaitMs,
  };
}
