/**
 * Finds or installs the pinned Temporal CLI (SPEC 3.3) and starts a dev server with it.
 * Shared by `npm run dev`, the test setup and the benchmarks.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const ROOT = path.resolve(__dirname, '..');
const LOCAL_BIN = path.join(ROOT, '.tools', 'bin', 'temporal');

function onPath(cmd: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
}

/** Path of a usable `temporal` binary, building the pinned one into .tools/bin when needed. */
export function ensureTemporalCli(log: (line: string) => void = console.log): string {
  if (process.env.TEMPORAL_CLI_PATH) return process.env.TEMPORAL_CLI_PATH;
  if (existsSync(LOCAL_BIN)) return LOCAL_BIN;
  const system = onPath('temporal');
  if (system) return system;
  const go = onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new Error(
      'The Temporal CLI is needed and neither `temporal` nor Go is on PATH. Install Go (https://go.dev/dl) ' +
        'or the CLI itself (https://docs.temporal.io/cli#install), or set TEMPORAL_CLI_PATH.',
    );
  }
  log(`Building Temporal CLI ${TEMPORAL_CLI_VERSION} into .tools/bin with go install (first run only, a few minutes)...`);
  mkdirSync(path.dirname(LOCAL_BIN), { recursive: true });
  const built = spawnSync(go, ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
    env: { ...process.env, GOBIN: path.dirname(LOCAL_BIN), CGO_ENABLED: '0' },
    stdio: 'inherit',
  });
  if (built.status !== 0 || !existsSync(LOCAL_BIN)) throw new Error('go install of the Temporal CLI failed (see above)');
  return LOCAL_BIN;
}

export function parseAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at) || '127.0.0.1', port: Number(address.slice(at + 1)) };
}

export function isListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

export interface DevServerOptions {
  port: number;
  uiPort?: number;
  /** SQLite file; omitted means in-memory (tests). */
  dbFile?: string;
  logFile?: string;
}

export interface DevServer {
  address: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` and resolves once its frontend answers. */
export async function startDevServer(binary: string, opts: DevServerOptions): Promise<DevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.dbFile) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 60_000;
  while (!(await isListening('127.0.0.1', opts.port))) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not listen on ${opts.port} within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address: `127.0.0.1:${opts.port}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

if (require.main === module) {
  console.log(ensureTemporalCli());
}
