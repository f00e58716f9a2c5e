/**
 * `npm run temporal:cluster [start|stop|status|reset]`: a real multi-service Temporal cluster on
 * this machine's Postgres, for benchmarking against something shaped like production rather than
 * the single-process dev server (issue 16 item 6): Temporal server v1.29.1, the frontend, history,
 * matching and worker services as four separate processes, Postgres persistence, SQL visibility
 * and 4 history shards.
 *
 *   npm run temporal:cluster            # start (idempotent), prints the frontend address and PIDs
 *   BENCH_TEMPORAL_ADDRESS=127.0.0.1:7933 npm run bench
 *   npm run temporal:cluster -- stop    # stops the four processes, keeps the databases
 *   npm run temporal:cluster -- reset   # stops them and drops both databases (next start is fresh)
 *
 * The server and its SQL tool are built once with `go install` into .tools/bin (like the CLI in
 * scripts/temporal-cli.ts). Databases: temporal_bench and temporal_bench_visibility, created and
 * migrated with the SQL tool's embedded schemas on every start (a no-op when up to date).
 * Config, PIDs and one log per service live in .data/temporal-cluster/. The config follows the
 * server module's config/development-postgres12.yaml, with ports moved off the dev server's
 * (7233/7243) and below the ephemeral range the tests pick random ports from.
 *
 * Postgres: TEMPORAL_CLUSTER_PG_HOST (127.0.0.1), TEMPORAL_CLUSTER_PG_PORT (5432),
 * TEMPORAL_CLUSTER_PG_USER (postgres), TEMPORAL_CLUSTER_PG_PASSWORD (empty).
 * TEMPORAL_CLUSTER_LOG_LEVEL (warn) sets the services' log level.
 * Search attributes are not registered here: the product's worker adds its six at start
 * (SQL visibility allows 10 Keyword, 3 Bool and 3 Datetime custom attributes per namespace).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { ROOT, ensureTemporalCli, isListening } from './temporal-cli';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const BIN_DIR = path.join(ROOT, '.tools', 'bin');
const SERVER_BIN = path.join(BIN_DIR, 'temporal-server');
const SQL_BIN = path.join(BIN_DIR, 'temporal-sql-tool');
const DIR = path.join(ROOT, '.data', 'temporal-cluster');
const CONFIG_DIR = 'config';
const ENV_NAME = 'bench';
const PIDS_FILE = path.join(DIR, 'pids.json');

const HOST = '127.0.0.1';
/** gRPC and membership (ringpop) ports per service; the frontend's HTTP API is on 7943. */
const SERVICES = {
  history: { grpcPort: 7934, membershipPort: 6934 },
  matching: { grpcPort: 7935, membershipPort: 6935 },
  frontend: { grpcPort: 7933, membershipPort: 6933, httpPort: 7943 },
  worker: { grpcPort: 7939, membershipPort: 6939 },
} as const;
type Service = keyof typeof SERVICES;
const SERVICE_NAMES = Object.keys(SERVICES) as Service[];
export const CLUSTER_ADDRESS = `${HOST}:${SERVICES.frontend.grpcPort}`;

const PG = {
  host: process.env.TEMPORAL_CLUSTER_PG_HOST ?? '127.0.0.1',
  port: Number(process.env.TEMPORAL_CLUSTER_PG_PORT ?? 5432),
  user: process.env.TEMPORAL_CLUSTER_PG_USER ?? 'postgres',
  password: process.env.TEMPORAL_CLUSTER_PG_PASSWORD ?? '',
};
const DATABASES = [
  { name: 'temporal_bench', schema: 'postgresql/v12/temporal' },
  { name: 'temporal_bench_visibility', schema: 'postgresql/v12/visibility' },
] as const;

const say = (line: string) => console.log(`[temporal-cluster] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function onPath(cmd: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
}

function versionOf(binary: string): string | undefined {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return out.status === 0 ? /(\d+\.\d+\.\d+)/.exec(out.stdout)?.[1] : undefined;
}

/** The pinned server and SQL tool, built with `go install` into .tools/bin when absent or another version. */
export function ensureServerBinaries(): { server: string; sql: string } {
  const want = TEMPORAL_SERVER_VERSION.slice(1);
  if (versionOf(SERVER_BIN) === want && versionOf(SQL_BIN) === want) return { server: SERVER_BIN, sql: SQL_BIN };
  const go = onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) throw new Error('Building the Temporal server needs Go (https://go.dev/dl) on PATH.');
  say(`building Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool into .tools/bin with go install (first run only, several minutes)...`);
  const gobin = path.join(ROOT, '.tools', `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  mkdirSync(gobin, { recursive: true });
  mkdirSync(BIN_DIR, { recursive: true });
  const built = spawnSync(
    go,
    ['install', `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`, `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`],
    { env: { ...process.env, GOBIN: gobin }, stdio: 'inherit' },
  );
  if (built.status !== 0) throw new Error('go install of the Temporal server failed (see above)');
  renameSync(path.join(gobin, 'server'), SERVER_BIN);
  renameSync(path.join(gobin, 'sql'), SQL_BIN);
  rmSync(gobin, { recursive: true, force: true });
  return { server: SERVER_BIN, sql: SQL_BIN };
}

