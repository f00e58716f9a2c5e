import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { SecretBox } from '../src/crypto/secrets';
import { createDb } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrate';
import { sealCredentials } from '../src/numbers/credentials';
import { FakeGraph } from './helpers/fake-graph';
import { FakeOpenAI } from './helpers/fake-openai';
import { FakeTwilio, twilioSid } from './helpers/fake-twilio';

// The management commands as an operator runs them: a child process, its stdout lines and exit code,
// against this run's Postgres server and Temporal and loopback stand-ins for Graph and the LLM.
const ROOT = path.join(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

let graph: FakeGraph;
let llm: FakeOpenAI;
// A database of its own: validate-config checks every number in whatsapp_numbers, and other test
// files add numbers to the run's shared database.
let databaseUrl: string;
beforeAll(async () => {
  graph = await new FakeGraph().start();
  llm = await new FakeOpenAI().start();
  databaseUrl = process.env.TEST_DATABASE_URL!.replace(/\/[^/]+$/, `/whatsapp_test_cli_${process.pid}_${Date.now()}`);
  await migrateToLatest(databaseUrl);
});
afterAll(async () => {
  await Promise.all([graph?.stop(), llm?.stop()]);
  if (databaseUrl && !process.env.KEEP_TEST_DATABASE) {
    const admin = new pg.Client({ connectionString: databaseUrl.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    await admin.query(`drop database if exists "${new URL(databaseUrl).pathname.slice(1)}" with (force)`);
    await admin.end();
  }
});

function workingEnv(): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
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
      /^PASS search attributes: WhatsAppPhone, ChatMode, NeedsHuman, LastInboundAt, ConversationStatus, AssignedTo, BusinessNumber, CampaignId, LeadId registered on default$/,
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
  expect(run.lines).toContain('SKIP numbers: not checked without a migrated database');
  expect(run.lines.at(-1)).toBe('FAILED: 6 passed, 0 warned, 1 failed, 2 skipped (database)');
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

test('validate-config checks each number added at run time: its credentials decrypt and its provider accepts them', async () => {
  const key = Buffer.alloc(32, 9);
  const secrets = new SecretBox(key);
  const sid = twilioSid('AC');
  const twilio = await new FakeTwilio(sid, 'twilio-right-token-0123', '+14155238886').start();
  const goodToken = 'graph-token-of-the-sales-line';
  const refusedToken = 'graph-token-that-has-expired';
  graph.refusedTokens.add(refusedToken);
  const db = createDb(databaseUrl, 2);
  const meta = (token: string) => sealCredentials('meta', { access_token: token }, secrets);
  const tw = (token: string) => sealCredentials('twilio', { account_sid: sid, auth_token: token }, secrets);
  const rows = await db
    .insertInto('whatsapp_numbers')
    .values([
      { phone_number_id: '1111', name: 'Sales', provider: 'meta', credentials_encrypted: meta(goodToken) },
      { phone_number_id: '2222', name: null, provider: 'meta', credentials_encrypted: meta(refusedToken) },
      { phone_number_id: '14155238886', name: 'Twilio line', provider: 'twilio', credentials_encrypted: tw('twilio-right-token-0123') },
      { phone_number_id: '4915123456789', name: null, provider: 'twilio', credentials_encrypted: tw('twilio-right-token-0123') },
      { phone_number_id: '3333', name: 'Old', provider: 'meta', credentials_encrypted: meta(goodToken), enabled: false },
      // Stored by a deployment with another key.
      {
        phone_number_id: '4444',
        name: null,
        provider: 'meta',
        credentials_encrypted: sealCredentials('meta', { access_token: goodToken }, new SecretBox(Buffer.alloc(32, 1))),
      },
    ])
    .returning('id')
    .execute();
  const [sales, expired, owned, notOwned, disabled, otherKey] = rows.map((r) => r.id);
  const env = { ...workingEnv(), TWILIO_API_BASE_URL: twilio.url };
  try {
    const run = await cli(['validate-config'], { ...env, CREDENTIALS_ENCRYPTION_KEY: key.toString('hex') });
    // After the other checks, in id order: one line per number.
    expect(run.lines.slice(8)).toEqual([
      `PASS number ${sales}: meta 1111 "Sales": the access token works; phone number id 1111 is +1 555-000-0000 (Test Business)`,
      `FAIL number ${expired}: meta 2222: token refused by the Graph API (401 code 190: Error validating access token: Session has expired)`,
      `PASS number ${owned}: twilio +14155238886 "Twilio line": account ${sid} accepts the credentials and has +14155238886 ("Test WhatsApp number")`,
      `WARN number ${notOwned}: twilio +4915123456789: account ${sid} accepts the credentials but does not list +4915123456789 among its numbers (only the WhatsApp sandbox's number may be missing there)`,
      `SKIP number ${disabled}: meta 3333 "Old" is disabled`,
      expect.stringMatching(
        new RegExp(
          `^FAIL number ${otherKey}: meta 4444: number ${otherKey}'s credentials: encrypted under another CREDENTIALS_ENCRYPTION_KEY \\(key id \\w+; this process has ${secrets.keyId}\\)$`,
        ),
      ),
      `FAILED: 10 passed, 1 warned, 2 failed, 1 skipped (number ${expired}, number ${otherKey})`,
    ]);
    expect(run.code).toBe(1);
    expect(graph.lookups.filter((l) => l.url.startsWith('/1111?'))).toEqual([
      { url: '/1111?fields=display_phone_number,verified_name', authorization: `Bearer ${goodToken}` },
    ]);
    expect(twilio.lookups.map((l) => l.url)).toContain(`/2010-04-01/Accounts/${sid}/IncomingPhoneNumbers.json?PhoneNumber=%2B14155238886`);
    expect(run.lines.join('\n')).not.toMatch(new RegExp(`${goodToken}|${refusedToken}|twilio-right-token`));

    // Without the key nothing decrypts: every enabled number fails with the one-line reason.
    const keyless = await cli(['validate-config'], env);
    const numberLines = keyless.lines.filter((l) => / number \d+: /.test(l));
    expect(numberLines).toHaveLength(6);
    expect(numberLines).toContain(
      `FAIL number ${sales}: meta 1111 "Sales": number ${sales}'s credentials are encrypted and CREDENTIALS_ENCRYPTION_KEY is not set in this process`,
    );
    expect(numberLines.filter((l) => l.startsWith('FAIL') && l.endsWith('CREDENTIALS_ENCRYPTION_KEY is not set in this process'))).toHaveLength(5);
    expect(numberLines).toContain(`SKIP number ${disabled}: meta 3333 "Old" is disabled`);
    expect(keyless.code).toBe(1);
  } finally {
    await db
      .deleteFrom('whatsapp_numbers')
      .where(
        'id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
    await db.destroy();
    graph.refusedTokens.delete(refusedToken);
    await twilio.stop();
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
