/**
 * Users, roles and tokens (seed 004): login, refresh rotation, the signed-in user, admin user
 * management, and role checks, against the real API, Postgres and Temporal.
 */
import { hashPassword } from '../src/auth/passwords';
import { createUser } from '../src/db/users';
import { KEYS, startHarness, type Harness } from './helpers/harness';

let h: Harness;
const stamp = Date.now();
const email = (who: string) => `${who}.${stamp}@example.com`;
const PASSWORD = 'correct horse battery';

async function login(who: string, password = PASSWORD) {
  return h.api('POST', '/api/v1/auth/login', { body: { email: email(who), password }, key: null });
}

beforeAll(async () => {
  h = await startHarness({ worker: false });
  const hash = await hashPassword(PASSWORD);
  for (const [who, role] of [
    ['ada', 'operator'],
    ['vic', 'viewer'],
    ['sam', 'sales'],
    ['root', 'admin'],
  ] as const) {
    await createUser(h.db, { email: email(who), password_hash: hash, role, full_name: who });
  }
});
afterAll(() => h.stop());

describe('login and tokens', () => {
  it('signs in with email and password and the access token works as a bearer credential', async () => {
    const res = await h.api('POST', '/api/v1/auth/login', { body: { email: email('ada').toUpperCase(), password: PASSWORD }, key: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'bearer', expires_in: 900, user: { email: email('ada'), role: 'operator' } });
    expect(res.body.user.password_hash).toBeUndefined();
    expect(res.body.access_token.split('.')).toHaveLength(3);

    const me = await h.api('GET', '/api/v1/users/me', { key: res.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ email: email('ada'), role: 'operator', full_name: 'ada' });
    expect(me.body.last_login_at).not.toBeNull();
  });

  it('answers a wrong password and an unknown email alike, with 401 in the error format', async () => {
    const wrong = await login('ada', 'not the password');
    const unknown = await h.api('POST', '/api/v1/auth/login', { body: { email: `nobody.${stamp}@example.com`, password: PASSWORD }, key: null });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'AUTHENTICATION_ERROR', message: 'Email or password is wrong' });
      expect(res.body.error.request_id).toBeTruthy();
    }
    const bad = await h.api('POST', '/api/v1/auth/login', { body: { email: email('ada') }, key: null });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('locks out password guessing: after 10 failed logins for an email, even the right password waits', async () => {
    await h.api('POST', '/api/v1/users', { body: { email: email('guess'), password: PASSWORD, role: 'viewer' } });
    for (let i = 0; i < 10; i++) expect((await login('guess', `wrong ${i}`)).status).toBe(401);
    const res = await fetch(`${h.apiUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: email('guess'), password: PASSWORD }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMIT_EXCEEDED');
    // Another account from the same address is not locked.
    expect((await login('ada')).status).toBe(200);
  });

  it('rotates refresh tokens: each works once, and reusing one revokes the whole login', async () => {
    const first = (await login('vic')).body;
    const second = await h.api('POST', '/api/v1/auth/refresh', { body: { refresh_token: first.refresh_token }, key: null });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect((await h.api('GET', '/api/v1/users/me', { key: second.body.access_token })).body.email).toBe(email('vic'));

    // The first token again: someone copied it. It fails, and so does the one refreshed from it.
    const replay = await h.api('POST', '/api/v1/auth/refresh', { body: { refresh_token: first.refresh_token }, key: null });
    expect(replay.status).toBe(401);
    expect(replay.body.error.message).toMatch(/already used/);
    const after = await h.api('POST', '/api/v1/auth/refresh', { body: { refresh_token: second.body.refresh_token }, key: null });
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/revoked/);
  });

  it('logs out: the refresh token stops working', async () => {
    const tokens = (await login('sam')).body;
    expect((await h.api('POST', '/api/v1/auth/logout', { body: { refresh_token: tokens.refresh_token }, key: null })).status).toBe(200);
    expect((await h.api('POST', '/api/v1/auth/refresh', { body: { refresh_token: tokens.refresh_token }, key: null })).status).toBe(401);
  });

  it('refuses a tampered or foreign token', async () => {
    const { access_token } = (await login('vic')).body;
    const [header, payload, signature] = access_token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' })).toString('base64url');
    const res = await h.api('GET', '/api/v1/users', { key: `${header}.${forged}.${signature}` });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('AUTHENTICATION_ERROR');
  });

  it('uses the current role, not the one in the token: a demoted user loses access at once', async () => {
    const created = await h.api('POST', '/api/v1/users', { body: { email: email('tmp'), password: PASSWORD, role: 'admin' } });
    expect(created.status).toBe(201);
    const token = (await login('tmp')).body.access_token;
    expect((await h.api('GET', '/api/v1/users', { key: token })).status).toBe(200);
    expect((await h.api('PUT', `/api/v1/users/${created.body.id}`, { body: { role: 'viewer' } })).status).toBe(200);
    expect((await h.api('GET', '/api/v1/users', { key: token })).status).toBe(403);
    expect((await h.api('PUT', `/api/v1/users/${created.body.id}`, { body: { is_active: false } })).status).toBe(200);
    expect((await h.api('GET', '/api/v1/users/me', { key: token })).status).toBe(401);
  });
});

describe('roles', () => {
  it('lets an operator take actions its role has and refuses others with 403', async () => {
    const operator = (await login('ada')).body.access_token;
    const refused = await h.api('POST', '/api/v1/contacts', { body: { phone: '+14155550100' }, key: operator });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'AUTHORIZATION_ERROR', details: { required: ['marketer'] } });
    expect((await h.api('GET', '/api/v1/contacts', { key: operator })).status).toBe(200);
    // Nothing was created by the refused call.
    expect((await h.api('GET', '/api/v1/contacts?search=4155550100')).body.total).toBe(0);
  });

  it('refuses viewers and API keys of other roles on user management', async () => {
    for (const key of [KEYS.viewer, KEYS.operator, KEYS.marketer, KEYS.sales]) {
      expect((await h.api('GET', '/api/v1/users', { key })).status).toBe(403);
    }
    const viewer = (await login('vic')).body.access_token;
    expect((await h.api('POST', '/api/v1/users', { body: { email: email('x'), password: PASSWORD, role: 'admin' }, key: viewer })).status).toBe(403);
  });

  it('tells an API key caller that /users/me needs a user', async () => {
    const res = await h.api('GET', '/api/v1/users/me', { key: KEYS.viewer });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/API keys are not users/);
  });
});

describe('user management', () => {
  it('creates, lists, finds, updates and deletes users, with clear errors', async () => {
    const created = await h.api('POST', '/api/v1/users', {
      body: { email: ` Mia.${stamp}@Example.com `, password: PASSWORD, role: 'marketer', full_name: 'Mia' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: `mia.${stamp}@example.com`, role: 'marketer', is_active: true });

    const dup = await h.api('POST', '/api/v1/users', { body: { email: `MIA.${stamp}@example.com`, password: PASSWORD, role: 'viewer' } });
    expect(dup.status).toBe(409);
    const weak = await h.api('POST', '/api/v1/users', { body: { email: email('weak'), password: 'short', role: 'viewer' } });
    expect(weak.status).toBe(400);
    expect(weak.body.error.details[0].field).toBe('password');
    const badRole = await h.api('POST', '/api/v1/users', { body: { email: email('r'), password: PASSWORD, role: 'owner' } });
    expect(badRole.status).toBe(400);

    const list = await h.api('GET', `/api/v1/users?role=marketer&search=mia.${stamp}`);
    expect(list.body).toMatchObject({ total: 1, users: [{ id: created.body.id }] });

    const changed = await h.api('PUT', `/api/v1/users/${created.body.id}`, { body: { role: 'sales', password: 'a brand new password' } });
    expect(changed.body.role).toBe('sales');
    const relogin = await h.api('POST', '/api/v1/auth/login', { body: { email: `mia.${stamp}@example.com`, password: 'a brand new password' }, key: null });
    expect(relogin.status).toBe(200);

    expect((await h.api('DELETE', `/api/v1/users/${created.body.id}`)).status).toBe(204);
    expect((await h.api('GET', `/api/v1/users/${created.body.id}`)).status).toBe(404);
    expect((await h.api('GET', '/api/v1/users/abc')).status).toBe(404);
  });

  it('changes your own password only with the current one', async () => {
    const token = (await login('sam')).body.access_token;
    const without = await h.api('PUT', '/api/v1/users/me', { body: { password: 'another long password' }, key: token });
    expect(without.status).toBe(400);
    const wrong = await h.api('PUT', '/api/v1/users/me', { body: { password: 'another long password', current_password: 'nope' }, key: token });
    expect(wrong.status).toBe(400);
    const ok = await h.api('PUT', '/api/v1/users/me', {
      body: { password: 'another long password', current_password: PASSWORD, full_name: 'Sam S' },
      key: token,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.full_name).toBe('Sam S');
    expect((await login('sam')).status).toBe(401);
    expect((await login('sam', 'another long password')).status).toBe(200);
  });

  it('never leaves the system without an active admin', async () => {
    // Make every other admin inactive, then try to demote the last one.
    const admins = (await h.api('GET', '/api/v1/users?role=admin&is_active=true&limit=200')).body.users as { id: number; email: string }[];
    const root = admins.find((u) => u.email === email('root'))!;
    for (const u of admins) if (u.id !== root.id) await h.db.updateTable('users').set({ is_active: false }).where('id', '=', u.id).execute();
    const demote = await h.api('PUT', `/api/v1/users/${root.id}`, { body: { role: 'viewer' } });
    expect(demote.status).toBe(409);
    expect(demote.body.error.message).toMatch(/last active admin/);
    expect((await h.api('DELETE', `/api/v1/users/${root.id}`)).status).toBe(409);
    expect((await h.api('GET', `/api/v1/users/${root.id}`)).body.role).toBe('admin');
  });
});
