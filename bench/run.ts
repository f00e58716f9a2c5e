/**
 * `npm run bench`: brings up its own Temporal dev server, Postgres database, worker, API and
 * zero-latency Graph / OpenAI servers on loopback, measures, and writes bench/results/latest.json
 * and latest.md. Flags: --bursts N (default 20), --posts N (default 1000), --debounce MS (1000).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import pino from 'pino';
import pg from 'pg';
import { createApp } from '../src/api/app';
import { signBody } from '../src/api/webhook/signature';
import { MetaGraphSender } from '../src/channels/meta-graph';
import { createDb } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrate';
import { ChatModel, DEFAULT_SYSTEM_PROMPT } from '../src/llm/chat-model';
import { registerSearchAttributes } from '../src/temporal/search-attributes';
import { createWorker } from '../src/worker/create-worker';
import { chatSearchAttributeKeys } from '../src/workflows/search-attributes';
import { ensureTemporalCli, freePort, startDevServer, ROOT } from '../scripts/temporal-cli';
import { FakeGraph } from '../test/helpers/fake-graph';
import { FakeOpenAI } from '../test/helpers/fake-openai';
import { webhookBody } from '../test/helpers/webhook-payload';

const SECRET = 'bench-secret';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return { n: sorted.length, p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), min: round(sorted[0]!), max: round(sorted[sorted.length - 1]!) };
};

async function main(): Promise<void> {
  const bursts = flag('bursts', 20);
  const posts = flag('posts', 1000);
  const debounceMs = flag('debounce', 1000);
  const log = pino({ level: 'silent' });
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  console.log('starting Temporal dev server, database, worker and API...');
  const temporal = await startDevServer(ensureTemporalCli(), { port: await freePort() });
  const databaseUrl = `postgres://postgres@127.0.0.1:5432/whatsapp_bench_${Date.now()}`;
  await migrateToLatest(databaseUrl);
  const db = createDb(databaseUrl);
  const graph = await new FakeGraph().start();
  const llm = await new FakeOpenAI().start();

  const admin = await Connection.connect({ address: temporal.address });
  await registerSearchAttributes(admin, 'default', chatSearchAttributeKeys);
  const client = new Client({ connection: admin });
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const worker = await createWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue: 'bench',
    deps: {
      db,
      log,
      settings: { debounceMs, maxWaitMs: debounceMs * 5, contextMessages: 20, llmMaxAttempts: 3, llmTimeoutMs: 10_000, llmRetryInitialMs: 500, continueAsNewAfterEvents: 10_000 },
      llm: new ChatModel({ apiKey: 'sk-bench', baseUrl: `${llm.url}/v1`, model: 'bench', systemPrompt: DEFAULT_SYSTEM_PROMPT, temperature: 0, maxTokens: 64, timeoutMs: 10_000 }),
      whatsapp: new MetaGraphSender({ baseUrl: graph.url, phoneNumberId: 'BENCH', accessToken: 'bench' }),
    },
  });
  const running = worker.run();
  const app = createApp({ db, temporal: client, taskQueue: 'bench', log, apiKeys: [], whatsapp: { appSecret: SECRET }, version: 'bench' });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/whatsapp`;
  const post = async (body: string) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, SECRET) }, body });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
  };
  const run = Date.now();

  // Warm-up: the first workflow tasks pay for the bundle's first load.
  for (let i = 0; i < 3; i++) await post(JSON.stringify(webhookBody({ messages: [{ from: `1999${run % 1e6}${i}`, text: 'warm up' }] })));
  await new Promise((r) => setTimeout(r, debounceMs + 1500));

  console.log(`reply overhead: ${bursts} bursts of 3 messages, DEBOUNCE_MS=${debounceMs}...`);
  const overheads: number[] = [];
  for (let b = 0; b < bursts; b++) {
    const waId = `1888${String(run % 1e6).padStart(6, '0')}${String(b).padStart(3, '0')}`;
    let lastSentAt = 0;
    for (let m = 0; m < 3; m++) {
      const body = JSON.stringify(webhookBody({ messages: [{ from: waId, text: `burst ${b} message ${m}` }] }));
      lastSentAt = Date.now();
      await post(body);
      if (m < 2) await new Promise((r) => setTimeout(r, 100));
    }
    const deadline = Date.now() + debounceMs * 10 + 10_000;
    while (graph.sentTo(waId).length === 0) {
      if (Date.now() > deadline) throw new Error(`no reply for burst ${b}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    overheads.push(graph.sentTo(waId)[0]!.at - lastSentAt - debounceMs);
  }

  console.log(`webhook latency: ${posts} signed posts, one at a time, over 100 chats...`);
  const latencies: number[] = [];
  for (let i = 0; i < posts; i++) {
    const body = JSON.stringify(webhookBody({ messages: [{ from: `1777${String(run % 1e6).padStart(6, '0')}${String(i % 100).padStart(3, '0')}`, text: `load ${i}` }] }));
    const t0 = performance.now();
    await post(body);
    latencies.push(performance.now() - t0);
  }

  const results = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
    setup: 'in-process API and worker, Temporal CLI dev server (in-memory), local Postgres, zero-latency loopback Graph and OpenAI servers',
    replyOverheadMs: { ...summary(overheads), debounceMs, bursts },
    webhookLatencyMs: { ...summary(latencies), posts },
  };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = [
    `Measured ${results.at} on ${results.machine.cpus} cores (${results.machine.cpu}), Node ${results.machine.node}; ${results.setup}.`,
    '',
    '| figure | n | median ms | p99 ms | max ms |',
    '|---|---|---|---|---|',
    `| reply overhead (last message of a burst → reply at Graph, minus DEBOUNCE_MS=${debounceMs}) | ${bursts} bursts | ${results.replyOverheadMs.p50} | ${results.replyOverheadMs.p99} | ${results.replyOverheadMs.max} |`,
    `| webhook 200 latency (signed POST, signal-with-start accepted) | ${posts} posts | ${results.webhookLatencyMs.p50} | ${results.webhookLatencyMs.p99} | ${results.webhookLatencyMs.max} |`,
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'latest.md'), md);
  console.log(`\n${md}`);

  server.close();
  worker.shutdown();
  await running;
  await nativeConnection.close();
  await admin.close();
  await Promise.all([graph.stop(), llm.stop()]);
  await db.destroy();
  await temporal.stop();
  const name = new URL(databaseUrl).pathname.slice(1);
  const pgAdmin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await pgAdmin.connect();
  await pgAdmin.query(`drop database if exists "${name}" with (force)`);
  await pgAdmin.end();
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