function sqlTool(sql: string, db: string, args: string[]): void {
  const common = ['--plugin', 'postgres12', '--ep', PG.host, '-p', String(PG.port), '-u', PG.user, '--db', db];
  if (PG.password) common.push('--pw', PG.password);
  const run = spawnSync(sql, [...common, ...args], { encoding: 'utf8' });
  if (run.status !== 0) {
    throw new Error(`temporal-sql-tool ${args[0]} on ${db} failed:\n${(run.stdout + run.stderr).split('\n').slice(-15).join('\n')}`);
  }
}

/** Creates both databases and brings their schemas to the newest version; safe on existing ones. */
function prepareDatabases(sql: string): void {
  for (const { name, schema } of DATABASES) {
    sqlTool(sql, name, ['create-database']);
    sqlTool(sql, name, ['setup-schema', '-v', '0.0']);
    sqlTool(sql, name, ['update-schema', '--schema-name', schema]);
  }
  say(`databases ${DATABASES.map((d) => d.name).join(' and ')} on ${PG.host}:${PG.port} are at the newest schema`);
}

function sqlStore(databaseName: string, maxConns: number) {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${PG.host}:${PG.port}`,
      connectProtocol: 'tcp',
      user: PG.user,
      password: PG.password,
      // Four processes share one Postgres (100 connections by default) with the product's own pools.
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

/** Writes .data/temporal-cluster/config/bench.yaml and the dynamic config it points to. */
function writeConfig(): void {
  const configDir = path.join(DIR, CONFIG_DIR);
  mkdirSync(configDir, { recursive: true });
  const dynamicConfig = path.join(configDir, 'dynamicconfig.yaml');
  const config = {
    log: { stdout: true, level: process.env.TEMPORAL_CLUSTER_LOG_LEVEL ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: 4,
      datastores: {
        'postgres-default': sqlStore(DATABASES[0].name, 10),
        'postgres-visibility': sqlStore(DATABASES[1].name, 5),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: HOST } },
    services: Object.fromEntries(SERVICE_NAMES.map((s) => [s, { rpc: { ...SERVICES[s], bindOnLocalHost: true } }])),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: CLUSTER_ADDRESS } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    publicClient: { hostPort: CLUSTER_ADDRESS },
    dynamicConfigClient: { filepath: dynamicConfig, pollInterval: '10s' },
  };
  writeFileSync(
    path.join(configDir, `${ENV_NAME}.yaml`),
    `# Written by scripts/temporal-cluster.ts on every start; edit the script, not this file.\n${stringify(config)}`,
  );
  // Production defaults otherwise (the server's docker image ships an empty file); the server
  // re-reads this file every 10 s, so limits can be tuned here while a bench runs.
  writeFileSync(
    dynamicConfig,
    '# Written by scripts/temporal-cluster.ts. Values the product relies on (equal to the 1.29 defaults).\n' +
      stringify({
        'frontend.enableUpdateWorkflowExecution': [{ value: true }],
        'frontend.enableExecuteMultiOperation': [{ value: true }],
      }),
  );
}

type Pids = Partial<Record<Service, number>>;

function readPids(): Pids {
  try {
    return JSON.parse(readFileSync(PIDS_FILE, 'utf8')) as Pids;
  } catch {
    return {};
  }
}

/** True when pid is alive and is one of this cluster's server processes (not a recycled PID). */
function isOurs(pid: number | undefined): pid is number {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(DIR);
  } catch (err) {
    // No /proc (macOS): alive is the best we can tell.
    return (err as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync('/proc/self');
  }
}

