/**
 * AI configurations (issue 13, item 2; seed 003) and the admin configuration (seed 000): admins
 * create, change, version, make default, test and delete named model settings; keys are stored
 * sealed and shown masked; GET /admin/config shows what runs with every secret redacted, and
 * PATCH /admin/settings changes the default AI settings (creating the default configuration from
 * the environment's first).
 */
import { freePort } from '../scripts/temporal-cli';
import { AI_KEY_PURPOSE } from '../src/ai/model';
import { DEFAULT_SYSTEM_PROMPT } from '../src/llm/chat-model';
import { FakeOpenAI } from './helpers/fake-openai';
import { APP_SECRET, KEYS, TEST_SECRETS, startHarness, type Harness } from './helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(() => h?.stop());

const KEY = 'sk-live-do-not-show-0123456789wxyz';
const numberIds: number[] = [];

// Every test starts with no configuration and no numbers of its own: a default left behind would
// change what later tests (and other test files' chats) answer with.
afterEach(async () => {
  if (numberIds.length) await h.db.deleteFrom('whatsapp_numbers').where('id', 'in', numberIds.splice(0)).execute();
  await h.db.updateTable('whatsapp_numbers').set({ ai_configuration_id: null }).execute();
  await h.db.updateTable('ai_configurations').set({ deleted_at: new Date(), is_default: false }).where('deleted_at', 'is', null).execute();
  h.numbers.invalidate();
  h.llm.faults.length = 0;
});

const create = (body: Record<string, unknown>) => h.api('POST', '/api/v1/ai-configurations', { body });
const get = (id: number) => h.api('GET', `/api/v1/ai-configurations/${id}`);
const patch = (id: number, body: Record<string, unknown>) => h.api('PATCH', `/api/v1/ai-configurations/${id}`, { body });
const versions = async (id: number) => (await h.api('GET', `/api/v1/ai-configurations/${id}/versions`)).body.versions as any[];

async function addNumber(aiConfigurationId: number | null): Promise<number> {
  const row = await h.db
    .insertInto('whatsapp_numbers')
    .values({ phone_number_id: `AI-TEST-${Date.now()}-${numberIds.length}`, provider: 'console', name: 'test number', ai_configuration_id: aiConfigurationId })
    .returning('id')
    .executeTakeFirstOrThrow();
  numberIds.push(row.id);
  h.numbers.invalidate();
  return row.id;
}

/** Everything a client could see of the configurations. */
async function everythingShown(): Promise<string> {
  const list = await h.api('GET', '/api/v1/ai-configurations');
  const all = [list.body, (await h.api('GET', '/api/v1/admin/config')).body];
  for (const c of list.body.ai_configurations) all.push((await get(c.id)).body, await versions(c.id));
  return JSON.stringify(all);
}

const dbState = () =>
  Promise.all([
    h.db.selectFrom('ai_configurations').selectAll().orderBy('id').execute(),
    h.db.selectFrom('ai_configuration_versions').selectAll().orderBy('configuration_id').orderBy('version').execute(),
  ]);

