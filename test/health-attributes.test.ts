/**
 * /health names the search attributes a namespace lacks (issue 15): without them every chat's
 * signal-with-start fails, so the API is not healthy however well Postgres and Temporal answer.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import express from 'express';
import type { AppDeps } from '../src/api/deps';
import { healthRouter } from '../src/api/routes/health';
import { createDb, type Db } from '../src/db/database';
import { registerSearchAttributes } from '../src/temporal/search-attributes';
import { allSearchAttributeKeys } from '../src/workflows/search-attributes';
import { eventually } from './helpers/eventually';

let connection: Connection;
let db: Db;
let server: Server;
let url: string;
const namespace = `health-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  db = createDb(process.env.TEST_DATABASE_URL!);
  const temporal = new Client({ connection, namespace });
  const app = express().use(healthRouter({ db, temporal, taskQueue: 'health-test', version: 'test' } as unknown as AppDeps));
  server = app.listen(0);
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
});
afterAll(async () => {
  server?.close();
  await db?.destroy();
  await connection?.close();
});

test('503 naming the missing search attributes, 200 once they are registered', async () => {
  await eventually(async () => {
    const res = await fetch(url);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { search_attributes: string } };
    expect(body).toMatchObject({ status: 'unhealthy', checks: { database: 'connected', temporal: 'connected' } });
    expect(body.checks.search_attributes).toMatch(/^missing: /);
    for (const key of allSearchAttributeKeys) expect(body.checks.search_attributes).toContain(key.name);
  }, 20_000);

  await registerSearchAttributes(connection, namespace, allSearchAttributeKeys);
  await eventually(async () => {
    const res = await fetch(url);
    expect(await res.json()).toMatchObject({ status: 'healthy', checks: { search_attributes: 'registered' } });
    expect(res.status).toBe(200);
  }, 20_000);
});
