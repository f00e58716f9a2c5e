/**
 * `npm run bench`: brings up its own Temporal dev server, Postgres database, worker, API and
 * zero-latency Graph / OpenAI servers on loopback, measures, and writes bench/results/latest.json
 * and latest.md. Flags: --bursts N (default 20), --posts N (default 1000), --debounce MS (1000);
 * --webhook-without-worker stops the worker before the webhook phase, to see the API on its own.
 * BENCH_PROFILE=worker (or api) writes V8 CPU profiles of that process to .data/prof.
 */
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { signBody } from '../src/api/webhook/signature';
import { migrateToLatest } from '../src/db/migrate';
import { registerSearchAttributes } from '../src/temporal/search-attributes';
import { explainBurst } from './explain-burst';
import { allSearchAttributeKeys } from '../src/workflows/search-attributes';
import { CHAT_WORKFLOW_TYPE, inboundMessageSignal } from '../src/workflows/definitions';
import { ensureTemporalCli, freePort, startDevServer, ROOT } from '../scripts/temporal-cli';
import { eventually } from '../test/helpers/eventually';
import { FakeGraph } from '../test/helpers/fake-graph';
import { FakeOpenAI } from '../test/helpers/fake-openai';
import { webhookBody } from '../test/helpers/webhook-payload';

const SECRET = 'bench-secret';

