/**
 * The Temporal connection over TLS, mTLS and API keys (issue 13), against the run's real dev server
 * (plain gRPC) behind proxies on loopback that do what a TLS frontend and Temporal Cloud do:
 * - a TLS-terminating proxy with a throwaway CA (openssl), requiring a client certificate (mTLS);
 * - the same without client certificates, with a certificate only for the name temporal.internal;
 * - an HTTP/2 proxy over TLS that forwards gRPC calls only with `authorization: Bearer <key>`.
 * The real worker and API entry points run as processes with the TEMPORAL_TLS* / TEMPORAL_API_KEY
 * settings and answer a chat through them; refused set-ups are shown as the SDK, the worker's log
 * and validate-config report them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { signBody } from '../src/api/webhook/signature';
import { checkTemporal } from '../src/cli/checks';
import { parseConfig } from '../src/config';
import { temporalConnectionOptions } from '../src/temporal/connection-options';
import { freePort } from '../scripts/temporal-cli';
import { eventually } from './helpers/eventually';
import { FakeGraph } from './helpers/fake-graph';
import { FakeOpenAI } from './helpers/fake-openai';
import { GrpcAuthProxy, makePki, TlsTerminatingProxy, type Pki } from './helpers/temporal-tls';
import { randomPhone, webhookBody } from './helpers/webhook-payload';

const ROOT = path.join(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const TEMPORAL = process.env.TEST_TEMPORAL_ADDRESS!;
const APP_SECRET = 'tls-test-app-secret';
const ADMIN_KEY = 'tls-test-admin-key-0123456789';
const TEMPORAL_API_KEY = `tmprl-test-${randomUUID()}`;
const POLL = '/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue';

let pki: Pki;
let mtls: TlsTerminatingProxy;
let named: TlsTerminatingProxy;
let keyed: GrpcAuthProxy;
let graph: FakeGraph;
let llm: FakeOpenAI;
let direct: Connection;
const children: ChildProcess[] = [];

beforeAll(async () => {
  pki = makePki();
  mtls = await new TlsTerminatingProxy(TEMPORAL, { ...pki.server, clientCa: pki.ca }).start();
  named = await new TlsTerminatingProxy(TEMPORAL, pki.namedServer).start();
  keyed = await new GrpcAuthProxy(TEMPORAL, TEMPORAL_API_KEY, pki.server).start();
  graph = await new FakeGraph().start();
  llm = await new FakeOpenAI().start();
  direct = await Connection.connect({ address: TEMPORAL });
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all([mtls?.stop(), named?.stop(), keyed?.stop(), graph?.stop(), llm?.stop(), direct?.close()]);
  pki?.remove();
});

/** The mTLS proxy with the right CA and client certificate; `over` changes or blanks ('') any of it. */
const mtlsEnv = (over: Record<string, string> = {}): Record<string, string> => ({
  TEMPORAL_ADDRESS: mtls.address,
  TEMPORAL_TLS_CA: pki.ca,
  TEMPORAL_TLS_CERT: pki.client.cert,
  TEMPORAL_TLS_KEY: pki.client.key,
  ...over,
});

/** What the worker and API processes need besides the Temporal settings: this run's database, the fakes. */
function appEnv(temporal: Record<string, string>, extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH!,
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    DATABASE_URL: process.env.TEST_DATABASE_URL!,
    TEMPORAL_NAMESPACE: 'default',
    WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE!,
    WORKER_METRICS_PORT: '0',
    WHATSAPP_PROVIDER: 'meta',
    WHATSAPP_API_BASE_URL: graph.url,
    WHATSAPP_PHONE_NUMBER_ID: 'PNID',
    WHATSAPP_ACCESS_TOKEN: 'graph-token',
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: 'verify-me',
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: `${llm.url}/v1`,
    OPENAI_MODEL: 'test-model',
    API_KEYS: `${ADMIN_KEY}:admin`,
    DEBOUNCE_MS: '100',
    DEBOUNCE_MAX_WAIT_MS: '1000',
    ...temporal,
    ...extra,
  };
}

