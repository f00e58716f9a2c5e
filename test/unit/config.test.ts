import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkConfig } from '../../src/cli/checks';
import { parseConfig } from '../../src/config';
import { describeTemporalConnection, temporalConnectionOptions } from '../../src/temporal/connection-options';
import { makePki, type Pki } from '../helpers/temporal-tls';
import { webhookLogSettings } from '../../src/api/webhook/webhook-log';

test('defaults follow SPEC 3.2', () => {
  const c = parseConfig({});
  expect(c).toMatchObject({
    PORT: 3000,
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/whatsapp',
    TEMPORAL_ADDRESS: '127.0.0.1:7233',
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: 'whatsapp',
    WHATSAPP_PROVIDER: 'console',
    OPENAI_MODEL: 'gpt-4o-mini',
    DEBOUNCE_MS: 2000,
    DEBOUNCE_MAX_WAIT_MS: 10000,
    API_KEYS: [],
  });
});

test('a WhatsApp token switches the provider to meta, which then needs the phone number id', () => {
  expect(() => parseConfig({ WHATSAPP_ACCESS_TOKEN: 'tok' })).toThrow(
    'Invalid configuration: WHATSAPP_PHONE_NUMBER_ID is required when WHATSAPP_PROVIDER=meta',
  );
  expect(parseConfig({ WHATSAPP_ACCESS_TOKEN: 'tok', WHATSAPP_PHONE_NUMBER_ID: '123' }).WHATSAPP_PROVIDER).toBe('meta');
});

test('production requires the app secret and API keys', () => {
  expect(() => parseConfig({ NODE_ENV: 'production', API_KEYS: 'k'.repeat(20) + ':admin' })).toThrow(/WHATSAPP_APP_SECRET/);
  expect(() => parseConfig({ NODE_ENV: 'production', WHATSAPP_APP_SECRET: 's' })).toThrow(/API_KEYS/);
});

test('API_KEYS are secret:role pairs with a known role and a long secret', () => {
  const keys = parseConfig({ API_KEYS: `${'a'.repeat(16)}:admin, ${'b'.repeat(20)}:viewer` }).API_KEYS;
  expect(keys).toEqual([
    { secret: 'a'.repeat(16), role: 'admin' },
    { secret: 'b'.repeat(20), role: 'viewer' },
  ]);
  expect(() => parseConfig({ API_KEYS: `${'a'.repeat(16)}:root` })).toThrow(/API_KEYS/);
  expect(() => parseConfig({ API_KEYS: 'short:admin' })).toThrow(/API_KEYS/);
});

test('an API key may carry a name (secret:role:name), which audit records show', () => {
  const keys = parseConfig({ API_KEYS: `${'a'.repeat(16)}:operator:helpdesk-bot, ${'c'.repeat(8)}:${'d'.repeat(8)}:viewer` }).API_KEYS;
  expect(keys).toEqual([
    { secret: 'a'.repeat(16), role: 'operator', name: 'helpdesk-bot' },
    // A colon inside the secret is kept when no name follows the role.
    { secret: `${'c'.repeat(8)}:${'d'.repeat(8)}`, role: 'viewer' },
  ]);
  expect(() => parseConfig({ API_KEYS: `${'a'.repeat(16)}:operator:no spaces` })).toThrow(/API_KEYS/);
  expect(() => parseConfig({ API_KEYS: `${'a'.repeat(16)}:root:name` })).toThrow(/API_KEYS/);
});

test('bad values name the variable', () => {
  expect(() => parseConfig({ PORT: 'eighty' })).toThrow(/^Invalid configuration: PORT /);
  expect(() => parseConfig({ DEBOUNCE_MS: '5000', DEBOUNCE_MAX_WAIT_MS: '1000' })).toThrow(/DEBOUNCE_MAX_WAIT_MS/);
  expect(() => parseConfig({ DATABASE_URL: 'not a url' })).toThrow(/DATABASE_URL/);
});

test('production requires a JWT secret of 32+ characters for user sign-in', () => {
  const prod = { NODE_ENV: 'production', WHATSAPP_APP_SECRET: 's', API_KEYS: 'k'.repeat(20) + ':admin' };
  expect(() => parseConfig(prod)).toThrow('Invalid configuration: JWT_SECRET is required when NODE_ENV=production');
  expect(() => parseConfig({ ...prod, JWT_SECRET: 'short' })).toThrow('Invalid configuration: JWT_SECRET must be at least 32 characters');
  expect(parseConfig({ ...prod, JWT_SECRET: 'j'.repeat(32) }).JWT_SECRET).toBe('j'.repeat(32));
});

