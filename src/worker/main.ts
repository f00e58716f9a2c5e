import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { createSender } from '../channels';
import { loadConfigOrExit } from '../config';
import { createDb } from '../db/database';
import { ChatModel } from '../llm/chat-model';
import { describeLlm, OFFLINE_LLM, OFFLINE_MODEL, OfflineResponder } from '../llm/offline-responder';
import { loadSystemPrompt } from '../llm/system-prompt';
import { createLogger } from '../logger';
import { startMetricsServer } from '../metrics/server';
import { ensureLeadSweepSchedule } from '../temporal/lead-follow-ups';
import { registerSearchAttributes } from '../temporal/search-attributes';
import { allSearchAttributeKeys } from '../workflows/search-attributes';
import { createWorker } from './create-worker';
import { installSdkLogger } from './sdk-logger';
import { chatSettingsFromConfig } from './settings';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, 'worker');
  installSdkLogger(log, config.LOG_LEVEL);

  const admin = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const added = await registerSearchAttributes(admin, config.TEMPORAL_NAMESPACE, allSearchAttributeKeys);
  if (added.length) log.info({ added }, 'registered search attributes');
  await ensureLeadSweepSchedule(
    new Client({ connection: admin, namespace: config.TEMPORAL_NAMESPACE }),
    config.TEMPORAL_TASK_QUEUE,
    config.LEAD_SWEEP_INTERVAL_MS,
  );
  await admin.close();

  const db = createDb(config.DATABASE_URL);
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
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  // Activities signal chats and manage campaign Schedules over the worker's own connection.
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    deps: { db, llm, llmModel: config.OPENAI_API_KEY ? config.OPENAI_MODEL : OFFLINE_MODEL, whatsapp: createSender(config, log), log, settings: chatSettingsFromConfig(config), sendConfirmGraceMs: config.CHAT_SEND_CONFIRM_GRACE_MS, temporal },
  });
  log.info(
    { taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE, provider: config.WHATSAPP_PROVIDER, llm: llmName },
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

main().catch((err: unknown) => {
  console.error(`worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
