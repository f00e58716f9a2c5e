/**
 * The admin routes for WhatsApp numbers (issue 13, item 1; seed 002's phone mappings): admins
 * add Meta and Twilio numbers whose credentials are stored encrypted and only ever shown masked,
 * change and disable them, remove those nothing names, and check them against their provider.
 * The default number is the environment's: it is listed first and refuses what the environment
 * decides. Every phone number id here is random: the database is shared with other test files.
 */
import { randomInt } from 'node:crypto';
import { FakeTwilio, twilioSid } from './helpers/fake-twilio';
import { KEYS, startHarness, type Harness } from './helpers/harness';

let h: Harness;
let twilio: FakeTwilio;
const created: number[] = [];

const META_TOKEN = `EAAG-meta-token-${randomInt(1e9)}-secretpart`;
const META_APP_SECRET = `app-secret-${randomInt(1e9)}-xyz`;
const TWILIO_TOKEN = `twilio-auth-token-${randomInt(1e9)}-tail`;
/** The Twilio account's own number (a random German mobile, so no test file shares it). */
const TWILIO_OWNED = `+49151${String(randomInt(1e8)).padStart(8, '0')}`;
const TWILIO_SID = twilioSid('AC');

beforeAll(async () => {
  twilio = await new FakeTwilio(TWILIO_SID, TWILIO_TOKEN, TWILIO_OWNED).start();
  h = await startHarness({ worker: false, twilioBaseUrl: twilio.url });
});
afterAll(async () => {
  // Leave the shared database as found: other files' numbers and routing must not see these.
  if (created.length) {
    await h.db.deleteFrom('conversations').where('number_id', 'in', created).execute();
    await h.db.deleteFrom('whatsapp_numbers').where('id', 'in', created).execute();
  }
  await h?.stop();
  await twilio?.stop();
});

const metaId = () => String(100_000_000_000_000 + randomInt(1e12));
const germanMobile = () => `+49151${String(randomInt(1e8)).padStart(8, '0')}`;

async function addMeta(extra: Record<string, unknown> = {}) {
  const res = await h.api('POST', '/api/v1/numbers', {
    body: { provider: 'meta', phone_number_id: metaId(), name: 'Sales line', credentials: { access_token: META_TOKEN, app_secret: META_APP_SECRET }, ...extra },
  });
  expect(res.status).toBe(201);
  created.push(res.body.id);
  return res.body;
}

async function addTwilio(number = TWILIO_OWNED, credentials: Record<string, string> = { account_sid: TWILIO_SID, auth_token: TWILIO_TOKEN }) {
  const res = await h.api('POST', '/api/v1/numbers', { body: { provider: 'twilio', phone_number_id: `whatsapp:${number}`, credentials } });
  expect(res.status).toBe(201);
  created.push(res.body.id);
  return res.body;
}