test('the first admin needs both email and a 10+ character password', () => {
  expect(() => parseConfig({ ADMIN_EMAIL: 'a@b.co' })).toThrow(/ADMIN_PASSWORD/);
  expect(() => parseConfig({ ADMIN_EMAIL: 'a@b.co', ADMIN_PASSWORD: 'short' })).toThrow('Invalid configuration: ADMIN_PASSWORD must be at least 10 characters');
  expect(parseConfig({ ADMIN_EMAIL: 'a@b.co', ADMIN_PASSWORD: 'long enough pw' }).ADMIN_EMAIL).toBe('a@b.co');
});

test('the twilio provider needs its account, token and sender number', () => {
  expect(() => parseConfig({ WHATSAPP_PROVIDER: 'twilio' })).toThrow('Invalid configuration: TWILIO_ACCOUNT_SID is required when WHATSAPP_PROVIDER=twilio');
  expect(() => parseConfig({ WHATSAPP_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: 't' })).toThrow(/TWILIO_WHATSAPP_FROM/);
  const c = parseConfig({ WHATSAPP_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: 't', TWILIO_WHATSAPP_FROM: '+14155238886' });
  expect(c).toMatchObject({ WHATSAPP_PROVIDER: 'twilio', TWILIO_API_BASE_URL: 'https://api.twilio.com' });
});

test('limits have seed defaults and a body limit must look like a size', () => {
  expect(parseConfig({})).toMatchObject({
    RATE_LIMIT_PER_MINUTE: 100,
    RATE_LIMIT_PER_HOUR: 6000,
    REQUEST_BODY_LIMIT: '256kb',
    INBOUND_RATE_LIMIT_MESSAGES: 10,
    INBOUND_RATE_LIMIT_WINDOW_MS: 60_000,
  });
  expect(() => parseConfig({ REQUEST_BODY_LIMIT: 'huge' })).toThrow(/^Invalid configuration: REQUEST_BODY_LIMIT must look like/);
  expect(() => parseConfig({ RATE_LIMIT_PER_MINUTE: '0' })).toThrow(/RATE_LIMIT_PER_MINUTE/);
});

test('a retried chat send waits up to 10 s for the receipt of an earlier attempt; at most 15 s', () => {
  expect(parseConfig({}).CHAT_SEND_CONFIRM_GRACE_MS).toBe(10_000);
  expect(parseConfig({ CHAT_SEND_CONFIRM_GRACE_MS: '0' }).CHAT_SEND_CONFIRM_GRACE_MS).toBe(0);
  expect(() => parseConfig({ CHAT_SEND_CONFIRM_GRACE_MS: '20000' })).toThrow(
    'Invalid configuration: CHAT_SEND_CONFIRM_GRACE_MS must be at most 15000 (the send activity times out after 30 s)',
  );
});

test('CORS_ORIGINS is a comma list of origins; anything else names the variable', () => {
  expect(parseConfig({ CORS_ORIGINS: 'https://dash.example.com, http://localhost:5173/' }).CORS_ORIGINS).toEqual([
    'https://dash.example.com',
    'http://localhost:5173',
  ]);
  expect(parseConfig({}).CORS_ORIGINS).toEqual([]);
  for (const bad of ['https://dash.example.com/app', 'ftp://files.example.com', 'dash.example.com']) {
    expect(() => parseConfig({ CORS_ORIGINS: bad })).toThrow(/CORS_ORIGINS/);
  }
});

test('webhook logs: kept 14 days, 64 KiB of body, text kept; 0 days records nothing', () => {
  const c = parseConfig({});
  expect(c).toMatchObject({ WEBHOOK_LOG_RETENTION_DAYS: 14, WEBHOOK_LOG_MAX_BODY_BYTES: 65_536, WEBHOOK_LOG_REDACT_TEXT: false });
  expect(webhookLogSettings(c)).toEqual({ enabled: true, maxBodyBytes: 65_536, redactText: false });
  const off = parseConfig({ WEBHOOK_LOG_RETENTION_DAYS: '0', WEBHOOK_LOG_MAX_BODY_BYTES: '0', WEBHOOK_LOG_REDACT_TEXT: 'true' });
  expect(webhookLogSettings(off)).toEqual({ enabled: false, maxBodyBytes: 0, redactText: true });
  expect(parseConfig({ WEBHOOK_LOG_REDACT_TEXT: 'yes', WEBHOOK_LOG_MAX_BODY_BYTES: '1048576' })).toMatchObject({
    WEBHOOK_LOG_REDACT_TEXT: true,
    WEBHOOK_LOG_MAX_BODY_BYTES: 1_048_576,
  });
  expect(() => parseConfig({ WEBHOOK_LOG_RETENTION_DAYS: '-1' })).toThrow(/^Invalid configuration: WEBHOOK_LOG_RETENTION_DAYS/);
  expect(() => parseConfig({ WEBHOOK_LOG_RETENTION_DAYS: 'two weeks' })).toThrow(/^Invalid configuration: WEBHOOK_LOG_RETENTION_DAYS/);
  expect(() => parseConfig({ WEBHOOK_LOG_MAX_BODY_BYTES: '2000000' })).toThrow(
    'Invalid configuration: WEBHOOK_LOG_MAX_BODY_BYTES must be at most 1048576 (the webhook takes 1 MB at most)',
  );
  expect(() => parseConfig({ WEBHOOK_LOG_REDACT_TEXT: 'maybe' })).toThrow('Invalid configuration: WEBHOOK_LOG_REDACT_TEXT must be true or false');
});

