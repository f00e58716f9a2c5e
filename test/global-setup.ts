/**
 * One real Temporal dev server (the pinned CLI, in memory) and one fresh Postgres database for the
 * whole run; the workflow bundle is built once and shared by every test file's workers.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { migrateToLatest } from '../src/db/migrate';
import { registerSearchAttributes } from '../src/temporal/search-attributes';
import { allSearchAttributeKeys } from '../src/workflows/search-attributes';
import { ensureTemporalCli, freePort, startDevServer, ROOT } from '../scripts/temporal-cli';

export default async function globalSetup(): Promise<void> {
  const binary = ensureTemporalCli((l) => process.stderr.write(`${l}\n`));
  const server = await startDevServer(binary, { port: await freePort() });
  (globalThis as { __temporal?: typeof server }).__temporal = server;

  const base = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const databaseUrl = `${base}/whatsapp_test_${process.pid}_${Date.now()}`;
  await migrateToLatest(databaseUrl);

  const connection = await Connection.connect({ address: server.address });
  await registerSearchAttributes(connection, 'default', allSearchAttributeKeys);
  await connection.close();

  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: quietLogger });
  const bundlePath = path.join(ROOT, '.data', `test-workflow-bundle-${process.pid}.js`);
  mkdirSync(path.dirname(bundlePath), { recursive: true });
  writeFileSync(bundlePath, bundle.code);

  process.env.TEST_TEMPORAL_ADDRESS = server.address;
  process.env.TEST_DATABASE_URL = databaseUrl;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
