/**
 * The floor's worker, a process of its own like the product's (`npm run worker`), so the CPU meter
 * counts it apart. It reads the same environment the product worker gets (bench/setup.ts childEnv)
 * through the same config schema: same Temporal server, LLM and Graph URLs, token, model and
 * WORKER_MAX_CACHED_WORKFLOWS. Its workflow is bundled on its own, from bench/floor only.
 * Tells its parent "ready" over IPC once the worker is built; SIGTERM shuts it down.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import OpenAI from 'openai';
import { MetaGraphSender } from '../../src/channels/meta-graph';
import { parseConfig } from '../../src/config';
import { temporalConnectionOptions } from '../../src/temporal/connection-options';
import { createFloorActivities } from './floor-activities';
import { FLOOR_TASK_QUEUE } from './floor-definitions';

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: FLOOR_TASK_QUEUE,
    workflowsPath: require.resolve('./floor-workflow'),
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    activities: createFloorActivities({
      openai: new OpenAI({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, maxRetries: 0, timeout: config.LLM_TIMEOUT_MS }),
      model: config.OPENAI_MODEL,
      temperature: config.LLM_TEMPERATURE,
      maxTokens: config.LLM_MAX_TOKENS,
      whatsapp: new MetaGraphSender({
        baseUrl: config.WHATSAPP_API_BASE_URL,
        phoneNumberId: config.WHATSAPP_PHONE_NUMBER_ID!,
        accessToken: config.WHATSAPP_ACCESS_TOKEN!,
      }),
    }),
  });
  process.send?.('ready');
  // Worker.run() shuts down gracefully on SIGINT/SIGTERM (the SDK installs the handlers).
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(`floor worker: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