describe('the Temporal connection: TEMPORAL_TLS, TEMPORAL_TLS_CERT/KEY/CA/SERVER_NAME, TEMPORAL_API_KEY', () => {
  let pki: Pki;
  beforeAll(() => {
    pki = makePki();
  });
  afterAll(() => pki?.remove());
  const mtls = () => ({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_TLS_CERT: pki.client.cert, TEMPORAL_TLS_KEY: pki.client.key });

  test('plain gRPC by default; TEMPORAL_TLS=true alone is TLS against the system CAs', () => {
    const plain = parseConfig({});
    expect([
      plain.TEMPORAL_TLS,
      plain.TEMPORAL_TLS_CERT,
      plain.TEMPORAL_TLS_KEY,
      plain.TEMPORAL_TLS_CA,
      plain.TEMPORAL_TLS_SERVER_NAME,
      plain.TEMPORAL_API_KEY,
    ]).toEqual([false, undefined, undefined, undefined, undefined, undefined]);
    expect(temporalConnectionOptions(plain)).toEqual({ address: '127.0.0.1:7233' });
    expect(describeTemporalConnection(plain)).toBe('127.0.0.1:7233 (plain gRPC, no TLS)');
    for (const on of ['true', '1', 'yes', 'on', 'TRUE']) {
      expect(temporalConnectionOptions(parseConfig({ TEMPORAL_ADDRESS: 'temporal.example.com:7233', TEMPORAL_TLS: on }))).toEqual({
        address: 'temporal.example.com:7233',
        tls: {},
      });
    }
    expect(parseConfig({ TEMPORAL_TLS: 'off' }).TEMPORAL_TLS).toBe(false);
    expect(() => parseConfig({ TEMPORAL_TLS: 'maybe' })).toThrow('Invalid configuration: TEMPORAL_TLS must be true or false');
  });

  test('an API key implies TLS and is sent as the SDK apiKey (a bearer token), never described', () => {
    const key = 'eyJhbGciOiJFUzI1NiJ9.test-api-key';
    const c = parseConfig({ TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233', TEMPORAL_API_KEY: key });
    expect(c.TEMPORAL_TLS).toBe(true);
    expect(temporalConnectionOptions(c)).toEqual({ address: 'us-east-1.aws.api.temporal.io:7233', tls: {}, apiKey: key });
    expect(describeTemporalConnection(c)).toBe("us-east-1.aws.api.temporal.io:7233 over TLS (server checked against the system's CAs; API key)");
    expect(() => parseConfig({ TEMPORAL_API_KEY: `Bearer ${key}` })).toThrow('Invalid configuration: TEMPORAL_API_KEY is the key alone, without "Bearer "');
    expect(() => parseConfig({ TEMPORAL_API_KEY: 'two words' })).toThrow('Invalid configuration: TEMPORAL_API_KEY must not contain spaces or line breaks');
  });

  test('any TLS setting implies TLS; TEMPORAL_TLS=false beside one is an error naming them', () => {
    expect(parseConfig({ TEMPORAL_TLS_CA: pki.ca }).TEMPORAL_TLS).toBe(true);
    expect(parseConfig({ TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }).TEMPORAL_TLS).toBe(true);
    expect(parseConfig({ ...mtls() }).TEMPORAL_TLS).toBe(true);
    expect(() => parseConfig({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: pki.ca })).toThrow(
      'Invalid configuration: TEMPORAL_TLS is false but TEMPORAL_TLS_CA is set: unset TEMPORAL_TLS or them',
    );
    expect(() => parseConfig({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toThrow(
      'Invalid configuration: TEMPORAL_TLS is false but TEMPORAL_API_KEY is set (the API key would travel unencrypted): unset TEMPORAL_TLS or them',
    );
    expect(() => parseConfig({ TEMPORAL_TLS_SERVER_NAME: 'temporal.internal:7233' })).toThrow(
      /^Invalid configuration: TEMPORAL_TLS_SERVER_NAME must be a host name/,
    );
  });

  test('mTLS: the certificate and key files are read into the options, with the CA and server name', () => {
    const c = parseConfig({ ...mtls(), TEMPORAL_TLS_CA: pki.ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
    expect(temporalConnectionOptions(c)).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      tls: {
        serverNameOverride: 'temporal.internal',
        serverRootCACertificate: readFileSync(pki.ca),
        clientCertPair: { crt: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) },
      },
    });
    // What is printed names files and the certificate's subject; never the key's content.
    const described = describeTemporalConnection(c);
    expect(described).toMatch(
      new RegExp(
        `^ns\\.acct\\.tmprl\\.cloud:7233 over TLS \\(server checked against the CA in ${pki.ca}; as temporal\\.internal; client certificate CN=whatsapp-worker, valid until \\d{4}-\\d\\d-\\d\\d, from ${pki.client.cert}\\)$`,
      ),
    );
    expect(described).not.toContain(readFileSync(pki.client.key, 'utf8').split('\n')[1]);
  });

  test('a certificate without its key, or a key without its certificate, stops the start naming the missing one', () => {
    expect(() => parseConfig({ TEMPORAL_TLS_CERT: pki.client.cert })).toThrow(
      "Invalid configuration: TEMPORAL_TLS_KEY is required with TEMPORAL_TLS_CERT (the client certificate's private key, PEM)",
    );
    expect(() => parseConfig({ TEMPORAL_TLS_KEY: pki.client.key })).toThrow(
      'Invalid configuration: TEMPORAL_TLS_CERT is required with TEMPORAL_TLS_KEY (the client certificate, PEM)',
    );
  });

  test('files that are missing, unreadable, not PEM, encrypted or not a pair name the setting', () => {
    const missing = path.join(pki.dir, 'nope.pem');
    expect(() => parseConfig({ TEMPORAL_TLS_CA: missing })).toThrow(`Invalid configuration: TEMPORAL_TLS_CA cannot be read: ${missing} (no such file)`);
    expect(() => parseConfig({ TEMPORAL_TLS_CA: pki.dir })).toThrow(`Invalid configuration: TEMPORAL_TLS_CA cannot be read: ${pki.dir} (a directory)`);
    expect(() => parseConfig({ ...mtls(), TEMPORAL_TLS_KEY: missing })).toThrow(
      `Invalid configuration: TEMPORAL_TLS_KEY cannot be read: ${missing} (no such file)`,
    );
    // The certificate where the CA goes is fine (a chain); a key where a certificate goes is not.
    expect(() => parseConfig({ TEMPORAL_TLS_CA: pki.client.key })).toThrow(
      `Invalid configuration: TEMPORAL_TLS_CA is not a PEM certificate file: ${pki.client.key} has no -----BEGIN CERTIFICATE----- block`,
    );
    expect(() => parseConfig({ ...mtls(), TEMPORAL_TLS_KEY: pki.client.cert })).toThrow(/^Invalid configuration: TEMPORAL_TLS_KEY is not a PEM private key/);
    expect(() => parseConfig({ ...mtls(), TEMPORAL_TLS_KEY: pki.otherKey })).toThrow(
      `Invalid configuration: TEMPORAL_TLS_KEY is not the key of the certificate in TEMPORAL_TLS_CERT (${pki.otherKey} does not match ${pki.client.cert})`,
    );
    const encrypted = path.join(pki.dir, 'encrypted.key');
    execFileSync('openssl', ['pkey', '-in', pki.client.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
    expect(() => parseConfig({ ...mtls(), TEMPORAL_TLS_KEY: encrypted })).toThrow(
      `Invalid configuration: TEMPORAL_TLS_KEY is encrypted (${encrypted}); give it unencrypted`,
    );
    const garbage = path.join(pki.dir, 'garbage.pem');
    writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    expect(() => parseConfig({ TEMPORAL_TLS_CA: garbage })).toThrow(
      `Invalid configuration: TEMPORAL_TLS_CA holds a certificate that cannot be parsed (block 1 of ${garbage})`,
    );
  });

  test('validate-config lists every bad Temporal setting, one line each', () => {
    const { results } = checkConfig({ TEMPORAL_TLS_CERT: pki.client.cert, TEMPORAL_API_KEY: 'Bearer x' });
    expect(results.map((r) => `${r.status} ${r.name}: ${r.detail}`)).toEqual([
      'FAIL config: TEMPORAL_API_KEY is the key alone, without "Bearer "',
      "FAIL config: TEMPORAL_TLS_KEY is required with TEMPORAL_TLS_CERT (the client certificate's private key, PEM)",
    ]);
    // The key itself is never repeated.
    const { results: badKey } = checkConfig({ TEMPORAL_API_KEY: 'sk-secret value' });
    expect(badKey.map((r) => `${r.status} ${r.name}: ${r.detail}`)).toEqual(['FAIL config: TEMPORAL_API_KEY must not contain spaces or line breaks']);
  });
});
