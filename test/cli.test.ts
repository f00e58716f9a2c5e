import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { FakeGraph } from './helpers/fake-graph';
import { FakeOpenAI } from './helpers/fake-openai';

// The management commands as an operator runs them: a child process, its stdout lines and exit code,
// against this run's Postgres and Temporal and loopback stand-ins for Graph and the LLM.
const ROOT = path.join(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

let graph: FakeGraph;
let llm: FakeOpenAI;
beforeAll(async () => {
  graph = await new FakeGraph().start();
  llm = await new FakeOpenAI().start();
});
afterAll(async () => {
  await Promise.all([graph?.stop(), llm?.stop()]);
});

function workingEnv(): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: process.env.TEST_DATABASE_URL!,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
    TEMPORAL_NAMESPACE: 'default',
    WHATSAPP_PROVIDER: 'meta',
    WHATSAPP_API_BASE_URL: graph.url,
    WHATSAPP_PHONE_NUMBER_ID: 'PNID',
    WHATSAPP_ACCESS_TOKEN: 'graph-token',
    WHATSAPP_APP_SECRET: 'app-secret',
    WHATSAPP_VERIFY_TOKEN: 'verify-me',
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: `${llm.url}/v1`,
    OPENAI_MODEL: 'test-model',
  };
}

interface CliRun {
  code: number;
  lines: string[];
  stderr: string;
}

function cli(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  return new Promise((resolve) => {
    // Only what is given here: nothing from the test process's own environment leaks into the config.
    const childEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
    execFile(TSX, ['src/cli/main.ts', ...args], { cwd: ROOT, env: childEnv, timeout: 45_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, lines: stdout.trim().split('\n'), stderr });
    });
  });
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