/** src/<name>/main.ts as its own process, as `npm run worker` / `npm run api` start it; its output kept. */
function startProcess(name: 'worker' | 'api', env: Record<string, string>): { log: () => string; exited: Promise<number | null>; stop: () => Promise<void> } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', name, 'main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  children.push(child);
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  return {
    log: () => output,
    exited,
    // SIGKILL: a worker still waiting for Temporal does not stop on SIGTERM (the SDK's runtime holds the signal).
    stop: async () => {
      if (child.exitCode === null && !child.signalCode) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * The real worker and API with these Temporal settings: /ready (Temporal reachable, namespace and
 * search attributes there, a worker polling) and a chat answered end to end. Returns their logs.
 */
async function chatRoundTrip(temporal: Record<string, string>): Promise<{ workerLog: string; apiLog: string }> {
  const prefix = `tls${randomUUID().slice(0, 6)}-`;
  const port = await freePort();
  const env = appEnv(temporal, { TEMPORAL_TASK_QUEUE: `tls-${randomUUID()}`, TEMPORAL_ID_PREFIX: prefix, PORT: String(port) });
  const worker = startProcess('worker', env);
  const api = startProcess('api', env);
  const waId = randomPhone();
  try {
    const base = `http://127.0.0.1:${port}`;
    await eventually(async () => {
      const ready = await fetch(`${base}/ready`);
      expect({ status: ready.status, body: await ready.json() }).toMatchObject({ status: 200, body: { status: 'ready', checks: { temporal: 'connected' } } });
    }, 60_000);
    const body = JSON.stringify(webhookBody({ messages: [{ from: waId, text: `hello over ${prefix}` }] }));
    const res = await fetch(`${base}/webhooks/whatsapp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, APP_SECRET) },
      body,
    });
    expect(res.status).toBe(200);
    await eventually(() => expect(graph.sentTo(waId).map((s) => s.text)).toEqual([`Reply to: hello over ${prefix}`]), 30_000);
    return { workerLog: worker.log(), apiLog: api.log() };
  } finally {
    await Promise.all([worker.stop(), api.stop()]);
    // What the processes left in the shared namespace: the chat, and the worker's sweep Schedule.
    const client = new Client({ connection: direct });
    await client.workflow
      .getHandle(`${prefix}chat-${waId}`)
      .terminate('test over')
      .catch(() => undefined);
    await client.schedule
      .getHandle(`${prefix}lead-overdue-sweep`)
      .delete()
      .catch(() => undefined);
  }
}

/** validate-config's Temporal lines for these settings (the same checks `npm run cli -- validate-config` prints). */
async function temporalCheck(temporal: Record<string, string>): Promise<string[]> {
  const results = await checkTemporal(parseConfig({ TEMPORAL_NAMESPACE: 'default', ...temporal }));
  return results.map((r) => `${r.status} ${r.name}: ${r.detail}`);
}

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; lines: string[] }> {
  return new Promise((resolve) => {
    execFile(TSX, ['src/cli/main.ts', ...args], { cwd: ROOT, env, timeout: 45_000 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, lines: stdout.trim().split('\n') });
    });
  });
}

describe('mTLS through a TLS-terminating proxy that requires a client certificate', () => {
  test('the real worker and API connect with TEMPORAL_TLS_CA/CERT/KEY and answer a chat through it', async () => {
    const handshakes = mtls.peers.length;
    const { workerLog, apiLog } = await chatRoundTrip(mtlsEnv());
    // The worker's namespace check, its native connection and the API's client: all through the proxy, with the certificate.
    const peers = mtls.peers.slice(handshakes);
    expect(peers.length).toBeGreaterThanOrEqual(3);
    expect(new Set(peers)).toEqual(new Set(['whatsapp-worker']));
    expect(workerLog).toContain(`${mtls.address} over TLS (server checked against the CA in ${pki.ca}; client certificate CN=whatsapp-worker`);
    expect(apiLog).toContain('client certificate CN=whatsapp-worker');
    // Names and subjects are logged, never what the files hold.
    const key = pki.read(pki.client.key).toString();
    for (const log of [workerLog, apiLog]) {
      expect(log).not.toContain(key.split('\n')[1]);
      expect(log).not.toContain('PRIVATE KEY');
    }
  }, 120_000);

  test('validate-config passes over mTLS', async () => {
    const run = await cli(['validate-config'], appEnv(mtlsEnv(), {}));
    expect(run.lines.filter((l) => !l.startsWith('PASS'))).toEqual([expect.stringMatching(/^OK: /)]);
    expect(run.lines).toContain(`PASS temporal: ${mtls.address} reachable over mTLS with a client certificate, namespace default exists`);
    expect(run.lines).toContainEqual(expect.stringMatching(/^PASS search attributes: /));
    expect(run.lines[0]).toContain(
      `Temporal ${mtls.address} over TLS (server checked against the CA in ${pki.ca}; client certificate CN=whatsapp-worker, valid until `,
    );
    expect(run.code).toBe(0);
  }, 60_000);

  test('validate-config warns two weeks ahead of the client certificate expiring', async () => {
    const lines = await temporalCheck(mtlsEnv({ TEMPORAL_TLS_CERT: pki.expiringClient.cert, TEMPORAL_TLS_KEY: pki.expiringClient.key }));
    expect(lines[0]).toMatch(/^WARN temporal tls: the client certificate in TEMPORAL_TLS_CERT expires on \d{4}-\d\d-\d\d \(in [23] days\); renew it$/);
    expect(lines[1]).toBe(`PASS temporal: ${mtls.address} reachable over mTLS with a client certificate, namespace default exists`);
  });

  test('without a client certificate the proxy refuses the handshake: what the SDK, the worker and validate-config say', async () => {
    const noCert = mtlsEnv({ TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: '' });
    const options = temporalConnectionOptions(parseConfig(noCert));
    expect(options.tls).toEqual({ serverRootCACertificate: pki.read(pki.ca) });
    const refusedBefore = mtls.refused.length;

    // The API's client (grpc-js) only times out; the worker's native connection says the connection closed.
    await expect(Connection.connect({ ...options, connectTimeout: 2000 })).rejects.toThrow('Failed to connect before the deadline');
    await expect(NativeConnection.connect(options)).rejects.toThrow(/connection closed|transport error/);
    expect(mtls.refused.slice(refusedBefore)).toContain('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');

    // The worker's log and validate-config name the cause and the settings that fix it.
    const worker = startProcess('worker', appEnv(noCert, { TEMPORAL_TASK_QUEUE: `tls-${randomUUID()}` }));
    await eventually(
      () => expect(worker.log()).toContain('Temporal does not answer yet (TLS handshake failed: the server requires a client certificate (mTLS)'),
      30_000,
    );
    expect(worker.log()).toContain('set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY); retrying');
    await worker.stop();

    expect(await temporalCheck(noCert)).toEqual([
      `FAIL temporal: ${mtls.address}: TLS handshake failed: the server requires a client certificate (mTLS) (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED); set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY`,
      'SKIP search attributes: Temporal is not reachable',
    ]);
  }, 60_000);

  test('a client certificate from a CA the server does not trust is refused', async () => {
    const stranger = mtlsEnv({ TEMPORAL_TLS_CERT: pki.strangerClient.cert, TEMPORAL_TLS_KEY: pki.strangerClient.key });
    await expect(NativeConnection.connect(temporalConnectionOptions(parseConfig(stranger)))).rejects.toThrow();
    expect(await temporalCheck(stranger)).toEqual([
      // Node's TLS server drops such a client without an alert (Go's, Temporal's own, sends bad_certificate: see explainTlsFailure).
      `FAIL temporal: ${mtls.address}: the server closed the TLS connection (ECONNRESET); it may not take the client certificate in TEMPORAL_TLS_CERT`,
      'SKIP search attributes: Temporal is not reachable',
    ]);
  });
});

describe("the server's certificate", () => {
  test('a wrong CA in TEMPORAL_TLS_CA, or none for a private CA, is refused and said so', async () => {
    const wrongCa = mtlsEnv({ TEMPORAL_TLS_CA: pki.otherCa });
    const options = temporalConnectionOptions(parseConfig(wrongCa));
    await expect(Connection.connect({ ...options, connectTimeout: 2000 })).rejects.toThrow('Failed to connect before the deadline');
    await expect(NativeConnection.connect(options)).rejects.toThrow(/InvalidCertificate\(UnknownIssuer\)/);
    expect(await temporalCheck(wrongCa)).toEqual([
      // The proxy sends its CA along with its certificate, so the chain ends in a CA the client does not know.
      `FAIL temporal: ${mtls.address}: TLS handshake failed: the server's certificate is not signed by the CA in TEMPORAL_TLS_CA (SELF_SIGNED_CERT_IN_CHAIN)`,
      'SKIP search attributes: Temporal is not reachable',
    ]);
    // System roots (no TEMPORAL_TLS_CA) do not know a private CA.
    expect((await temporalCheck(mtlsEnv({ TEMPORAL_TLS_CA: '' })))[0]).toBe(
      `FAIL temporal: ${mtls.address}: TLS handshake failed: the server's certificate is not signed by a CA this system trusts (SELF_SIGNED_CERT_IN_CHAIN); for a private CA set TEMPORAL_TLS_CA`,
    );
  });

  test('a certificate for another name needs TEMPORAL_TLS_SERVER_NAME, and works with it (TLS without a client certificate)', async () => {
    const byAddress = { TEMPORAL_ADDRESS: named.address, TEMPORAL_TLS_CA: pki.ca };
    expect((await temporalCheck(byAddress))[0]).toBe(
      `FAIL temporal: ${named.address}: TLS handshake failed: the server's certificate is not for 127.0.0.1 (IP: 127.0.0.1 is not in the cert's list: ); set TEMPORAL_TLS_SERVER_NAME to a name it carries`,
    );
    await expect(NativeConnection.connect(temporalConnectionOptions(parseConfig(byAddress)))).rejects.toThrow(/NotValidForName/);

    const byName = { ...byAddress, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' };
    const options = temporalConnectionOptions(parseConfig(byName));
    expect(options.tls).toEqual({ serverNameOverride: 'temporal.internal', serverRootCACertificate: pki.read(pki.ca) });
    const client = await Connection.connect(options);
    const native = await NativeConnection.connect(options);
    try {
      // A workflow call through the proxy from each kind of connection.
      const namespace = await client.workflowService.describeNamespace({ namespace: 'default' });
      expect(namespace.namespaceInfo?.name).toBe('default');
      const nativeClient = new Client({ connection: native });
      await expect(nativeClient.workflow.count()).resolves.toMatchObject({ count: expect.any(Number) });
    } finally {
      await client.close();
      await native.close();
    }
    expect(await temporalCheck(byName)).toEqual([
      `PASS temporal: ${named.address} reachable over TLS, namespace default exists`,
      expect.stringMatching(/^PASS search attributes: /),
    ]);
  });

  test('TLS settings against a plain gRPC port, plain settings against a TLS port, and a refused port are told apart', async () => {
    expect((await temporalCheck({ TEMPORAL_ADDRESS: TEMPORAL, TEMPORAL_TLS: 'true' }))[0]).toBe(
      `FAIL temporal: ${TEMPORAL}: TLS handshake failed: the server does not speak TLS on this port (ERR_SSL_WRONG_VERSION_NUMBER); for a plain gRPC frontend unset TEMPORAL_TLS and the TEMPORAL_TLS_* / TEMPORAL_API_KEY settings`,
    );
    expect((await temporalCheck({ TEMPORAL_ADDRESS: named.address }))[0]).toBe(
      `FAIL temporal: cannot connect to ${named.address} (${named.address} speaks TLS but the app dials plain gRPC: set TEMPORAL_TLS=true (and TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY or TEMPORAL_API_KEY as it needs))`,
    );
    const closed = await freePort();
    expect((await temporalCheck(mtlsEnv({ TEMPORAL_ADDRESS: `127.0.0.1:${closed}` })))[0]).toBe(
      `FAIL temporal: cannot connect to 127.0.0.1:${closed} (ECONNREFUSED)`,
    );
  }, 30_000);
});

describe('TEMPORAL_API_KEY through a gRPC proxy that forwards only calls bearing the key', () => {
  const keyEnv = (key: string) => ({ TEMPORAL_ADDRESS: keyed.address, TEMPORAL_TLS_CA: pki.ca, TEMPORAL_API_KEY: key });

  test('the real worker and API send it on every call and answer a chat', async () => {
    const seen = keyed.calls.length;
    const { workerLog, apiLog } = await chatRoundTrip(keyEnv(TEMPORAL_API_KEY));
    const calls = keyed.calls.slice(seen);
    expect(calls.filter((c) => c.authorization !== `Bearer ${TEMPORAL_API_KEY}`)).toEqual([]);
    const methods = new Set(calls.map((c) => c.method));
    // The worker's native connection polls; the API's client started the chat; the worker's namespace set-up described it.
    expect(methods).toContain(POLL);
    expect(methods).toContain('/temporal.api.workflowservice.v1.WorkflowService/SignalWithStartWorkflowExecution');
    expect(methods).toContain('/temporal.api.operatorservice.v1.OperatorService/ListSearchAttributes');
    expect(workerLog).toContain(`${keyed.address} over TLS (server checked against the CA in ${pki.ca}; API key)`);
    for (const log of [workerLog, apiLog]) expect(log).not.toContain(TEMPORAL_API_KEY);
  }, 120_000);

  test('a wrong key, or none, is refused with UNAUTHENTICATED, and validate-config names the setting without printing it', async () => {
    const wrong = `wrong-${randomUUID()}`;
    const options = temporalConnectionOptions(parseConfig(keyEnv(wrong)));
    expect(options).toMatchObject({ apiKey: wrong, tls: { serverRootCACertificate: pki.read(pki.ca) } });
    await expect(Connection.connect(options)).rejects.toMatchObject({ cause: expect.objectContaining({ code: 16 }) });
    await expect(NativeConnection.connect(options)).rejects.toThrow(/does not have valid authentication credentials/);
    expect(keyed.calls.at(-1)).toEqual({ method: '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo', authorization: `Bearer ${wrong}` });

    const lines = await temporalCheck(keyEnv(wrong));
    expect(lines).toEqual([
      `FAIL temporal: cannot connect to ${keyed.address} (Temporal refused the credentials (16 UNAUTHENTICATED: missing or wrong API key); check TEMPORAL_API_KEY)`,
      'SKIP search attributes: Temporal is not reachable',
    ]);
    expect(lines.join('\n')).not.toContain(wrong);

    // TLS to the same proxy without a key: no authorization header at all.
    await expect(Connection.connect(temporalConnectionOptions(parseConfig({ TEMPORAL_ADDRESS: keyed.address, TEMPORAL_TLS_CA: pki.ca })))).rejects.toThrow();
    expect(keyed.calls.at(-1)).toMatchObject({ authorization: '' });
  });

  test('validate-config passes with the right key', async () => {
    expect(await temporalCheck(keyEnv(TEMPORAL_API_KEY))).toEqual([
      `PASS temporal: ${keyed.address} reachable over TLS with an API key, namespace default exists`,
      expect.stringMatching(/^PASS search attributes: /),
    ]);
  });
});

test('a TLS file that cannot be read stops the worker at start, naming the setting', async () => {
  const worker = startProcess('worker', appEnv(mtlsEnv({ TEMPORAL_TLS_KEY: path.join(pki.dir, 'missing.key') }), { TEMPORAL_TASK_QUEUE: 'never-polled' }));
  expect(await worker.exited).toBe(1);
  expect(worker.log().trim()).toBe(`Invalid configuration: TEMPORAL_TLS_KEY cannot be read: ${path.join(pki.dir, 'missing.key')} (no such file)`);
});
