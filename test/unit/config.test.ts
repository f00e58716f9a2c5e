import { parseConfig } from '../../src/config';

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
  expect(() => parseConfig({ WHATSAPP_ACCESS_TOKEN: 'tok' })).toThrow('Invalid configuration: WHATSAPP_PHONE_NUMBER_ID is required when WHATSAPP_PROVIDER=meta');
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
  expect(parseConfig({ CORS_ORIGINS: 'https://dash.example.com, http://localhost:5173/' }).CORS_ORIGINS).toEqual(['https://dash.example.com', 'http://localhost:5173']);
  expect(parseConfig({}).CORS_ORIGINS).toEqual([]);
  for (const bad of ['https://dash.example.com/app', 'ftp://files.example.com', 'dash.example.com']) {
    expect(() => parseConfig({ CORS_ORIGINS: bad })).toThrow(/CORS_ORIGINS/);
  }
});
