/**
 * A first start in a fresh deployment (issue 16): the API says exactly what is missing (503) until
 * the namespace, its search attributes and a live worker are there, and the worker waits for the
 * namespace instead of exiting, adding the attributes itself or (TEMPORAL_MANAGE_NAMESPACE=false)
 * naming the commands that add them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import express from 'express';
import type { AppDeps } from '../src/api/deps';
import { healthRouter } from '../src/api/routes/health';
import { createDb, type Db } from '../src/db/database';
import { registerSearchAttributes } from '../src/temporal/search-attributes';
import { allSearchAttributeKeys } from '../src/workflows/search-attributes';
import { eventually } from './helpers/eventually';

let connection: Connection;
let db: Db;
const servers: Server[] = [];
const workers: ChildProcess[] = [];

beforeAll(async () => {
  connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  db = createDb(process.env.TEST_DATABASE_URL!);
});
afterAll(async () => {
  for (const w of workers) w.kill('SIGKILL');
  for (const s of servers) s.close();
  await db?.destroy();
  await connection?.close();
});

const createNamespace = (namespace: string) => connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });

/** The API's health routes for one namespace and task queue. */
async function healthApi(namespace: string, taskQueue: string) {
  const temporal = new Client({ connection, namespace });
  const server = express()
    .use(healthRouter({ db, temporal, taskQueue, version: 'test' } as unknown as AppDeps))
    .listen(0);
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return async (route: '/health' | '/ready' | '/live') => {
    const res = await fetch(`${base}${route}`);
    return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
  };
}

/** The real worker (src/worker/main.ts) as its own process, its log kept for the test to read. */
function startWorker(namespace: string, taskQueue: string, env: Record<string, string> = {}): { log: () => string; exited: Promise<number | null> } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'src', 'worker', 'main.ts')], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATABASE_URL: process.env.TEST_DATABASE_URL!,
      WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE!,
      WORKER_METRICS_PORT: '0',
      WHATSAPP_PROVIDER: 'console',
      OPENAI_API_KEY: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  workers.push(child);
  return { log: () => output, exited: new Promise((r) => child.once('exit', r)) };
}

test('/live is 200 at once; /health and /ready are 503 naming the missing namespace, then 200 once the worker set it up and polls', async () => {
  const namespace = `ready-${randomUUID().slice(0, 8)}`;
  const taskQueue = `tq-${randomUUID().slice(0, 8)}`;
  const get = await healthApi(namespace, taskQueue);

  expect(await get('/live')).toEqual({ status: 200, body: { status: 'alive' } });
  const before = await get('/ready');
  expect(before.status).toBe(503);
  expect(before.body.status).toBe('not_ready');
  expect(before.body.checks).toMatchObject({ database: 'connected', temporal: 'connected', namespace: expect.stringContaining('missing') });
  expect((await get('/health')).body).toMatchObject({ status: 'unhealthy', checks: { namespace: expect.stringContaining('missing') } });

  // The worker starts before the namespace exists (a first docker compose up): it waits, not exits.
  const worker = startWorker(namespace, taskQueue);
  await eventually(() => expect(worker.log()).toContain(`namespace ${namespace} does not exist yet`), 30_000);

  await createNamespace(namespace);
  // It registers the search attributes itself (TEMPORAL_MANAGE_NAMESPACE defaults on) and polls.
  await eventually(async () => {
    const ready = await get('/ready');
    expect(ready.body.checks).toMatchObject({ namespace: 'found', search_attributes: 'registered', workers: expect.stringMatching(/^1 polling/) });
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready' } });
  }, 60_000);
  expect(worker.log()).toContain('registered search attributes');
  expect((await get('/health')).status).toBe(200);
});

test('with TEMPORAL_MANAGE_NAMESPACE=false the worker names the missing search attributes and the commands, and starts once they exist', async () => {
  const namespace = `verify-${randomUUID().slice(0, 8)}`;
  const taskQueue = `tq-${randomUUID().slice(0, 8)}`;
  await createNamespace(namespace);
  const get = await healthApi(namespace, taskQueue);
  const worker = startWorker(namespace, taskQueue, { TEMPORAL_MANAGE_NAMESPACE: 'false' });

  await eventually(() => expect(worker.log()).toContain('TEMPORAL_MANAGE_NAMESPACE is off'), 30_000);
  for (const key of allSearchAttributeKeys) expect(worker.log()).toContain(`--name ${key.name} --type`);
  expect(worker.log()).toContain('temporal operator search-attribute create --namespace');
  expect(worker.log()).toContain('tcld namespace search-attributes add');
  const waiting = await get('/ready');
  expect(waiting.status).toBe(503);
  expect(waiting.body.checks.search_attributes).toMatch(/^missing: .*NeedsHuman/);
  expect(waiting.body.checks.workers).toMatch(/^no workers polling/);

  await registerSearchAttributes(connection, namespace, allSearchAttributeKeys);
  await eventually(async () => expect(await get('/ready')).toMatchObject({ status: 200, body: { status: 'ready' } }), 60_000);
  expect(worker.log()).not.toContain('registered search attributes');
});

describe('what waiting cannot fix stops the worker with a clear message', () => {
  const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

  test('the visibility store has no room left for a type (3 custom Bool attributes already)', async () => {
    const namespace = `full-${randomUUID().slice(0, 8)}`;
    await createNamespace(namespace);
    const Bool = IndexedValueType.INDEXED_VALUE_TYPE_BOOL;
    await eventually(() => connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { Flag1: Bool, Flag2: Bool, Flag3: Bool } }), 20_000);
    const worker = startWorker(namespace, `tq-${randomUUID().slice(0, 8)}`);
    expect(await worker.exited).toBe(1);
    expect(worker.log()).toContain(`the visibility store of namespace ${namespace} has no room for`);
    expect(worker.log()).toContain('NeedsHuman (Bool)');
  });

  test('an attribute exists with another type', async () => {
    const namespace = `typed-${randomUUID().slice(0, 8)}`;
    await createNamespace(namespace);
    await eventually(
      () => connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { NeedsHuman: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD } }),
      20_000,
    );
    const worker = startWorker(namespace, `tq-${randomUUID().slice(0, 8)}`);
    expect(await worker.exited).toBe(1);
    expect(worker.log()).toContain('has search attributes NeedsHuman with another type than this product needs (NeedsHuman (Bool))');
  });
});
