/**
 * Hostile logins (issue 15): failed logins limited per address and all logins for everyone
 * together, bcrypt on a thread with a bounded queue so a login flood leaves webhooks answering, and
 * access tokens that end with their login and must expire. Real API, Postgres and Temporal.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, decodeJwt } from 'jose';
import type { LoginLimits } from '../src/api/routes/auth';
import { closePasswordHashing, hashPassword } from '../src/auth/passwords';
import { createUser } from '../src/db/users';
import { TEST_TOKENS, startHarness, type Harness } from './helpers/harness';
import { randomPhone } from './helpers/webhook-payload';

let h: Harness;
const stamp = Date.now();
const ADA = `ada.${stamp}@example.com`;
const PASSWORD = 'correct horse battery';
const NO_LIMITS: LoginLimits = { perEmail: 1_000_000, perAddress: 1_000_000, perMinute: 1_000_000 };

interface Answer {
  status: number;
  body: any;
  retryAfter: string | null;
}

async function call(url: string, method: string, path: string, opts: { body?: unknown; token?: string } = {}): Promise<Answer> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  return { status: res.status, body: await res.json().catch(() => null), retryAfter: res.headers.get('retry-after') };
}

const login = (url: string, email: string, password = PASSWORD) => call(url, 'POST', '/api/v1/auth/login', { body: { email, password } });
const fresh = () => `flood.${randomUUID()}@example.com`;

/** An API of its own on the harness's database and Temporal, so its login limits start from zero. */
const apiWith = (loginLimits: LoginLimits) => h.serveApi({ loginLimits });

beforeAll(async () => {
  h = await startHarness({ worker: false });
  await createUser(h.db, { email: ADA, password_hash: await hashPassword(PASSWORD), role: 'operator', full_name: 'Ada' });
});
afterAll(async () => {
  await closePasswordHashing();
  await h.stop();
});

describe('login limits', () => {
  it('refuses an address that fails with many different emails, and counts only failures', async () => {
    const url = await apiWith({ perEmail: 10, perAddress: 5, perMinute: 1_000_000 });
    // Successful logins use up nothing: more of them than the limit, all answered.
    for (let i = 0; i < 7; i++) expect((await login(url, ADA)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await login(url, fresh(), `guess ${i}`)).status).toBe(401);

    const refused = await login(url, fresh(), 'guess 5');
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', message: expect.stringMatching(/from this address/) });
    expect(refused.body.error.details).toMatchObject({ limit: 5, window_seconds: 900 });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    // The whole address waits, even with a right password for an email it never failed on.
    expect((await login(url, ADA)).status).toBe(429);
  });

  it('refuses every caller once the logins of all of them reach the limit per minute', async () => {
    const url = await apiWith({ perEmail: 1000, perAddress: 1000, perMinute: 3 });
    // Requests that check no password use up nothing.
    for (let i = 0; i < 5; i++) expect((await call(url, 'POST', '/api/v1/auth/login', { body: { email: ADA } })).status).toBe(400);
    expect((await login(url, ADA)).status).toBe(200);
    expect((await login(url, fresh(), 'wrong password')).status).toBe(401);
    expect((await login(url, ADA)).status).toBe(200);

    const refused = await login(url, ADA);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', message: expect.stringMatching(/Too many logins right now/) });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
  });
});

describe('password hashing off the event loop', () => {
  it('refuses at once the logins beyond its queue instead of queueing them', async () => {
    const url = await apiWith(NO_LIMITS);
    const finished: Answer[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        finished.push(await login(url, fresh(), `flood ${i}`));
      }),
    );
    const busy = finished.filter((a) => a.status === 429);
    const checked = finished.filter((a) => a.status === 401);
    expect(busy.length + checked.length).toBe(40);
    expect(busy.length).toBeGreaterThan(0);
    expect(checked.length).toBeGreaterThan(0);
    for (const a of busy) {
      expect(a.body.error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', message: expect.stringMatching(/password checks in progress/) });
      expect(a.retryAfter).toBe('1');
    }
    // Refusals do not wait behind the hashing: every one came back before the last checked login.
    const order = finished.map((a) => a.status);
    expect(order.lastIndexOf(429)).toBeLessThan(order.lastIndexOf(401));
  });

  it('keeps answering webhooks while a login flood runs', async () => {
    const url = await apiWith(NO_LIMITS);
    let stop = false;
    const statuses: number[] = [];
    const flooders = Array.from({ length: 16 }, async () => {
      while (!stop) statuses.push((await login(url, fresh(), 'flood password')).status);
    });
    try {
      // Wait until the flood is checking passwords, then post while it goes on.
      while (!statuses.includes(401)) await new Promise((r) => setTimeout(r, 20));
      const checkedBefore = statuses.filter((s) => s === 401).length;
      for (let i = 0; i < 5; i++) {
        const res = await h.inbound([{ from: randomPhone(), text: `during the flood ${i}` }]);
        expect(res.status).toBe(200);
      }
      expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(checkedBefore);
    } finally {
      stop = true;
      await Promise.all(flooders);
    }
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  });
});

describe('access tokens', () => {
  it('stop working when their login logs out, refreshed ones included; other logins keep working', async () => {
    const first = (await login(h.apiUrl, ADA)).body;
    const refreshed = (await call(h.apiUrl, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: first.refresh_token } })).body;
    const other = (await login(h.apiUrl, ADA)).body;
    for (const t of [first, refreshed, other]) expect((await call(h.apiUrl, 'GET', '/api/v1/users/me', { token: t.access_token })).status).toBe(200);

    expect((await call(h.apiUrl, 'POST', '/api/v1/auth/logout', { body: { refresh_token: refreshed.refresh_token } })).status).toBe(200);
    for (const t of [first, refreshed]) {
      const res = await call(h.apiUrl, 'GET', '/api/v1/users/me', { token: t.access_token });
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'AUTHENTICATION_ERROR', message: expect.stringMatching(/login was ended/) });
    }
    expect((await call(h.apiUrl, 'GET', '/api/v1/users/me', { token: other.access_token })).status).toBe(200);
  });

  it('refuses a token without an expiry, even one signed with the right secret for a live login', async () => {
    const live = decodeJwt((await login(h.apiUrl, ADA)).body.access_token);
    const sign = (expires: boolean) => {
      const jwt = new SignJWT({ role: live.role, email: live.email, sid: live.sid })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(live.sub!)
        .setIssuer(live.iss!)
        .setAudience(live.aud!)
        .setIssuedAt();
      return (expires ? jwt.setExpirationTime('5m') : jwt).sign(TEST_TOKENS.secret);
    };
    const forever = await call(h.apiUrl, 'GET', '/api/v1/users/me', { token: await sign(false) });
    expect(forever.status).toBe(401);
    expect(forever.body.error).toMatchObject({ code: 'AUTHENTICATION_ERROR', message: expect.stringMatching(/no expiry/) });
    // The same token with an expiry is accepted: the missing exp is what was refused.
    expect((await call(h.apiUrl, 'GET', '/api/v1/users/me', { token: await sign(true) })).status).toBe(200);
  });
});