describe('AI configurations', () => {
  test('create takes the environment’s settings for what it omits; get, list, change and delete', async () => {
    const created = await create({ name: 'Support bot' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Support bot',
      base_url: null,
      api_key: null,
      api_key_source: 'environment',
      model: 'test-model',
      temperature: 0,
      max_tokens: 256,
      system_prompt: DEFAULT_SYSTEM_PROMPT,
      context_messages: h.aiDefaults.contextMessages,
      tools_enabled: true,
      debounce_ms: h.aiDefaults.debounceMs,
      max_wait_ms: h.aiDefaults.maxWaitMs,
      is_default: false,
      version: 1,
      used_by_numbers: [],
      created_by: 'key:admin-key',
    });
    const id = created.body.id as number;
    expect((await get(id)).body).toEqual(created.body);
    expect((await h.api('GET', '/api/v1/ai-configurations')).body).toMatchObject({ total: 1, ai_configurations: [{ id, name: 'Support bot' }] });

    const changed = await patch(id, { temperature: 0.7, system_prompt: 'You sell bicycles.', base_url: 'https://llm.example.com/v1' });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      id,
      version: 2,
      temperature: 0.7,
      system_prompt: 'You sell bicycles.',
      base_url: 'https://llm.example.com/v1',
      model: 'test-model',
    });
    expect((await patch(id, { base_url: null })).body).toMatchObject({ base_url: null, version: 3 });

    expect((await h.api('DELETE', `/api/v1/ai-configurations/${id}`)).status).toBe(204);
    expect((await get(id)).status).toBe(404);
    expect((await h.api('DELETE', `/api/v1/ai-configurations/${id}`)).status).toBe(404);
    expect((await patch(id, { temperature: 1 })).status).toBe(404);
    expect((await h.api('GET', '/api/v1/ai-configurations')).body).toEqual({ ai_configurations: [], total: 0 });
    for (const missing of ['999999', 'abc', '0', '99999999999']) {
      const res = await h.api('GET', `/api/v1/ai-configurations/${missing}`);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    }
  });

  test('bad input is a 400 in the spec’s format, and nothing changes', async () => {
    const { body: existing } = await create({ name: 'Existing', debounce_ms: 2000, max_wait_ms: 5000 });
    const before = await dbState();
    const bad: [string, Record<string, unknown>, string?][] = [
      ['create', {}, 'name'],
      ['create', { name: '   ' }, 'name'],
      ['create', { name: 'x', temperature: 2.5 }, 'temperature'],
      ['create', { name: 'x', temperature: '0.5' }, 'temperature'],
      ['create', { name: 'x', max_tokens: 0 }, 'max_tokens'],
      ['create', { name: 'x', max_tokens: 32_769 }, 'max_tokens'],
      ['create', { name: 'x', max_tokens: 1.5 }, 'max_tokens'],
      ['create', { name: 'x', system_prompt: '  ' }, 'system_prompt'],
      ['create', { name: 'x', system_prompt: 'a'.repeat(20_001) }, 'system_prompt'],
      ['create', { name: 'x', context_messages: 0 }, 'context_messages'],
      ['create', { name: 'x', context_messages: 101 }, 'context_messages'],
      ['create', { name: 'x', debounce_ms: -1 }, 'debounce_ms'],
      ['create', { name: 'x', debounce_ms: 60_001 }, 'debounce_ms'],
      ['create', { name: 'x', max_wait_ms: 300_001 }, 'max_wait_ms'],
      ['create', { name: 'x', debounce_ms: 5000, max_wait_ms: 1000 }, 'max_wait_ms'],
      ['create', { name: 'x', base_url: 'ftp://llm.example.com' }, 'base_url'],
      ['create', { name: 'x', base_url: 'not a url' }, 'base_url'],
      ['create', { name: 'x', base_url: 'https://user:secret@llm.example.com/v1' }, 'base_url'],
      ['create', { name: 'x', api_key: 'sk with spaces' }, 'api_key'],
      ['create', { name: 'x', tools_enabled: 'yes' }, 'tools_enabled'],
      ['create', { name: 'x', temprature: 0.5 }],
      ['patch', {}],
      ['patch', { temperature: -0.1 }, 'temperature'],
      ['patch', { max_wait_ms: 1000 }, 'max_wait_ms'],
      ['patch', { name: '' }, 'name'],
      ['patch', { model: 'ok', is_default: 'true' }, 'is_default'],
    ];
    for (const [action, body, field] of bad) {
      const res = action === 'create' ? await create(body) : await patch(existing.id, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.body.error).toMatchObject({
        code: 'VALIDATION_ERROR',
        message: expect.any(String),
        request_id: expect.any(String),
        timestamp: expect.any(String),
      });
      if (field) expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    }
    const unknown = await create({ name: 'x', temprature: 0.5 });
    expect(unknown.body.error.message).toContain('temprature');
    expect(await dbState()).toEqual(before);
  });

  test('names are unique among the configurations not deleted, ignoring case: 409', async () => {
    const first = await create({ name: 'Sales bot' });
    const clash = await create({ name: 'sales BOT' });
    expect(clash.status).toBe(409);
    expect(clash.body.error).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('sales BOT') });
    const other = await create({ name: 'Other' });
    expect((await patch(other.body.id, { name: ' SALES bot ' })).status).toBe(409);
    expect((await get(other.body.id)).body).toMatchObject({ name: 'Other', version: 1 });

    expect((await h.api('DELETE', `/api/v1/ai-configurations/${first.body.id}`)).status).toBe(204);
    expect((await patch(other.body.id, { name: 'Sales Bot' })).body).toMatchObject({ name: 'Sales Bot', version: 2 });
  });

  test('the API key is sealed in Postgres and never shown, only masked', async () => {
    const created = await create({ name: 'Own key', api_key: KEY, model: 'gpt-4o' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ api_key: '••••wxyz', api_key_source: 'configuration', api_key_error: null });
    const row = await h.db.selectFrom('ai_configurations').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(row.api_key_encrypted).toMatch(/^v1:/);
    expect(row.api_key_encrypted).not.toContain(KEY);
    expect(TEST_SECRETS.open(row.api_key_encrypted!, AI_KEY_PURPOSE)).toBe(KEY);
    const stored = await h.db.selectFrom('ai_configuration_versions').select('settings').where('configuration_id', '=', created.body.id).execute();
    expect(JSON.stringify(stored)).not.toContain(KEY);

    // The same key again is no change; a new one or none is.
    expect((await patch(created.body.id, { api_key: KEY })).body).toMatchObject({ version: 1, api_key: '••••wxyz' });
    expect((await patch(created.body.id, { api_key: 'sk-another-key-abcd' })).body).toMatchObject({ version: 2, api_key: '••••abcd' });
    const shown = await everythingShown();
    expect(shown).not.toContain(KEY);
    expect(shown).not.toContain('sk-another-key-abcd');
    expect(shown).not.toContain(row.api_key_encrypted);
    expect((await patch(created.body.id, { api_key: null })).body).toMatchObject({ version: 3, api_key: null, api_key_source: 'environment' });
  });

  test('without CREDENTIALS_ENCRYPTION_KEY a key cannot be stored, and a stored one shows as unreadable', async () => {
    const url = await h.serveApi({ secrets: undefined });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${KEYS.admin}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const refused = await call('POST', '/api/v1/ai-configurations', { name: 'Keyed', api_key: KEY });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('CREDENTIALS_ENCRYPTION_KEY');
    expect(await h.db.selectFrom('ai_configurations').select('id').where('name', '=', 'Keyed').where('deleted_at', 'is', null).execute()).toEqual([]);
    expect((await call('POST', '/api/v1/ai-configurations', { name: 'Keyless' })).status).toBe(201);

    const sealed = await create({ name: 'Sealed elsewhere', api_key: KEY });
    const seen = await call('GET', `/api/v1/ai-configurations/${sealed.body.id}`);
    expect(seen.body).toMatchObject({ api_key: '••••', api_key_source: 'configuration', api_key_error: expect.stringContaining('CREDENTIALS_ENCRYPTION_KEY') });
    const tested = await call('POST', `/api/v1/ai-configurations/${sealed.body.id}/test`);
    expect(tested.body).toMatchObject({ ok: false, error: { type: 'key_unreadable' } });
  });

  test('a version is added only when the settings change, and every version is kept whole', async () => {
    const { body: c } = await create({ name: 'Versioned', temperature: 0.2 });
    expect((await patch(c.id, { temperature: 0.2, model: 'test-model' })).body.version).toBe(1);
    expect((await patch(c.id, { is_default: true })).body).toMatchObject({ version: 1, is_default: true });
    expect((await patch(c.id, { model: 'bigger-model' })).body.version).toBe(2);
    expect((await patch(c.id, { name: 'Versioned again' })).body.version).toBe(3);

    const list = await versions(c.id);
    expect(list.map((v) => v.version)).toEqual([3, 2, 1]);
    expect(list[0]).toMatchObject({ created_by: 'key:admin-key', settings: { name: 'Versioned again', model: 'bigger-model', temperature: 0.2 } });
    expect(list[2].settings).toMatchObject({ name: 'Versioned', model: 'test-model', api_key: null, api_key_source: 'environment' });
    expect(list[2].created_at).toEqual(expect.any(String));
    expect((await h.api('GET', '/api/v1/ai-configurations/999999/versions')).status).toBe(404);
  });

  test('one default at a time; the default may be deleted, leaving the environment’s settings', async () => {
    const a = (await create({ name: 'A', is_default: true })).body;
    const b = (await create({ name: 'B', is_default: true })).body;
    const defaults = async () =>
      (await h.api('GET', '/api/v1/ai-configurations')).body.ai_configurations.filter((c: any) => c.is_default).map((c: any) => c.name);
    expect(await defaults()).toEqual(['B']);
    const made = await h.api('POST', `/api/v1/ai-configurations/${a.id}/default`);
    expect(made.body).toMatchObject({ id: a.id, is_default: true, version: 1 });
    expect(await defaults()).toEqual(['A']);
    expect((await h.api('POST', '/api/v1/ai-configurations/999999/default')).status).toBe(404);
    expect((await h.api('GET', '/api/v1/admin/config')).body.ai).toMatchObject({ source: 'configuration', id: a.id, name: 'A' });

    expect((await h.api('DELETE', `/api/v1/ai-configurations/${a.id}`)).status).toBe(204);
    expect(await defaults()).toEqual([]);
    expect((await h.api('GET', '/api/v1/admin/config')).body.ai).toMatchObject({ source: 'environment', model: 'test-model' });
    expect((await get(b.id)).body.is_default).toBe(false);
  });

  test('a configuration a number uses cannot be deleted: 409 naming the numbers', async () => {
    const { body: c } = await create({ name: 'In use' });
    const numberId = await addNumber(c.id);
    expect((await get(c.id)).body.used_by_numbers).toEqual([numberId]);
    const refused = await h.api('DELETE', `/api/v1/ai-configurations/${c.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'CONFLICT', details: { number_ids: [numberId] }, message: expect.stringContaining(String(numberId)) });
    expect((await get(c.id)).status).toBe(200);

    await h.db.updateTable('whatsapp_numbers').set({ ai_configuration_id: null }).where('id', '=', numberId).execute();
    expect((await h.api('DELETE', `/api/v1/ai-configurations/${c.id}`)).status).toBe(204);
  });
});

describe('testing a configuration', () => {
  test('one real call to its model: the reply, the tokens and the time, recorded nowhere', async () => {
    const { body: c } = await create({ name: 'Tested', model: 'model-under-test', system_prompt: 'You are a test.', api_key: KEY });
    const usageBefore = await h.db
      .selectFrom('llm_usage')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    const asked = h.llm.requests.length;

    const res = await h.api('POST', `/api/v1/ai-configurations/${c.id}/test`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      model: 'model-under-test',
      reply: 'Reply to: Hello! Reply with a short greeting.',
      latency_ms: expect.any(Number),
      prompt_tokens: 10,
      completion_tokens: 5,
    });
    expect(h.llm.requests).toHaveLength(asked + 1);
    expect(h.llm.requests.at(-1)!.messages[0]).toEqual({ role: 'system', content: 'You are a test.' });

    const custom = await h.api('POST', `/api/v1/ai-configurations/${c.id}/test`, { body: { message: 'Ping?' } });
    expect(custom.body).toMatchObject({ ok: true, reply: 'Reply to: Ping?' });
    const usageAfter = await h.db
      .selectFrom('llm_usage')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(usageAfter.n).toBe(usageBefore.n);
    expect((await h.api('POST', '/api/v1/ai-configurations/999999/test')).status).toBe(404);
  });

  test('a refused key, a rate limit, a slow model and a closed port are failures that say which', async () => {
    const { body: c } = await create({ name: 'Failing', api_key: KEY });
    h.llm.faults.push(FakeOpenAI.apiError(401, `Incorrect API key provided: ${KEY}`));
    const refused = await h.api('POST', `/api/v1/ai-configurations/${c.id}/test`);
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ ok: false, model: 'test-model', error: { type: 'auth_refused', status: 401 } });
    expect(refused.body.error.message).toContain('Incorrect API key');
    expect(JSON.stringify(refused.body)).not.toContain(KEY);

    h.llm.faults.push(FakeOpenAI.apiError(429, 'You exceeded your current quota'));
    expect((await h.api('POST', `/api/v1/ai-configurations/${c.id}/test`)).body).toMatchObject({ ok: false, error: { type: 'rate_limited', status: 429 } });

    // An API whose LLM_TIMEOUT_MS is shorter than the model takes.
    const impatient = await h.serveApi({ aiDefaults: { ...h.aiDefaults, timeoutMs: 200 } });
    const slow = await h.llm.during({ delayMs: 1000 }, async () => {
      const res = await fetch(`${impatient}/api/v1/ai-configurations/${c.id}/test`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.admin}` } });
      return (await res.json()) as any;
    });
    expect(slow).toMatchObject({ ok: false, error: { type: 'timeout', status: null } });

    const closed = await freePort();
    await patch(c.id, { base_url: `http://127.0.0.1:${closed}/v1` });
    const unreachable = await h.api('POST', `/api/v1/ai-configurations/${c.id}/test`);
    expect(unreachable.body).toMatchObject({ ok: false, error: { type: 'unreachable', status: null } });
    expect(unreachable.body.error.message).toContain(`127.0.0.1:${closed}`);
  });
});

