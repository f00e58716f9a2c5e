/**
 * What every benchmark brings up for itself: a Temporal dev server, a fresh Postgres database,
 * zero-latency Graph / OpenAI servers on loopback, and the real worker and API entry points as
 * separate processes pointed at them. Everything it starts is stopped when the bench exits,
 * also on failure.
 */
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { parseConfig } from '../src/config';
import { migrateToLatest } from '../src/db/migrate';
import { temporalConnectionOptions } from '../src/temporal/connection-options';
import { registerSearchAttributes } from '../src/temporal/search-attributes';
import { allSearchAttributeKeys } from '../src/workflows/search-attributes';
import { ensureTemporalCli, freePort, startDevServer, ROOT, type DevServer } from '../scripts/temporal-cli';
import { eventually } from '../test/helpers/eventually';
import { FakeGraph } from '../test/helpers/fake-graph';
import { FakeOpenAI } from '../test/helpers/fake-openai';

export { ROOT };
export const WEBHOOK_SECRET = 'bench-secret';
export const ADMIN_KEY = 'bench-admin-key-0123456789';
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

/** `--name N` from the command line, or the fallback. */
export function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

/** Whatever the bench started is stopped when it exits, also on failure. */
const started: { kill(signal?: NodeJS.Signals): boolean }[] = [];
process.on('exit', () => {
  for (const p of started) p.kill('SIGKILL');
});

/** For a process a phase starts and stops itself (e.g. the floor's worker): killed too if the bench exits first. */
export function killOnExit(p: { kill(signal?: NodeJS.Signals): boolean }): void {
  started.push(p);
}

