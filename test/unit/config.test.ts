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

test('bad values name the variable', () => {
  expect(() => parseConfig({ PORT: 'eighty' })).toThrow(/^Invalid configuration: PORT /);
  expect(() => parseConfig({ DEBOUNCE_MS: '5000', DEBOUNCE_MAX_WAIT_MS: '1000' })).toThrow(/DEBOUNCE_MAX_WAIT_MS/);
  expect(() => parseConfig({ DATABASE_URL: 'not a url' })).toThrow(/DATABASE_URL/);
});