/** BENCH_PROFILE=worker|api writes a V8 CPU profile of that process to .data/prof when it exits. */
function profileArgs(name: string): string[] {
  return process.env.BENCH_PROFILE === name ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, '.data', 'prof')}`] : [];
}

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

/** Whatever the bench started is stopped when it exits, also on failure. */
const started: { kill(signal?: NodeJS.Signals): boolean }[] = [];
process.on('exit', () => {
  for (const p of started) p.kill('SIGKILL');
});

async function main(): Promise<void> {
  const bursts = flag('bursts', 20);
  const posts = flag('posts', 1000);
  const debounceMs = flag('debounce', 1000);

  console.log('starting Temporal dev server, database, worker and API...');
  const temporal = await startDevServer(ensureTemporalCli(), { port: await freePort() });
  started.push(temporal.process);
  const databaseUrl = `postgres://postgres@127.0.0.1:5432/whatsapp_bench_${Date.now()}`;
  await migrateToLatest(databaseUrl);
  const graph = await new FakeGraph().start();
  const llm = await new FakeOpenAI().start();

  const admin = await Connection.connect({ address: temporal.address });
  await registerSearchAttributes(admin, 'default', allSearchAttributeKeys);
  const client = new Client({ connection: admin });
  const port = await freePort();
  // The real entry points, as separate processes: the topology production runs.
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'bench',
    WHATSAPP_PROVIDER: 'meta',
    WHATSAPP_API_BASE_URL: graph.url,
    WHATSAPP_PHONE_NUMBER_ID: 'BENCH',
    WHATSAPP_ACCESS_TOKEN: 'bench-token',
    WHATSAPP_APP_SECRET: SECRET,
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: `${llm.url}/v1`,
    DEBOUNCE_MS: String(debounceMs),
    DEBOUNCE_MAX_WAIT_MS: String(debounceMs * 5),
    API_KEYS: 'bench-admin-key-0123456789:admin',
    LOG_LEVEL: 'warn',
  };
  // Their logs (warnings and up) go to .data/bench-<name>.log, to explain any outlier.
  mkdirSync(path.join(ROOT, '.data'), { recursive: true });
  const children = (['worker', 'api'] as const).map((name) =>
    spawn(process.execPath, [...profileArgs(name), '--import', 'tsx', `src/${name}/main.ts`], {
      cwd: ROOT,
      env,
      stdio: ['ignore', openSync(path.join(ROOT, '.data', `bench-${name}.log`), 'w'), 'inherit'],
    }),
  );
  started.push(...children);
  const url = `http://127.0.0.1:${port}/webhooks/whatsapp`;
  await eventually(
    async () => {
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      if (health.status !== 200 || !(await health.text()).includes('polling')) throw new Error('worker and API did not come up');
    },
    60_000,
    250,
  );
  const post = async (body: string) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, SECRET) }, body });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
  };
  const run = Date.now();

  // Warm-up: the first workflow tasks pay for the bundle's first load.
  for (let i = 0; i < 3; i++) await post(JSON.stringify(webhookBody({ messages: [{ from: `1999${run % 1e6}${i}`, text: 'warm up' }] })));
  await new Promise((r) => setTimeout(r, debounceMs + 1500));

  // The floor for the webhook on this machine in this run: a bare signal-with-start from a plain
  // client, to workflows no worker polls for, on the idle system before the load, same payload.
  console.log(`floor: ${posts} bare signal-with-start calls...`);
  const floor: number[] = [];
  for (let i = 0; i < posts; i++) {
    const message = { wamid: `floor-${i}`, waId: `1666${i % 100}`, sentAt: Date.now(), type: 'text', text: `floor ${i}`, answerable: true };
    const t0 = performance.now();
    await client.workflow.signalWithStart(CHAT_WORKFLOW_TYPE, {
      workflowId: `floor-${run}-${i % 100}`,
      taskQueue: 'bench-floor-nobody-polls',
      args: [{ waId: message.waId }],
      signal: inboundMessageSignal,
      signalArgs: [message],
    });
    floor.push(performance.now() - t0);
  }

  console.log(`reply overhead: ${bursts} bursts of 3 messages, DEBOUNCE_MS=${debounceMs}...`);
  const overheads: number[] = [];
  let worstBurstWaId = '';
  let worstOverhead = -Infinity;
  for (let b = 0; b < bursts; b++) {
    const waId = `1888${String(run % 1e6).padStart(6, '0')}${String(b).padStart(3, '0')}`;
    let lastSentAt = 0;
    for (let m = 0; m < 3; m++) {
      const body = JSON.stringify(webhookBody({ messages: [{ from: waId, text: `burst ${b} message ${m}` }] }));
      lastSentAt = Date.now();
      await post(body);
      if (m < 2) await new Promise((r) => setTimeout(r, 100));
    }
    // The reply's time is the Graph server's own timestamp, so how often this polls does not matter.
    await eventually(
      () => {
        if (graph.sentTo(waId).length === 0) throw new Error(`no reply for burst ${b}`);
      },
      debounceMs * 10 + 10_000,
      5,
    );
    const overhead = graph.sentTo(waId)[0]!.at - lastSentAt - debounceMs;
    if (overhead >= worstOverhead) [worstOverhead, worstBurstWaId] = [overhead, waId];
    overheads.push(overhead);
  }

  const replyBreakdown = await explainBurst(client, worstBurstWaId);
  if (process.argv.includes('--webhook-without-worker')) {
    // Diagnostic: the API's own floor, with nothing else using the machine.
    children[0]!.kill('SIGKILL');
  }

  console.log(`webhook latency: ${posts} signed posts, one at a time, over 100 chats...`);
  const latencies: number[] = [];
  for (let i = 0; i < posts; i++) {
    const body = JSON.stringify(webhookBody({ messages: [{ from: `1777${String(run % 1e6).padStart(6, '0')}${String(i % 100).padStart(3, '0')}`, text: `load ${i}` }] }));
    const t0 = performance.now();
    await post(body);
    latencies.push(performance.now() - t0);
  }

  const deciles = Array.from({ length: 10 }, (_, d) => summary(latencies.slice((d * posts) / 10, ((d + 1) * posts) / 10)).p50);
  console.log(`webhook p50 by tenth of the run: ${deciles.join(' ')}`);
  const results = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
    setup: 'API and worker as separate processes (npm run api / worker entry points), Temporal CLI dev server (in-memory), local Postgres, zero-latency loopback Graph and OpenAI servers',
    replyOverheadMs: { ...summary(overheads), debounceMs, bursts },
    webhookLatencyMs: { ...summary(latencies), posts },
    bareSignalWithStartMs: { ...summary(floor), calls: posts },
    replyBreakdown,
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
    `| floor: bare signal-with-start from a plain client, same server, idle system | ${posts} calls | ${results.bareSignalWithStartMs.p50} | ${results.bareSignalWithStartMs.p99} | ${results.bareSignalWithStartMs.max} |`,
    '',
    'Where the slowest burst spent its time (workflow history, ms after its last message was signalled):',
    '',
    '```',
    ...replyBreakdown,
    '```',
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'latest.md'), md);
  console.log(`\n${md}`);

  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  await admin.close();
  await Promise.all([graph.stop(), llm.stop()]);
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