test('validate-config passes line by line against a working setup', async () => {
  const run = await cli(['validate-config'], workingEnv());
  expect(run.lines).toEqual([
    expect.stringMatching(/^PASS config: environment parsed \(test; WhatsApp provider meta;/),
    expect.stringMatching(/^PASS database: connected to 127\.0\.0\.1:\d+\/whatsapp_test_/),
    expect.stringMatching(/^PASS migrations: up to date \(\d+ applied, latest /),
    `PASS temporal: ${process.env.TEST_TEMPORAL_ADDRESS} reachable, namespace default exists`,
    expect.stringMatching(
      /^PASS search attributes: WhatsAppPhone, ChatMode, NeedsHuman, LastInboundAt, ConversationStatus, AssignedTo, CampaignId, LeadId registered on default$/,
    ),
    'PASS whatsapp: meta: the access token works; phone number id PNID is +1 555-000-0000 (Test Business)',
    expect.stringMatching(/^PASS webhook: /),
    `PASS llm: ${llm.url}/v1 answered a one-token test call with model test-model`,
    'OK: 8 passed, 0 warned, 0 failed, 0 skipped',
  ]);
  expect(run.code).toBe(0);
  // Read-only checks: the number was looked up with the token, nothing was sent.
  expect(graph.lookups.at(-1)).toEqual({ url: '/PNID?fields=display_phone_number,verified_name', authorization: 'Bearer graph-token' });
  expect(graph.sends).toHaveLength(0);
  expect(llm.requests.at(-1)).toMatchObject({ model: 'test-model', max_tokens: 1 });
});

test('an unreachable database fails its check with the reason; the other checks still run', async () => {
  const port = await closedPort();
  const run = await cli(['validate-config'], { ...workingEnv(), DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${port}/whatsapp` });
  expect(run.lines).toContain(`FAIL database: cannot connect to 127.0.0.1:${port}/whatsapp (ECONNREFUSED)`);
  expect(run.lines).toContain('SKIP migrations: not checked without a database connection');
  expect(run.lines.filter((l) => l.startsWith('PASS temporal') || l.startsWith('PASS whatsapp') || l.startsWith('PASS llm'))).toHaveLength(3);
  expect(run.lines.at(-1)).toBe('FAILED: 6 passed, 0 warned, 1 failed, 1 skipped (database)');
  expect(run.lines.join('\n')).not.toContain('secret');
  expect(run.code).toBe(1);
});

test('a token Graph refuses fails the whatsapp check with Graph’s error', async () => {
  graph.faults.push(FakeGraph.graphError(401, 190, 'Invalid OAuth access token - Cannot parse access token'));
  const run = await cli(['validate-config'], { ...workingEnv(), WHATSAPP_ACCESS_TOKEN: 'expired-token' });
  expect(run.lines).toContain(
    'FAIL whatsapp: meta: Graph API refused WHATSAPP_ACCESS_TOKEN (401 code 190: Invalid OAuth access token - Cannot parse access token)',
  );
  expect(run.lines.at(-1)).toMatch(/^FAILED: .* \(whatsapp\)$/);
  expect(run.code).toBe(1);
});

test('a bad value fails naming the variable; the console provider and a missing LLM key pass with a warning', async () => {
  const bad = await cli(['validate-config'], { ...workingEnv(), DEBOUNCE_MS: 'soon' });
  expect(bad.lines[0]).toMatch(/^FAIL config: DEBOUNCE_MS /);
  expect(bad.lines).toContain('SKIP connections: not checked until the configuration parses');
  expect(bad.code).toBe(1);

  const local = await cli(['validate-config'], { ...workingEnv(), WHATSAPP_PROVIDER: 'console', WHATSAPP_ACCESS_TOKEN: '', OPENAI_API_KEY: '' });
  expect(local.lines).toContain('PASS whatsapp: console provider: outbound messages are logged and stored, nothing leaves the machine');
  expect(local.lines).toContainEqual(expect.stringMatching(/^WARN llm: OPENAI_API_KEY is not set/));
  expect(local.lines.at(-1)).toBe('OK: 6 passed, 1 warned, 0 failed, 0 skipped');
  expect(local.code).toBe(0);
});

test('Twilio credentials are checked with basic auth against the account resource', async () => {
  // Twilio's GET /2010-04-01/Accounts/{sid}.json, answering like Twilio for right and wrong credentials.
  const sid = 'AC0123456789abcdef0123456789abcdef';
  const server = http.createServer((req, res) => {
    const ok = req.url === `/2010-04-01/Accounts/${sid}.json` && req.headers.authorization === `Basic ${Buffer.from(`${sid}:right-token`).toString('base64')}`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { sid, friendly_name: 'Shop', status: 'active' } : { code: 20003, message: 'Authenticate', status: 401 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const twilio = {
    ...workingEnv(),
    WHATSAPP_PROVIDER: 'twilio',
    TWILIO_API_BASE_URL: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    TWILIO_ACCOUNT_SID: sid,
    TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886',
  };
  try {
    const good = await cli(['validate-config'], { ...twilio, TWILIO_AUTH_TOKEN: 'right-token' });
    expect(good.lines).toContain(`PASS whatsapp: twilio: account ${sid} "Shop" is active; sending from whatsapp:+14155238886`);
    expect(good.code).toBe(0);
    const bad = await cli(['validate-config'], { ...twilio, TWILIO_AUTH_TOKEN: 'wrong-token' });
    expect(bad.lines).toContain('FAIL whatsapp: twilio: Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (401 code 20003: Authenticate)');
    expect(bad.code).toBe(1);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('test-whatsapp sends one text through the configured provider, or says why not', async () => {
  const run = await cli(['test-whatsapp', '--phone', '+1 415 523 8886', '--message', 'hi'], workingEnv());
  const sent = graph.sentTo('14155238886');
  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatchObject({ text: 'hi', phoneNumberId: 'PNID', authorization: 'Bearer graph-token' });
  expect(run.lines).toEqual([`PASS sent to +14155238886 via meta (message id ${sent[0]!.wamid})`]);
  expect(run.code).toBe(0);

  const invalid = await cli(['test-whatsapp', '--phone', '12345', '--message', 'hi'], workingEnv());
  expect(invalid.lines[0]).toMatch(/^FAIL phone: Phone number 12345 is too short/);
  expect(invalid.code).toBe(1);

  graph.faults.push(FakeGraph.graphError(400, 131047, 'Re-engagement message'));
  const refused = await cli(['test-whatsapp', '--phone', '+919876543210'], workingEnv());
  expect(refused.lines).toEqual([
    'FAIL not sent to +919876543210 via meta: Graph API 400 code 131047: Re-engagement message (the number has not written to you in the last 24 hours, so WhatsApp only accepts a template)',
  ]);
  expect(refused.code).toBe(1);
  expect(graph.sends).toHaveLength(1);
});