describe('admin configuration', () => {
  test('GET /admin/config shows what runs, with no secret in it', async () => {
    const { body: c } = await create({ name: 'Number bot', api_key: KEY });
    const numberId = await addNumber(c.id);
    const res = await h.api('GET', '/api/v1/admin/config');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      environment: 'development',
      version: 'test',
      ai: { source: 'environment', model: 'test-model', base_url: h.aiDefaults.baseUrl, api_key_source: 'environment', api_key: '••••' },
      ai_configurations: { total: 1, default_id: null },
      limits: { rate_limit_per_minute: 1_000_000, max_message_length: 4096, request_body_limit: '256kb' },
      integrations: {
        whatsapp: { provider: 'meta', webhook_signatures: 'checked', verify_token_set: true },
        credentials_encryption: { configured: true, key_id: TEST_SECRETS.keyId },
        llm: { model: 'test-model', api_key_set: true },
      },
    });
    expect(res.body.numbers[0]).toMatchObject({ id: 1, phone_number_id: 'PNID', is_default: true, ai_configuration: { source: 'environment' } });
    expect(res.body.numbers.find((n: any) => n.id === numberId)).toMatchObject({
      provider: 'console',
      enabled: true,
      ai_configuration: { source: 'number', id: c.id, name: 'Number bot', version: 1 },
    });

    await h.api('POST', `/api/v1/ai-configurations/${c.id}/default`);
    const withDefault = (await h.api('GET', '/api/v1/admin/config')).body;
    expect(withDefault.ai).toMatchObject({ source: 'configuration', id: c.id, api_key: '••••wxyz', api_key_source: 'configuration' });
    expect(withDefault.numbers[0].ai_configuration).toMatchObject({ source: 'default', id: c.id });

    const shown = JSON.stringify(withDefault) + JSON.stringify(res.body);
    for (const secret of [KEY, h.aiDefaults.apiKey!, APP_SECRET, 'verify-me', KEYS.admin, 'graph-token']) expect(shown).not.toContain(secret);
  });

  test('PATCH /admin/settings creates the default configuration from the environment, then versions it', async () => {
    const first = await h.api('PATCH', '/api/v1/admin/settings', { body: { model: 'gpt-settings', temperature: 1.1 } });
    expect(first.status).toBe(200);
    expect(first.body.ai).toMatchObject({ source: 'configuration', name: 'Default', model: 'gpt-settings', temperature: 1.1, version: 2 });
    const id = first.body.ai.id as number;
    const history = await versions(id);
    expect(history.map((v) => [v.version, v.settings.model, v.settings.temperature])).toEqual([
      [2, 'gpt-settings', 1.1],
      [1, 'test-model', 0],
    ]);

    expect((await h.api('PATCH', '/api/v1/admin/settings', { body: { model: 'gpt-settings' } })).body.ai.version).toBe(2);
    const third = await h.api('PATCH', '/api/v1/admin/settings', { body: { system_prompt: 'Be brief.', debounce_ms: 100, max_wait_ms: 200 } });
    expect(third.body.ai).toMatchObject({ id, version: 3, system_prompt: 'Be brief.', debounce_ms: 100, max_wait_ms: 200, model: 'gpt-settings' });
    expect((await h.api('GET', '/api/v1/ai-configurations')).body.total).toBe(1);
  });

  test('PATCH /admin/settings refuses unknown keys by name and bad values, changing nothing', async () => {
    const before = await dbState();
    const seedStyle = await h.api('PATCH', '/api/v1/admin/settings', {
      body: { features: { sentiment_analysis: false }, limits: { rate_limit_per_minute: 100 } },
    });
    expect(seedStyle.status).toBe(400);
    expect(seedStyle.body.error.code).toBe('VALIDATION_ERROR');
    expect(seedStyle.body.error.message).toMatch(/"features", "limits"/);
    for (const body of [{}, { temperature: 9 }, { max_wait_ms: 1, debounce_ms: 50 }, { api_key: KEY }, { name: 'Renamed' }]) {
      const res = await h.api('PATCH', '/api/v1/admin/settings', { body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
    expect(await dbState()).toEqual(before);
  });

  test('PATCH /admin/settings will not take the name of a configuration that is not the default', async () => {
    await create({ name: 'default' });
    const res = await h.api('PATCH', '/api/v1/admin/settings', { body: { model: 'x' } });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain('/default');
  });
});

test('only admins may read or change AI configurations and the admin configuration', async () => {
  const { body: c } = await create({ name: 'Admins only' });
  const calls: [string, string, unknown?][] = [
    ['GET', '/api/v1/ai-configurations'],
    ['POST', '/api/v1/ai-configurations', { name: 'Nope' }],
    ['GET', `/api/v1/ai-configurations/${c.id}`],
    ['PATCH', `/api/v1/ai-configurations/${c.id}`, { temperature: 1 }],
    ['DELETE', `/api/v1/ai-configurations/${c.id}`],
    ['POST', `/api/v1/ai-configurations/${c.id}/default`],
    ['POST', `/api/v1/ai-configurations/${c.id}/test`],
    ['GET', `/api/v1/ai-configurations/${c.id}/versions`],
    ['GET', '/api/v1/admin/config'],
    ['PATCH', '/api/v1/admin/settings', { temperature: 1 }],
  ];
  const asked = h.llm.requests.length;
  for (const key of [KEYS.operator, KEYS.viewer, KEYS.marketer, KEYS.sales]) {
    for (const [method, path, body] of calls) {
      const res = await h.api(method, path, { body, key });
      expect({ method, path, status: res.status, code: res.body?.error?.code }).toEqual({ method, path, status: 403, code: 'AUTHORIZATION_ERROR' });
    }
  }
  for (const [method, path, body] of calls) expect((await h.api(method, path, { body, key: null })).status).toBe(401);
  expect((await get(c.id)).body).toMatchObject({ temperature: 0, version: 1 });
  expect(h.llm.requests).toHaveLength(asked);
});
