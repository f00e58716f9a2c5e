import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { createSender } from '../channels';
import { loadConfigOrExit } from '../config';
import { createDb } from '../db/database';
import { ChatModel } from '../llm/chat-model';
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

  if (!config.OPENAI_API_KEY) {
    log.warn('OPENAI_API_KEY is not set: LLM calls will fail and chats get the fallback reply with NeedsHuman=true');
  }
  const db = createDb(config.DATABASE_URL);
  const llm = new ChatModel({
    apiKey: config.OPENAI_API_KEY,
    baseUrl: config.OPENAI_BASE_URL,
    model: config.OPENAI_MODEL,
    systemPrompt: loadSystemPrompt(config.LLM_SYSTEM_PROMPT_FILE),
    temperature: config.LLM_TEMPERATURE,
    maxTokens: config.LLM_MAX_TOKENS,
    timeoutMs: config.LLM_TIMEOUT_MS,
  });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  // Activities signal chats and manage campaign Schedules over the worker's own connection.
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    deps: { db, llm, llmModel: config.OPENAI_MODEL, whatsapp: createSender(config, log), log, settings: chatSettingsFromConfig(config), temporal },
  });
  log.info(
    { taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE, provider: config.WHATSAPP_PROVIDER },
    'worker started',
  );
  // LLM and send series live in this process, so it serves its own /metrics (src/metrics/registry.ts).
  // A busy port (a second worker on the host) costs the metrics, not the worker.
  const metricsServer = config.WORKER_METRICS_PORT
    ? await startMetricsServer(config.WORKER_METRICS_PORT, log).catch((err: unknown) => {
        log.warn({ err, port: config.WORKER_METRICS_PORT }, 'worker metrics not served (set WORKER_METRICS_PORT to a free port, or 0)');
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
