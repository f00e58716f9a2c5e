import type { Client } from '@temporalio/client';
import type { Db } from '../db/database';
import type { Logger } from '../logger';
import type { PriceTable } from '../llm/pricing';
import type { TokenSettings } from '../auth/tokens';
import type { ApiKey } from './auth';
import type { ApiRateLimits } from './rate-limit';
import type { LoginLimits } from './routes/auth';
import type { WorkflowIds } from '../temporal/workflow-ids';
import type { WebhookLogSettings } from './webhook/webhook-log';
import type { MediaSettings } from '../media/files';
import type { NumberRegistry } from '../numbers/registry';
import type { SecretBox } from '../crypto/secrets';
import type { AiDefaults } from '../ai/model';

export interface AppDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  /**
   * Every workflow and Schedule id the API addresses, behind TEMPORAL_ID_PREFIX (workflowIds).
   * Absent: the unprefixed ids (workflowIds('')).
   */
  ids?: WorkflowIds;
  log: Logger;
  apiKeys: ApiKey[];
  /** Signs and checks users' access tokens. Absent: a random secret for this app instance (dev, tests). */
  tokens?: TokenSettings;
  /** Requests per caller; absent: 100 per minute and 6000 per hour (RATE_LIMIT_PER_MINUTE / _PER_HOUR defaults). */
  rateLimits?: ApiRateLimits;
  /** Login limits (LOGIN_LIMIT_*); absent: DEFAULT_LOGIN_LIMITS in routes/auth.ts. */
  loginLimits?: LoginLimits;
  /** Largest JSON body, e.g. '256kb' (REQUEST_BODY_LIMIT); larger ones get 413. */
  bodyLimit?: string;
  whatsapp: {
    /** Undefined only outside production: then webhook signatures are not checked. */
    appSecret?: string;
    verifyToken?: string;
  };
  /**
   * Twilio webhooks. Absent: they refuse everything (production without TWILIO_AUTH_TOKEN).
   * authToken undefined (outside production only): signatures are not checked.
   */
  twilio?: { authToken?: string; publicBaseUrl?: string };
  /** Model prices for the cost analytics (built-ins plus LLM_PRICES). Absent: the built-in list. */
  llmPrices?: PriceTable;
  version: string;
  /** The worker's LLM as /health shows it: "offline responder" or "<model> at <host>" (describeLlm). */
  llmLabel?: string;
  /** How long a webhook waits for Temporal before answering 5xx so Meta retries (WEBHOOK_TEMPORAL_TIMEOUT_MS). */
  temporalTimeoutMs?: number;
  /** CORS_ORIGINS: browser origins that may call /api/v1; absent or empty: same-origin only. */
  corsOrigins?: string[];
  /** TRUST_PROXY: the proxies whose X-Forwarded-For names the caller (per-address limits). */
  trustProxy?: string;
  /** File uploads (POST /api/v1/files/upload): the provider, Graph's uploader, Twilio's public URL. Absent: the console provider. */
  media?: MediaSettings;
  /** The Temporal Web UI the operator console links each chat to; absent: http://127.0.0.1:8233. */
  temporalUiUrl?: string;
  /** Webhook logs (WEBHOOK_LOG_*): whether and how webhook requests are recorded. Absent: recorded, 64 KiB of body, text kept. */
  webhookLogs?: WebhookLogSettings;
  /**
   * The business's WhatsApp numbers (issue 13): webhook routing, each number's sender. Absent: one
   * number, the default, which every webhook is for (as before numbers existed).
   */
  numbers?: NumberRegistry;
  /** CREDENTIALS_ENCRYPTION_KEY: seals number credentials and AI configuration keys. Absent: they cannot be stored. */
  secrets?: SecretBox;
  /** The AI settings from the environment (OPENAI_*, LLM_*, DEBOUNCE_*): what chats use without an AI configuration. */
  aiDefaults?: AiDefaults;
  /** NODE_ENV, as GET /api/v1/admin/config shows it; absent: development (config.ts's default). */
  environment?: string;
}