/** BENCH_PROFILE=worker|api writes a V8 CPU profile of that process to .data/prof when it exits. */
function profileArgs(name: string): string[] {
  return process.env.BENCH_PROFILE === name ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, '.data', 'prof')}`] : [];
}

/**
 * The Temporal the bench runs on: its own dev server, or with BENCH_TEMPORAL_ADDRESS an external
 * one (a real cluster, e.g. `npm run temporal:cluster`) in BENCH_TEMPORAL_NAMESPACE (default
 * "default"). An external server's CPU is not in the bench's process shares (no pid), unless
 * BENCH_TEMPORAL_PIDS lists its processes (the first is reported).
 */
export interface BenchTemporal {
  address: string;
  namespace: string;
  /** Set for the bench's own dev server (and BENCH_TEMPORAL_PIDS' first pid): its CPU is measured. */
  process?: { pid?: number };
  external: boolean;
  stop(): Promise<void>;
}

async function benchTemporal(): Promise<BenchTemporal> {
  const external = process.env.BENCH_TEMPORAL_ADDRESS;
  if (!external) {
    const dev: DevServer = await startDevServer(ensureTemporalCli(), { port: await freePort() });
    started.push(dev.process);
    return { address: dev.address, namespace: 'default', process: dev.process, external: false, stop: () => dev.stop() };
  }
  const pid = Number(process.env.BENCH_TEMPORAL_PIDS?.split(',')[0]);
  return {
    address: external,
    namespace: process.env.BENCH_TEMPORAL_NAMESPACE ?? 'default',
    process: Number.isInteger(pid) && pid > 0 ? { pid } : undefined,
    external: true,
    stop: async () => undefined,
  };
}

/** The Temporal connection's security settings (README "Temporal connection"). */
const TEMPORAL_TLS_ENV = ['TEMPORAL_TLS', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY'];

/** "the Temporal dev server" or "the Temporal at <address>", for reports. */
export const describeTemporal = (t: BenchTemporal) =>
  t.external ? `the Temporal at ${t.address} (namespace ${t.namespace}, BENCH_TEMPORAL_ADDRESS)` : 'its own Temporal dev server';

export interface BenchStack {
  temporal: BenchTemporal;
  databaseUrl: string;
  graph: FakeGraph;
  llm: FakeOpenAI;
  /** A client on the dev server, for what the bench itself asks Temporal. */
  client: Client;
  /** http://127.0.0.1:<port> of the API process. */
  apiUrl: string;
  /** The current worker and API processes (restart() replaces them). */
  worker: ChildProcess;
  api: ChildProcess;
  /**
   * Stops one of them with `signal` (kill -9 by default), waits for it to exit and spawns a fresh
   * one with the same environment; resolves to the new process without waiting for it to be ready.
   */
  restart(name: 'worker' | 'api', signal?: NodeJS.Signals): Promise<ChildProcess>;
  /** The environment the worker and API run with, for any extra process a bench starts. */
  childEnv: NodeJS.ProcessEnv;
  /** The API with the bench's admin key; resolves to status and parsed JSON body. */
  request(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  stop(): Promise<void>;
}

export interface BenchStackOptions {
  /** The DATABASE_URL the worker and API get, from the fresh database's (e.g. through a TcpProxy). */
  childDatabaseUrl?: (databaseUrl: string) => string;
  /** Child logs go to .data/<logPrefix>-<name>.log; "bench" by default. */
  logPrefix?: string;
}

/**
 * Starts the dev server, database, fake Graph / OpenAI, then the worker and API (`src/<name>/main.ts`
 * under tsx, NODE_ENV=production, WHATSAPP_PROVIDER=meta at the fake Graph) and waits until the API
 * reports a worker polling. `env` adds to or overrides their environment. Their logs (warnings and
 * up) go to .data/bench-<name>.log, to explain any outlier.
 */
export async function startBenchStack(env: Record<string, string> = {}, options: BenchStackOptions = {}): Promise<BenchStack> {
  const temporal = await benchTemporal();
  const databaseUrl = `postgres://postgres@127.0.0.1:5432/whatsapp_bench_${Date.now()}`;
  await migrateToLatest(databaseUrl);
  const graph = await new FakeGraph().start();
  const llm = await new FakeOpenAI().start();

  // An external Temporal is reached with the TEMPORAL_TLS* / TEMPORAL_API_KEY of this environment (the
  // worker and API inherit them); the bench's own dev server speaks plain gRPC, so they are cleared for it.
  const tlsEnv = Object.fromEntries(TEMPORAL_TLS_ENV.map((name) => [name, temporal.external ? (process.env[name] ?? '') : '']));
  const admin = await Connection.connect(temporalConnectionOptions(parseConfig({ TEMPORAL_ADDRESS: temporal.address, ...tlsEnv })));
  await registerSearchAttributes(admin, temporal.namespace, allSearchAttributeKeys);
  const client = new Client({ connection: admin, namespace: temporal.namespace });
  const port = await freePort();
  // The real entry points, as separate processes: the topology production runs.
  const childEnv = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    DATABASE_URL: options.childDatabaseUrl?.(databaseUrl) ?? databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    ...tlsEnv,
    TEMPORAL_NAMESPACE: temporal.namespace,
    TEMPORAL_TASK_QUEUE: 'bench',
    WHATSAPP_PROVIDER: 'meta',
    WHATSAPP_API_BASE_URL: graph.url,
    WHATSAPP_PHONE_NUMBER_ID: 'BENCH',
    WHATSAPP_ACCESS_TOKEN: 'bench-token',
    WHATSAPP_APP_SECRET: WEBHOOK_SECRET,
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: `${llm.url}/v1`,
    API_KEYS: `${ADMIN_KEY}:admin`,
    JWT_SECRET: 'bench-jwt-secret-0123456789abcdef0123456789',
    // The bench measures the pipeline, not the limits: neither the API's nor the per-user one may bite.
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_PER_HOUR: '100000000',
    INBOUND_RATE_LIMIT_MESSAGES: '1000000',
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    ...env,
  };
  mkdirSync(path.join(ROOT, '.data'), { recursive: true });
  const spawnChild = (name: 'worker' | 'api', logFlags: 'w' | 'a') => {
    const child = spawn(process.execPath, [...profileArgs(name), '--import', 'tsx', `src/${name}/main.ts`], {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', openSync(path.join(ROOT, '.data', `${options.logPrefix ?? 'bench'}-${name}.log`), logFlags), 'inherit'],
    });
    started.push(child);
    return child;
  };
  const [worker, api] = [spawnChild('worker', 'w'), spawnChild('api', 'w')];
  const apiUrl = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      const health = await fetch(`${apiUrl}/health`);
      if (health.status !== 200 || !(await health.text()).includes('polling')) throw new Error('worker and API did not come up');
    },
    60_000,
    250,
  );

  const request: BenchStack['request'] = async (method, urlPath, body) => {
    const res = await fetch(`${apiUrl}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));
  const restart: BenchStack['restart'] = async (name, signal = 'SIGKILL') => {
    const old = stack[name];
    old.kill(signal);
    await exited(old);
    stack[name] = spawnChild(name, 'a');
    return stack[name];
  };

  const stop = async () => {
    const children = [stack.worker, stack.api];
    for (const child of children) {
      child.kill('SIGTERM');
      // A worker mid-activity drains first; one that does not exit in time is killed.
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    }
    await Promise.all(children.map(exited));
    await admin.close();
    await Promise.all([graph.stop(), llm.stop()]);
    await temporal.stop();
    const name = new URL(databaseUrl).pathname.slice(1);
    const pgAdmin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await pgAdmin.connect();
    await pgAdmin.query(`drop database if exists "${name}" with (force)`);
    await pgAdmin.end();
  };

  const stack: BenchStack = { temporal, databaseUrl, graph, llm, client, apiUrl, worker, api, childEnv, restart, request, stop };
  return stack;
}

/**
 * bench/results/latest.md holds `npm run bench`'s figures followed by "## " sections other benches
 * own (e.g. "## Campaign send rate"). Each writer replaces only its own part and keeps the rest.
 */
const LATEST_MD = path.join(RESULTS_DIR, 'latest.md');

function splitSections(text: string): { head: string; sections: Map<string, string> } {
  const parts = text.split(/^(?=## )/m);
  const head = parts[0]!.startsWith('## ') ? '' : parts.shift()!;
  const sections = new Map<string, string>();
  for (const part of parts) sections.set(part.slice(3, part.indexOf('\n') < 0 ? undefined : part.indexOf('\n')).trim(), part);
  return { head, sections };
}

const readLatest = () => (existsSync(LATEST_MD) ? readFileSync(LATEST_MD, 'utf8') : '');
const joinSections = (head: string, sections: Iterable<string>) =>
  [head, ...sections]
    .filter((s) => s.trim() !== '')
    .map((s) => s.replace(/\n*$/, '\n'))
    .join('\n');

/** Writes the main figures (`npm run bench`), keeping the other benches' sections after them. */
export function writeLatestHead(md: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const { sections } = splitSections(readLatest());
  writeFileSync(LATEST_MD, sections.size === 0 ? md : joinSections(md, sections.values()));
}

/** Appends, or replaces in place, the section `## <title>`; the rest of the file is kept. */
export function writeLatestSection(title: string, body: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const { head, sections } = splitSections(readLatest());
  sections.set(title, `## ${title}\n\n${body}`);
  writeFileSync(LATEST_MD, joinSections(head, sections.values()));
}
