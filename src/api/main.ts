import { Client, Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../config';
import { createDb } from '../db/database';
import { createLogger } from '../logger';
import { priceTable } from '../llm/pricing';
import { describeLlm } from '../llm/offline-responder';
import { workflowIds } from '../temporal/workflow-ids';
import { mediaSettings } from '../media/settings';
import { describeTemporalConnection, temporalConnectionOptions } from '../temporal/connection-options';
import { createApp } from './app';
import { webhookLogSettings } from './webhook/webhook-log';
import { closeConversationStreams } from './conversation-stream-hub';
import { generateDevApiKey } from './auth';
import { randomBytes } from 'node:crypto';
import { ensureAdminUser } from '../auth/bootstrap';
import { closePasswordHashing } from '../auth/passwords';
import { tokenSettings } from '../auth/tokens';
import { version } from '../../package.json';
import { aiDefaultsFromConfig } from '../ai/model';
import { defaultNumberFromConfig, secretsFromConfig } from '../numbers/from-config';
import { NumberRegistry, syncDefaultNumber } from '../numbers/registry';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, 'api');

  let apiKeys = config.API_KEYS;
  if (apiKeys.length === 0) {
    // Only reachable outside production (config requires API_KEYS there).
    const secret = generateDevApiKey();
    apiKeys = [{ secret, role: 'admin' }];
    log.warn(`API_KEYS is not set; this run's admin key: ${secret}`);
  }
  if (!config.WHATSAPP_APP_SECRET) {
    log.warn('WHATSAPP_APP_SECRET is not set: webhook signatures are NOT verified (development only)');
  }

  if (!config.JWT_SECRET) {
    // Only reachable outside production (config requires JWT_SECRET there).
    log.warn('JWT_SECRET is not set: sign-ins last only as long as this API process, and each API process has its own');
  }
  const tokens = tokenSettings(config.JWT_SECRET ?? randomBytes(32).toString('hex'), config.JWT_TTL_SECONDS, config.REFRESH_TOKEN_TTL_SECONDS);

  const db = createDb(config.DATABASE_URL, config.DB_POOL_SIZE);
  if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
    await ensureAdminUser(db, config.ADMIN_EMAIL, config.ADMIN_PASSWORD, log).catch((err: unknown) =>
      log.error({ err }, 'could not create the admin user from ADMIN_EMAIL (is the database migrated?)'),
    );
  }
  // The business's numbers (issue 13): the environment's is the default; the rest are in Postgres.
  const defaultNumber = defaultNumberFromConfig(config);
  const secrets = secretsFromConfig(config);
  await syncDefaultNumber(db, defaultNumber).catch((err: unknown) => log.error({ err }, 'could not record the default number (is the database migrated?)'));
  const numbers = new NumberRegistry({
    db,
    defaultNumber,
    secrets,
    providers: { graphBaseUrl: config.WHATSAPP_API_BASE_URL, twilioBaseUrl: config.TWILIO_API_BASE_URL, publicBaseUrl: config.PUBLIC_BASE_URL },
    log,
  });
  // Connection.lazy lets the API start (and report 503 on /health) while Temporal is still coming up.
  // Plain gRPC, TLS, mTLS or an API key, as configured (TEMPORAL_TLS*, TEMPORAL_API_KEY); the files are read here.
  const connection = Connection.lazy(temporalConnectionOptions(config));
  log.info({ temporal: describeTemporalConnection(config), namespace: config.TEMPORAL_NAMESPACE }, 'Temporal connection');
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const app = createApp({
    db,
    temporal,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ids: workflowIds(config.TEMPORAL_ID_PREFIX),
    log,
    apiKeys,
    tokens,
    rateLimits: { perMinute: config.RATE_LIMIT_PER_MINUTE, perHour: config.RATE_LIMIT_PER_HOUR },
    loginLimits: { perEmail: config.LOGIN_LIMIT_PER_EMAIL, perAddress: config.LOGIN_LIMIT_PER_ADDRESS, perMinute: config.LOGIN_LIMIT_PER_MINUTE },
    bodyLimit: config.REQUEST_BODY_LIMIT,
    whatsapp: { appSecret: config.WHATSAPP_APP_SECRET, verifyToken: config.WHATSAPP_VERIFY_TOKEN },
    // Production never takes unsigned Twilio webhooks: without a token they are refused outright.
    twilio:
      config.TWILIO_AUTH_TOKEN || config.NODE_ENV !== 'production' ? { authToken: config.TWILIO_AUTH_TOKEN, publicBaseUrl: config.PUBLIC_BASE_URL } : undefined,
    llmPrices: priceTable(config.LLM_PRICES),
    llmLabel: describeLlm({ apiKey: config.OPENAI_API_KEY, model: config.OPENAI_MODEL, baseUrl: config.OPENAI_BASE_URL }),
    temporalUiUrl: config.TEMPORAL_UI_URL,
    media: mediaSettings(config, log),
    temporalTimeoutMs: config.WEBHOOK_TEMPORAL_TIMEOUT_MS,
    webhookLogs: webhookLogSettings(config),
    trustProxy: config.TRUST_PROXY,
    corsOrigins: config.CORS_ORIGINS,
    secrets,
    numbers,
    aiDefaults: aiDefaultsFromConfig(config),
    environment: config.NODE_ENV,
    version,
  });

  const server = app.listen(config.PORT, () => log.info({ port: config.PORT }, `API listening on http://127.0.0.1:${config.PORT}`));
  server.on('error', (err) => {
    log.fatal({ err }, 'API could not listen');
    process.exit(1);
  });

  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    closeConversationStreams(); // open event streams would hold server.close; their clients resume elsewhere
    server.close(() => {
      void Promise.allSettled([connection.close(), db.destroy(), closePasswordHashing()]).then(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`api: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
