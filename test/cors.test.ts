/**
 * CORS_ORIGINS (issue 12, item 5): a dashboard on a listed origin can call the API from a browser;
 * preflights are answered before authentication; other origins get no CORS headers.
 */
import { KEYS, startHarness, type Harness } from './helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.stop();
});

const DASHBOARD = 'https://dash.example.com';
const api = (corsOrigins: string[] | undefined) => h.serveApi({ corsOrigins });

const preflight = (base: string, origin: string) =>
  fetch(`${base}/api/v1/conversations`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });

test('a listed origin: the preflight is answered before authentication, and answers carry the CORS headers', async () => {
  const base = await api([DASHBOARD]);
  const pre = await preflight(base, DASHBOARD);
  expect(pre.status).toBe(204);
  expect(pre.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
  expect(pre.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
  expect(pre.headers.get('access-control-allow-methods')).toMatch(/PATCH/);
  expect(pre.headers.get('vary')).toMatch(/Origin/);

  const ok = await fetch(`${base}/api/v1/conversations`, { headers: { origin: DASHBOARD, authorization: `Bearer ${KEYS.viewer}` } });
  expect(ok.status).toBe(200);
  expect(ok.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
  expect(ok.headers.get('access-control-expose-headers')).toMatch(/X-RateLimit-Remaining/);
  // An error is readable by the page too.
  const denied = await fetch(`${base}/api/v1/conversations`, { headers: { origin: DASHBOARD } });
  expect(denied.status).toBe(401);
  expect(denied.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
});

test('another origin gets no CORS headers, and its preflight is refused in the error format', async () => {
  const base = await api([DASHBOARD]);
  const pre = await preflight(base, 'https://evil.example.net');
  expect(pre.status).toBe(403);
  expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  expect(((await pre.json()) as { error: unknown }).error).toMatchObject({ code: 'AUTHORIZATION_ERROR', message: expect.stringContaining('CORS_ORIGINS') });
  const res = await fetch(`${base}/api/v1/conversations`, { headers: { origin: 'https://evil.example.net', authorization: `Bearer ${KEYS.viewer}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('access-control-allow-origin')).toBeNull();
});

test('without CORS_ORIGINS the API is same-origin only', async () => {
  const base = await api(undefined);
  expect((await preflight(base, DASHBOARD)).status).toBe(403);
  const res = await fetch(`${base}/api/v1/conversations`, { headers: { origin: DASHBOARD, authorization: `Bearer ${KEYS.viewer}` } });
  expect(res.headers.get('access-control-allow-origin')).toBeNull();
  // Same-origin calls (no Origin header) are untouched.
  expect((await fetch(`${base}/api/v1/conversations`, { headers: { authorization: `Bearer ${KEYS.viewer}` } })).status).toBe(200);
});