function logTail(service: Service, lines = 20): string {
  try {
    return readFileSync(path.join(DIR, `${service}.log`), 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .join('\n');
  } catch {
    return '(no log)';
  }
}

function temporalCli(cli: string, args: string[]) {
  return spawnSync(cli, [...args, '--address', CLUSTER_ADDRESS], { encoding: 'utf8', timeout: 15_000 });
}

async function start(): Promise<void> {
  const pids = readPids();
  const running = SERVICE_NAMES.filter((s) => isOurs(pids[s]));
  if (running.length === SERVICE_NAMES.length) {
    say(`already running: ${describe(pids)}`);
    say(`frontend: ${CLUSTER_ADDRESS}`);
    return;
  }
  if (running.length > 0) {
    say(`only ${running.join(', ')} running; restarting all four`);
    await stop();
  }
  for (const s of SERVICE_NAMES) {
    for (const port of Object.values(SERVICES[s])) {
      if (await isListening(HOST, port)) throw new Error(`port ${port} (for ${s}) is taken by another process; stop it first`);
    }
  }
  const { server, sql } = ensureServerBinaries();
  const cli = ensureTemporalCli(say);
  prepareDatabases(sql);
  writeConfig();

  const started: Pids = {};
  for (const s of SERVICE_NAMES) {
    const log = openSync(path.join(DIR, `${s}.log`), 'a');
    const child = spawn(server, ['--root', DIR, '--config', CONFIG_DIR, '--env', ENV_NAME, '--allow-no-auth', 'start', '--service', s], {
      cwd: DIR,
      detached: true,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    child.unref();
    started[s] = child.pid;
  }
  writeFileSync(PIDS_FILE, JSON.stringify(started, null, 2) + '\n');
  say(`started ${describe(started)}; logs in .data/temporal-cluster/<service>.log`);

  const deadline = Date.now() + 120_000;
  for (;;) {
    const dead = SERVICE_NAMES.filter((s) => !isOurs(started[s]));
    if (dead.length > 0) {
      await stop();
      throw new Error(`${dead.join(', ')} exited during start:\n${dead.map((s) => `--- ${s}.log\n${logTail(s)}`).join('\n')}`);
    }
    if (temporalCli(cli, ['operator', 'cluster', 'health']).status === 0) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the frontend did not answer on ${CLUSTER_ADDRESS} within 120 s:\n--- frontend.log\n${logTail('frontend')}`);
    }
    await sleep(1000);
  }

  if (temporalCli(cli, ['operator', 'namespace', 'describe', '--namespace', 'default']).status !== 0) {
    const created = temporalCli(cli, ['operator', 'namespace', 'create', '--namespace', 'default', '--retention', '3d']);
    if (created.status !== 0 && !/already/i.test(created.stderr)) throw new Error(`creating namespace default failed: ${created.stderr}`);
    say('created namespace default (retention 3 days)');
    // The other services see a new namespace on their next registry refresh (2 s).
    for (let i = 0; i < 30 && temporalCli(cli, ['operator', 'namespace', 'describe', '--namespace', 'default']).status !== 0; i++) await sleep(1000);
  }
  say(`ready: frontend ${CLUSTER_ADDRESS}, namespace default, ${describe(started)}`);
  say(`bench against it: BENCH_TEMPORAL_ADDRESS=${CLUSTER_ADDRESS} npm run bench`);
  say('stop it: npm run temporal:cluster -- stop');
}

async function stop(): Promise<void> {
  const pids = readPids();
  const alive = SERVICE_NAMES.filter((s) => isOurs(pids[s]));
  // Frontend first so clients stop arriving; history last so it hands its shards off cleanly.
  const order: Service[] = ['frontend', 'worker', 'matching', 'history'];
  for (const s of order.filter((x) => alive.includes(x))) process.kill(pids[s]!, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (alive.some((s) => isOurs(pids[s])) && Date.now() < deadline) await sleep(250);
  for (const s of alive.filter((x) => isOurs(pids[x]))) {
    say(`${s} (${pids[s]}) did not stop in 20 s; killing it`);
    process.kill(pids[s]!, 'SIGKILL');
  }
  rmSync(PIDS_FILE, { force: true });
  say(alive.length > 0 ? `stopped ${alive.map((s) => `${s} (${pids[s]})`).join(', ')}` : 'not running');
}

async function status(): Promise<void> {
  const pids = readPids();
  for (const s of SERVICE_NAMES) say(`${s.padEnd(8)} ${isOurs(pids[s]) ? `running, pid ${pids[s]}` : 'not running'}`);
  const healthy = await isListening(HOST, SERVICES.frontend.grpcPort);
  say(`frontend ${CLUSTER_ADDRESS} ${healthy ? 'listening' : 'not listening'}`);
  if (!SERVICE_NAMES.every((s) => isOurs(pids[s]))) process.exitCode = 1;
}

async function reset(): Promise<void> {
  await stop();
  const { sql } = ensureServerBinaries();
  for (const { name } of DATABASES) sqlTool(sql, name, ['drop-database', '--force']);
  say(`dropped ${DATABASES.map((d) => d.name).join(' and ')}`);
}

function describe(pids: Pids): string {
  return SERVICE_NAMES.map((s) => `${s} pid ${pids[s]}`).join(', ');
}

if (require.main === module) {
  const command = process.argv[2] ?? 'start';
  const commands: Record<string, () => Promise<void>> = { start, stop, status, reset };
  const run = commands[command];
  if (!run) {
    console.error('usage: npx tsx scripts/temporal-cluster.ts [start|stop|status|reset]');
    process.exit(2);
  }
  run().catch((err: unknown) => {
    console.error(`[temporal-cluster] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
