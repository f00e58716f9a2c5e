/**
 * Behind a proxy (docker compose's nginx, an ingress) the API must limit logins per caller, not per
 * proxy: with TRUST_PROXY the caller's address comes from X-Forwarded-For; without, a forged
 * header changes nothing.
 */
import { trustProxySetting } from '../src/api/app';
import { startHarness, type Harness } from './helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.stop();
});

async function api(trustProxy: string | undefined): Promise<(from: string) => Promise<number>> {
  const url = `${await h.serveApi({ trustProxy, loginLimits: { perEmail: 100, perAddress: 3, perMinute: 1000 } })}/api/v1/auth/login`;
  let n = 0;
  return async (from) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
      body: JSON.stringify({ email: `nobody.${Date.now()}.${n++}@example.com`, password: 'wrong-password-123' }),
    });
    return res.status;
  };
}

test('with TRUST_PROXY=1 each caller behind the proxy has its own per-address login budget', async () => {
  const login = await api('1');
  for (let i = 0; i < 3; i++) expect(await login('203.0.113.7')).toBe(401);
  expect(await login('203.0.113.7')).toBe(429);
  // Another caller through the same proxy is not locked out.
  expect(await login('198.51.100.9')).toBe(401);
});

test('without TRUST_PROXY a forged X-Forwarded-For does not buy a fresh budget', async () => {
  const login = await api(undefined);
  for (let i = 0; i < 3; i++) expect(await login(`192.0.2.${i}`)).toBe(401);
  expect(await login('192.0.2.99')).toBe(429);
});

test('TRUST_PROXY reads as Express takes it', () => {
  expect(trustProxySetting('1')).toBe(1);
  expect(trustProxySetting('true')).toBe(true);
  expect(trustProxySetting('false')).toBe(false);
  expect(trustProxySetting('loopback, uniquelocal')).toBe('loopback, uniquelocal');
});