const rowCount = async () =>
  Number(
    (
      await h.db
        .selectFrom('whatsapp_numbers')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
const mask = (s: string) => `••••${s.slice(-4)}`;

async function newAiConfiguration(deleted = false): Promise<number> {
  const row = await h.db
    .insertInto('ai_configurations')
    .values({
      name: `numbers-test-${randomInt(1e9)}`,
      model: 'test-model',
      temperature: 0,
      max_tokens: 100,
      system_prompt: 'Be brief.',
      context_messages: 10,
      debounce_ms: 0,
      max_wait_ms: 0,
      deleted_at: deleted ? new Date() : null,
    } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

describe('adding and reading numbers', () => {
  it('stores Meta and Twilio numbers with encrypted credentials and shows them only masked', async () => {
    const meta = await addMeta();
    expect(meta).toMatchObject({
      provider: 'meta',
      name: 'Sales line',
      enabled: true,
      is_default: false,
      ai_configuration_id: null,
      credentials_source: 'database',
      credentials: { access_token: mask(META_TOKEN), app_secret: mask(META_APP_SECRET), verify_token: null },
      credentials_error: null,
      conversations: 0,
    });
    const tw = await addTwilio();
    const digits = TWILIO_OWNED.slice(1);
    // Written as Twilio's From is written; stored as the digits its webhooks' To is compared by.
    expect(tw).toMatchObject({
      provider: 'twilio',
      phone_number_id: digits,
      display_number: TWILIO_OWNED,
      credentials: { account_sid: TWILIO_SID, auth_token: mask(TWILIO_TOKEN) },
    });

    const list = await h.api('GET', '/api/v1/numbers');
    expect(list.status).toBe(200);
    expect(list.body.numbers[0]).toMatchObject({
      id: 1,
      is_default: true,
      phone_number_id: 'PNID',
      provider: 'meta',
      enabled: true,
      credentials_source: 'environment',
      credentials: null,
    });
    expect(list.body.numbers.map((n: { id: number }) => n.id)).toEqual(expect.arrayContaining([1, meta.id, tw.id]));
    expect(list.body.total).toBe(list.body.numbers.length);
    const one = await h.api('GET', `/api/v1/numbers/${meta.id}`);
    expect(one.body).toEqual({ ...meta, created_at: expect.any(String), updated_at: expect.any(String) });

    // The secrets appear in no answer, and not in the clear in the database either.
    for (const body of [meta, tw, list.body, one.body]) {
      for (const secret of [META_TOKEN, META_APP_SECRET, TWILIO_TOKEN]) expect(JSON.stringify(body)).not.toContain(secret);
    }
    const rows = await h.db.selectFrom('whatsapp_numbers').selectAll().where('id', 'in', [meta.id, tw.id]).execute();
    for (const row of rows) {
      expect(row.credentials_encrypted).toMatch(/^v1:/);
      for (const secret of [META_TOKEN, META_APP_SECRET, TWILIO_TOKEN]) expect(row.credentials_encrypted).not.toContain(secret);
    }
    // Sealed under the deployment's key, and routed to at once (the API's write invalidates the registry).
    const routed = await h.numbers.route('meta', meta.phone_number_id);
    expect(routed.number?.id).toBe(meta.id);
    expect(h.numbers.credentials(routed.number!)).toMatchObject({ provider: 'meta', accessToken: META_TOKEN, appSecret: META_APP_SECRET });
    expect((await h.numbers.route('twilio', `whatsapp:${TWILIO_OWNED}`)).number?.id).toBe(tw.id);
  });

  it('refuses invalid input by field, and stores nothing', async () => {
    const before = await rowCount();
    const deleted = await newAiConfiguration(true);
    const good = { provider: 'meta', phone_number_id: metaId(), credentials: { access_token: META_TOKEN } };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, provider: undefined }, 'provider'],
      [{ ...good, provider: 'console' }, 'provider'],
      [{ ...good, credentials: undefined }, 'credentials'],
      [{ ...good, credentials: { access_token: 'short' } }, 'credentials.access_token'],
      [{ ...good, credentials: { access_token: META_TOKEN, extra: 'x' } }, 'credentials'],
      [{ ...good, phone_number_id: '12/../34' }, 'phone_number_id'],
      [{ ...good, colour: 'blue' }, ''],
      [{ provider: 'twilio', phone_number_id: '+1 123', credentials: { account_sid: TWILIO_SID, auth_token: TWILIO_TOKEN } }, 'phone_number_id'],
      [{ provider: 'twilio', phone_number_id: germanMobile(), credentials: { account_sid: 'nope', auth_token: TWILIO_TOKEN } }, 'credentials.account_sid'],
      [{ provider: 'twilio', phone_number_id: germanMobile(), credentials: { access_token: META_TOKEN } }, 'credentials'],
      [{ ...good, ai_configuration_id: 2_000_000_000 }, 'ai_configuration_id'],
      [{ ...good, ai_configuration_id: deleted }, 'ai_configuration_id'],
    ];
    for (const [body, field] of cases) {
      const res = await h.api('POST', '/api/v1/numbers', { body });
      expect({ body, status: res.status, code: res.body.error.code }).toEqual({ body, status: 400, code: 'VALIDATION_ERROR' });
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContainEqual(expect.stringContaining(field));
    }
    expect(await rowCount()).toBe(before);
  });

  it('refuses a phone number id another number has, the default included (409)', async () => {
    const meta = await addMeta();
    const again = await h.api('POST', '/api/v1/numbers', {
      body: { provider: 'meta', phone_number_id: meta.phone_number_id, credentials: { access_token: META_TOKEN } },
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'CONFLICT', details: { number_id: meta.id } });
    const theDefault = await h.api('POST', '/api/v1/numbers', {
      body: { provider: 'meta', phone_number_id: 'PNID', credentials: { access_token: META_TOKEN } },
    });
    expect(theDefault.status).toBe(409);
    expect(theDefault.body.error.message).toMatch(/default number/);
    // The same Twilio number written another way is the same number.
    const number = germanMobile();
    await addTwilio(number);
    const spaced = `${number.slice(0, 3)} ${number.slice(3, 6)} ${number.slice(6)}`;
    const twice = await h.api('POST', '/api/v1/numbers', {
      body: { provider: 'twilio', phone_number_id: spaced, credentials: { account_sid: TWILIO_SID, auth_token: TWILIO_TOKEN } },
    });
    expect(twice.status).toBe(409);
  });

  it('answers 404 for a number that does not exist', async () => {
    for (const path of ['/api/v1/numbers/2000000000', '/api/v1/numbers/abc']) {
      expect((await h.api('GET', path)).status).toBe(404);
      expect((await h.api('PATCH', path, { body: { name: 'x' } })).status).toBe(404);
      expect((await h.api('DELETE', path)).status).toBe(404);
    }
  });
});

describe('changing numbers', () => {
  it('changes name, credentials, AI configuration and enabled; bumps updated_at; the registry follows', async () => {
    const meta = await addMeta();
    const ai = await newAiConfiguration();
    const newToken = `EAAG-rotated-token-${randomInt(1e9)}-newtail`;
    const res = await h.api('PATCH', `/api/v1/numbers/${meta.id}`, {
      body: { name: 'Support', credentials: { access_token: newToken }, ai_configuration_id: ai, enabled: false, display_number: '+1 555 010 0000' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'Support',
      enabled: false,
      ai_configuration_id: ai,
      display_number: '+1 555 010 0000',
      credentials: { access_token: mask(newToken), app_secret: null },
    });
    expect(new Date(res.body.updated_at).getTime()).toBeGreaterThan(new Date(meta.updated_at).getTime());
    expect(JSON.stringify(res.body)).not.toContain(newToken);
    expect(await h.numbers.route('meta', meta.phone_number_id)).toMatchObject({ refused: 'disabled' });

    // null: back to the default configuration; the same phone number id and provider are no change.
    const back = await h.api('PATCH', `/api/v1/numbers/${meta.id}`, {
      body: { ai_configuration_id: null, enabled: true, provider: 'meta', phone_number_id: meta.phone_number_id },
    });
    expect(back.body).toMatchObject({ ai_configuration_id: null, enabled: true });
    expect((await h.numbers.route('meta', meta.phone_number_id)).number?.id).toBe(meta.id);
  });

  it('refuses changing the phone number id or provider, bad credentials and unknown AI configurations', async () => {
    const meta = await addMeta();
    const tw = await addTwilio(germanMobile());
    const refusals: [number, Record<string, unknown>, string][] = [
      [meta.id, { phone_number_id: metaId() }, 'phone_number_id'],
      [meta.id, { provider: 'twilio' }, 'provider'],
      [meta.id, { credentials: { account_sid: TWILIO_SID, auth_token: TWILIO_TOKEN } }, 'credentials'],
      [meta.id, { credentials: { access_token: 'short' } }, 'credentials.access_token'],
      [meta.id, { ai_configuration_id: 2_000_000_000 }, 'ai_configuration_id'],
      [meta.id, {}, ''],
      [meta.id, { colour: 'blue' }, ''],
      [tw.id, { phone_number_id: germanMobile() }, 'phone_number_id'],
      [tw.id, { credentials: { access_token: META_TOKEN } }, 'credentials'],
    ];
    for (const [id, body, field] of refusals) {
      const res = await h.api('PATCH', `/api/v1/numbers/${id}`, { body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      if (field) expect(res.body.error.details.map((d: { field: string }) => d.field)).toContainEqual(expect.stringContaining(field));
    }
    // Its own number, however written, is no change.
    const same = await h.api('PATCH', `/api/v1/numbers/${tw.id}`, { body: { phone_number_id: `whatsapp:+${tw.phone_number_id}`, name: 'Twilio line' } });
    expect(same.status).toBe(200);
    const after = await h.api('GET', `/api/v1/numbers/${meta.id}`);
    expect(after.body).toMatchObject({ name: meta.name, phone_number_id: meta.phone_number_id, provider: 'meta', credentials: meta.credentials });
  });

  it('lets the default number change only its name and AI configuration', async () => {
    for (const [body, field] of [
      [{ credentials: { access_token: META_TOKEN } }, 'credentials'],
      [{ enabled: false }, 'enabled'],
      [{ display_number: '+1 555 999 0000' }, 'display_number'],
      [{ phone_number_id: 'OTHER' }, 'phone_number_id'],
      [{ provider: 'twilio' }, 'provider'],
    ] as const) {
      const res = await h.api('PATCH', '/api/v1/numbers/1', { body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.body.error.details[0].field).toBe(field);
    }
    const refused = await h.api('PATCH', '/api/v1/numbers/1', { body: { enabled: false } });
    expect(refused.body.error.message).toMatch(/environment/);

    const ai = await newAiConfiguration();
    const original = (await h.api('GET', '/api/v1/numbers/1')).body;
    const renamed = await h.api('PATCH', '/api/v1/numbers/1', { body: { name: 'Main line', ai_configuration_id: ai } });
    try {
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ id: 1, name: 'Main line', ai_configuration_id: ai, phone_number_id: 'PNID', credentials_source: 'environment' });
      expect(await h.numbers.byId(1)).toMatchObject({ name: 'Main line', aiConfigurationId: ai });
    } finally {
      // Other files' chats on the default number must answer with the environment's settings.
      await h.api('PATCH', '/api/v1/numbers/1', { body: { name: original.name, ai_configuration_id: original.ai_configuration_id } });
    }
  });
});

describe('removing numbers', () => {
  it('removes a number nothing names; keeps the default and a number with conversations (409)', async () => {
    const keepDefault = await h.api('DELETE', '/api/v1/numbers/1');
    expect(keepDefault.status).toBe(409);
    expect(keepDefault.body.error.message).toMatch(/default number/);

    const busy = await addMeta();
    const waId = `4915${randomInt(1e9)}`;
    await h.db
      .insertInto('conversations')
      .values({ number_id: busy.id, wa_id: waId, mode: 'bot', needs_human: false, operator: null } as never)
      .execute();
    expect((await h.api('GET', `/api/v1/numbers/${busy.id}`)).body.conversations).toBe(1);
    const refused = await h.api('DELETE', `/api/v1/numbers/${busy.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'CONFLICT', details: { conversations: 1 } });
    expect(refused.body.error.message).toMatch(/1 conversation\b.*disable it instead/);
    expect((await h.api('GET', `/api/v1/numbers/${busy.id}`)).status).toBe(200);
    expect(await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId).execute()).toHaveLength(1);

    const idle = await addMeta();
    expect((await h.api('DELETE', `/api/v1/numbers/${idle.id}`)).status).toBe(204);
    expect((await h.api('GET', `/api/v1/numbers/${idle.id}`)).status).toBe(404);
    expect(await h.numbers.route('meta', idle.phone_number_id)).toMatchObject({ refused: 'unknown' });
  });
});

describe('checking numbers with their provider', () => {
  it('passes a Meta number Graph knows, and fails it when Graph refuses its token', async () => {
    const meta = await addMeta();
    const ok = await h.api('POST', `/api/v1/numbers/${meta.id}/check`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      ok: true,
      status: 'pass',
      detail: `the access token works; phone number id ${meta.phone_number_id} is +1 555-000-0000 (Test Business)`,
    });
    expect(h.graph.lookups.at(-1)).toEqual({
      url: `/${meta.phone_number_id}?fields=display_phone_number,verified_name`,
      authorization: `Bearer ${META_TOKEN}`,
    });
    expect(h.graph.sends).toHaveLength(0);

    h.graph.refusedTokens.add(META_TOKEN);
    try {
      const refused = await h.api('POST', `/api/v1/numbers/${meta.id}/check`);
      expect(refused.body).toMatchObject({
        ok: false,
        status: 'fail',
        detail: expect.stringMatching(/^token refused by the Graph API \(401 code 190: /),
      });
      expect(JSON.stringify(refused.body)).not.toContain(META_TOKEN);
    } finally {
      h.graph.refusedTokens.delete(META_TOKEN);
    }
  });

  it('passes a Twilio number its account lists, warns for one it does not, fails refused credentials', async () => {
    // The account's own number, added by the first test when it ran (one row per number).
    const listed = (await h.api('GET', '/api/v1/numbers')).body.numbers.find((n: { phone_number_id: string }) => n.phone_number_id === TWILIO_OWNED.slice(1));
    const owned = listed ?? (await addTwilio());
    expect((await h.api('POST', `/api/v1/numbers/${owned.id}/check`)).body).toEqual({
      ok: true,
      status: 'pass',
      detail: `account ${TWILIO_SID} accepts the credentials and has ${TWILIO_OWNED} ("Test WhatsApp number")`,
    });
    expect(twilio.lookups.at(-1)?.url).toBe(`/2010-04-01/Accounts/${TWILIO_SID}/IncomingPhoneNumbers.json?PhoneNumber=%2B${TWILIO_OWNED.slice(1)}`);

    const other = await addTwilio(germanMobile());
    expect((await h.api('POST', `/api/v1/numbers/${other.id}/check`)).body).toMatchObject({
      ok: true,
      status: 'warn',
      detail: expect.stringContaining('does not list'),
    });

    const wrong = await addTwilio(germanMobile(), { account_sid: TWILIO_SID, auth_token: 'not-the-right-token-at-all' });
    expect((await h.api('POST', `/api/v1/numbers/${wrong.id}/check`)).body).toEqual({
      ok: false,
      status: 'fail',
      detail: 'Twilio refused the account SID / auth token (401 code 20003: Authenticate)',
    });
  });

  it("refuses to check the default number: its credentials are the environment's", async () => {
    const res = await h.api('POST', '/api/v1/numbers/1/check');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/validate-config/);
  });
});

describe('an API without CREDENTIALS_ENCRYPTION_KEY', () => {
  it('stores no credentials and says why; reads and other changes still work', async () => {
    const stored = await addMeta();
    const url = await h.serveApi({ secrets: undefined });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${KEYS.admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json().catch(() => null)) as any };
    };
    const before = await rowCount();
    const add = await call('POST', '/api/v1/numbers', { provider: 'meta', phone_number_id: metaId(), credentials: { access_token: META_TOKEN } });
    expect(add.status).toBe(409);
    expect(add.body.error.message).toMatch(/CREDENTIALS_ENCRYPTION_KEY is not set.*Nothing was stored/);
    expect(await rowCount()).toBe(before);
    const rotate = await call('PATCH', `/api/v1/numbers/${stored.id}`, { credentials: { access_token: `${META_TOKEN}-2` } });
    expect(rotate.status).toBe(409);

    const read = await call('GET', `/api/v1/numbers/${stored.id}`);
    expect(read.body).toMatchObject({ credentials: null, credentials_error: expect.stringContaining('CREDENTIALS_ENCRYPTION_KEY is not set') });
    expect((await call('PATCH', `/api/v1/numbers/${stored.id}`, { name: 'Renamed' })).body.name).toBe('Renamed');
    const check = await call('POST', `/api/v1/numbers/${stored.id}/check`);
    expect(check.body).toMatchObject({ ok: false, status: 'fail', detail: expect.stringContaining('CREDENTIALS_ENCRYPTION_KEY is not set') });
    // The key the credentials were stored under still reads them.
    expect(h.numbers.credentials((await h.numbers.byId(stored.id))!)).toMatchObject({ accessToken: META_TOKEN });
  });
});

describe('access', () => {
  it('is for admins only', async () => {
    const meta = await addMeta();
    const calls: [string, string, unknown?][] = [
      ['GET', '/api/v1/numbers'],
      ['GET', `/api/v1/numbers/${meta.id}`],
      ['POST', '/api/v1/numbers', { provider: 'meta', phone_number_id: metaId(), credentials: { access_token: META_TOKEN } }],
      ['PATCH', `/api/v1/numbers/${meta.id}`, { name: 'x' }],
      ['DELETE', `/api/v1/numbers/${meta.id}`],
      ['POST', `/api/v1/numbers/${meta.id}/check`],
    ];
    for (const [method, path, body] of calls) {
      for (const key of [KEYS.operator, KEYS.viewer, KEYS.marketer, KEYS.sales]) {
        const res = await h.api(method, path, { body, key });
        expect({ method, path, status: res.status, code: res.body?.error?.code }).toEqual({ method, path, status: 403, code: 'AUTHORIZATION_ERROR' });
      }
      expect((await h.api(method, path, { body, key: null })).status).toBe(401);
    }
    expect((await h.api('GET', `/api/v1/numbers/${meta.id}`)).body.name).toBe('Sales line');
  });
});
