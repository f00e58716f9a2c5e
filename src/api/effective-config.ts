import { DEFAULT_WEBHOOK_TIMEOUT_MS } from '../config';
import { maskSecret } from '../crypto/secrets';
import { listAiConfigurations, snapshotOf } from '../db/ai-configurations';
import type { AiConfiguration } from '../db/schema';
import { numbersOf } from '../numbers/registry';
import type { AppDeps } from './deps';
import { DEFAULT_LOGIN_LIMITS } from './routes/auth';
import { aiDefaultsOf, environmentSnapshot } from './ai-settings';
import { settingsView } from './routes/ai-configuration-schemas';
import { DEFAULT_WEBHOOK_LOG_SETTINGS } from './webhook/webhook-log';

/** WhatsApp's limit on one text message; longer replies are split. */
const MAX_MESSAGE_LENGTH = 4096;

/** A URL as it may be shown: credentials in it (https://user:pass@host) masked. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '••••';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

const ref = (c: AiConfiguration, source: 'number' | 'default') => ({ source, id: c.id, name: c.name, version: c.version });

/**
 * What this deployment runs with (seed 000's GET /admin/config), as the API process sees it. No
 * secret is in it: keys masked (••••abcd), tokens and app secrets only as set / not set. The
 * integrations say what is configured, not whether it answers: /health checks that.
 */
export async function effectiveConfig(deps: AppDeps) {
  const env = aiDefaultsOf(deps);
  const [configs, numbers] = await Promise.all([listAiConfigurations(deps.db), numbersOf(deps).list()]);
  const byId = new Map(configs.map((c) => [c.id, c]));
  const fallback = configs.find((c) => c.is_default);
  const inEffect = fallback
    ? { source: 'configuration' as const, id: fallback.id, version: fallback.version, ...settingsView(snapshotOf(fallback), deps.secrets) }
    : { source: 'environment' as const, id: null, version: null, ...settingsView(environmentSnapshot(env, ''), deps.secrets), name: null };
  const ownKey = inEffect.api_key_source === 'configuration';
  const login = deps.loginLimits ?? DEFAULT_LOGIN_LIMITS;
  const webhookLogs = deps.webhookLogs ?? DEFAULT_WEBHOOK_LOG_SETTINGS;
  return {
    environment: deps.environment ?? 'development',
    version: deps.version,
    ai: {
      ...inEffect,
      // The endpoint and key chats use, wherever they come from.
      base_url: shownUrl(inEffect.base_url ?? env.baseUrl),
      api_key: ownKey ? inEffect.api_key : maskSecret(env.apiKey),
      timeout_ms: env.timeoutMs,
    },
    ai_configurations: { total: configs.length, default_id: fallback?.id ?? null },
    numbers: numbers.map((n) => {
      const own = n.aiConfigurationId === null ? undefined : byId.get(n.aiConfigurationId);
      return {
        id: n.id,
        phone_number_id: n.phoneNumberId,
        display_number: n.displayNumber,
        name: n.name,
        provider: n.provider,
        enabled: n.enabled,
        is_default: n.isDefault,
        ai_configuration: own ? ref(own, 'number') : fallback ? ref(fallback, 'default') : { source: 'environment' as const },
      };
    }),
    limits: {
      rate_limit_per_minute: deps.rateLimits?.perMinute ?? 100,
      rate_limit_per_hour: deps.rateLimits?.perHour ?? 6000,
      login: { failed_per_email: login.perEmail, failed_per_address: login.perAddress, per_minute: login.perMinute },
      request_body_limit: deps.bodyLimit ?? '256kb',
      max_message_length: MAX_MESSAGE_LENGTH,
      webhook_temporal_timeout_ms: deps.temporalTimeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS,
    },
    integrations: {
      whatsapp: {
        provider: numbers[0]?.provider ?? 'console',
        numbers: numbers.length,
        enabled_numbers: numbers.filter((n) => n.enabled).length,
        webhook_signatures: deps.whatsapp.appSecret ? 'checked' : 'not_checked',
        verify_token_set: Boolean(deps.whatsapp.verifyToken),
      },
      twilio: {
        webhook_signatures: !deps.twilio ? 'refused' : deps.twilio.authToken ? 'checked' : 'not_checked',
        public_base_url: deps.twilio?.publicBaseUrl ?? null,
      },
      llm: { worker: deps.llmLabel ?? null, base_url: shownUrl(env.baseUrl), model: env.model, api_key_set: Boolean(env.apiKey) },
      temporal: {
        namespace: deps.temporal.options.namespace ?? 'default',
        task_queue: deps.taskQueue,
        id_prefix: deps.ids?.prefix ?? '',
        ui_url: deps.temporalUiUrl ?? 'http://127.0.0.1:8233',
      },
      credentials_encryption: { configured: Boolean(deps.secrets), key_id: deps.secrets?.keyId ?? null },
      webhook_logs: { enabled: webhookLogs.enabled, max_body_bytes: webhookLogs.maxBodyBytes, redact_text: webhookLogs.redactText },
      media: { provider: deps.media?.provider ?? 'console' },
      cors_origins: deps.corsOrigins ?? [],
    },
  };
}
