import { NativeConnection } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { createSender } from '../channels';
import { loadConfigOrExit } from '../config';
import { createDb } from '../db/database';
import { ChatModel } from '../llm/chat-model';
import { describeLlm, OFFLINE_LLM, OFFLINE_MODEL, OfflineResponder } from '../llm/offline-responder';
import { loadSystemPrompt } from '../llm/system-prompt';
import { createLogger } from '../logger';
import { startMetricsServer } from '../metrics/server';
import { ensureLeadSweepSchedule } from '../temporal/lead-follow-ups';
import { ensureWebhookLogRetentionSchedule } from '../temporal/webhook-log-retention';
import { describeTemporalConnection, temporalConnectionOptions } from '../temporal/connection-options';
import { createWorker } from './create-worker';
import { installSdkLogger } from './sdk-logger';
import { workflowIds } from '../temporal/workflow-ids';
import { prepareNamespace } from './namespace-setup';
import { chatSettingsFromConfig } from './settings';
import { defaultNumberFromConfig, secretsFromConfig } from '../numbers/from-config';
import { NumberRegistry, syncDefaultNumber } from '../numbers/registry';
import { aiDefaultsFromConfig } from '../ai/model';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, 'worker');
  installSdkLogger(log, config.LOG_LEVEL);
  // Every workflow and Schedule id behind TEMPORAL_ID_PREFIX: deployments sharing a namespace stay apart.
  const ids = workflowIds(config.TEMPORAL_ID_PREFIX);

  // Waits for Temporal and the namespace (a first docker compose up creates it a little later),
  // then adds or verifies the search attributes (TEMPORAL_MANAGE_NAMESPACE).
  // Plain gRPC, TLS, mTLS or an API key, as configured (TEMPORAL_TLS*, TEMPORAL_API_KEY); the files are read here.
  const temporalOptions = temporalConnectionOptions(config);
  const admin = await prepareNamespace({
    connection: temporalOptions,
    settings: config,
    namespace: config.TEMPORAL_NAMESPACE,
    manage: config.TEMPORAL_MANAGE_NAMESPACE,
    log,
  });
  await ensureLeadSweepSchedule(
    new Client({ connection: admin, namespace: config.TEMPORAL_NAMESPACE }),
    config.TEMPORAL_TASK_QUEUE,
    config.LEAD_SWEEP_INTERVAL_MS,
    ids,
  );
  await ensureWebhookLogRetentionSchedule(
    new Client({ connection: admin, namespace: config.TEMPORAL_NAMESPACE }),
    config.TEMPORAL_TASK_QUEUE,
    config.WEBHOOK_LOG_RETENTION_DAYS,
    ids,
  );
  await admin.close();

  const db = createDb(config.DATABASE_URL, config.DB_POOL_SIZE);
  // The business's numbers (issue 13): the environment's is the default; the rest are in Postgres.
  const defaultNumber = defaultNumberFromConfig(config);
  const secrets = secretsFromConfig(config);
  await syncDefaultNumber(db, defaultNumber).catch((err: unknown) => log.error({ err }, 'could not record the default number (is the database migrated?)'));
  const whatsapp = createSender(config, log);
  const numbers = new NumberRegistry({
    db,
    defaultNumber,
    secrets,
    defaultSender: whatsapp,
    providers: { graphBaseUrl: config.WHATSAPP_API_BASE_URL, twilioBaseUrl: config.TWILIO_API_BASE_URL, publicBaseUrl: config.PUBLIC_BASE_URL },
    log,
  });
  // No key: a labelled offline responder answers (local runs), rather than every chat failing.
  const llm = config.OPENAI_API_KEY
    ? new ChatModel({
        apiKey: config.OPENAI_API_KEY,
        baseUrl: config.OPENAI_BASE_URL,
        model: config.OPENAI_MODEL,
        systemPrompt: loadSystemPrompt(config.LLM_SYSTEM_PROMPT_FILE),
        temperature: config.LLM_TEMPERATURE,
        maxTokens: config.LLM_MAX_TOKENS,
        timeoutMs: config.LLM_TIMEOUT_MS,
      })
    : new OfflineResponder();
  const llmName = describeLlm({ apiKey: config.OPENAI_API_KEY, model: config.OPENAI_MODEL, baseUrl: config.OPENAI_BASE_URL });
  if (!config.OPENAI_API_KEY) log.warn(`LLM: ${OFFLINE_LLM} (set OPENAI_API_KEY for real answers)`);
  const connection = await NativeConnection.connect(temporalOptions);
  // Activities signal chats and manage campaign Schedules over the worker's own connection.
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    // Built ahead (npm run build:bundle, the Docker image): polling starts at once instead of after bundling.
    workflowBundle: prebuiltBundle(config.WORKFLOW_BUNDLE_PATH),
    deps: {
      db,
      llm,
      llmModel: config.OPENAI_API_KEY ? config.OPENAI_MODEL : OFFLINE_MODEL,
      whatsapp,
      numbers,
      secrets,
      aiDefaults: aiDefaultsFromConfig(config),
      log,
      settings: chatSettingsFromConfig(config),
      sendConfirmGraceMs: config.CHAT_SEND_CONFIRM_GRACE_MS,
      temporal,
      ids,
    },
  });
  log.info(
    {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      namespace: config.TEMPORAL_NAMESPACE,
      temporal: describeTemporalConnection(config),
      provider: config.WHATSAPP_PROVIDER,
      llm: llmName,
    },
    'worker started',
  );
  // LLM and send series live in this process, so it serves its own /metrics (src/metrics/registry.ts).
  // A busy port (a second worker on the host) costs the metrics, not the worker.
  const metricsServer = config.WORKER_METRICS_PORT
    ? await startMetricsServer(config.WORKER_METRICS_PORT, log, config.WORKER_METRICS_HOST).catch((err: unknown) => {
        log.warn(
          { err, host: config.WORKER_METRICS_HOST, port: config.WORKER_METRICS_PORT },
          'worker metrics not served (set WORKER_METRICS_PORT to a free port, or 0, and WORKER_METRICS_HOST to an address of this host)',
        );
        return undefined;
      })
    : undefined;
  // Worker.run() shuts down gracefully on SIGINT/SIGTERM (the SDK installs the handlers).
  await worker.run();
  metricsServer?.close();
  await connection.close();
  await db.destroy();
}

function prebuiltBundle(path: string | undefined): { codePath: string } | undefined {
  if (!path) return undefined;
  if (!existsSync(path)) throw new Error(`WORKFLOW_BUNDLE_PATH ${path} does not exist (build it with npm run build:bundle, or unset it to bundle at start)`);
  return { codePath: path };
}

main().catch((err: unknown) => {
  console.error(`worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
