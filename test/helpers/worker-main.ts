/**
 * A worker as its own process, so a test can kill -9 it mid-activity. Configured by the env that
 * WorkerProcess passes; prints "ready" once polling.
 */
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { createDb } from '../../src/db/database';
import { createWorker } from '../../src/worker/create-worker';
import { workerDeps } from './worker-deps';

async function main(): Promise<void> {
  const env = (name: string) =>
    process.env[name] ??
    (() => {
      throw new Error(`${name} is not set`);
    })();
  const connection = await NativeConnection.connect({ address: env('TEST_TEMPORAL_ADDRESS') });
  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue: env('WORKER_TASK_QUEUE'),
    deps: workerDeps({
      connection,
      db: createDb(env('TEST_DATABASE_URL')),
      graphUrl: env('WORKER_GRAPH_URL'),
      llmUrl: env('WORKER_LLM_URL'),
      settings: JSON.parse(env('WORKER_SETTINGS')),
      log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      sendConfirmGraceMs: process.env.WORKER_SEND_CONFIRM_GRACE_MS ? Number(process.env.WORKER_SEND_CONFIRM_GRACE_MS) : undefined,
    }),
    workflowBundle: { codePath: env('TEST_WORKFLOW_BUNDLE') },
  });
  process.stdout.write('ready\n');
  await worker.run();
}

main().catch((err: unknown) => {
  process.stderr.write(`worker-main: ${String(err)}\n`);
  process.exit(1);
});
