import type { Client } from '@temporalio/client';
import type { Db } from '../db/database';
import type { Logger } from '../logger';
import type { PriceTable } from '../llm/pricing';
import type { TokenSettings } from '../auth/tokens';
import type { ApiKey } from './auth';
import type { ApiRateLimits } from './rate-limit';

export interface AppDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  log: Logger;
  apiKeys: ApiKey[];
  /** Signs and checks users' access tokens. Absent: a random secret for this app instance (dev, tests). */
  tokens?: TokenSettings;
  /** Requests per caller; absent: seed 004's 100 per minute and 1000 per hour. */
  rateLimits?: ApiRateLimits;
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
  /** How long a webhook waits for Temporal before answering 5xx so Meta retries. */
  temporalTimeoutMs?: number;
}
