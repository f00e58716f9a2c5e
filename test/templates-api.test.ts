import { randomUUID } from 'node:crypto';
import { KEYS, startHarness, type Harness } from './helpers/harness';

let h: Harness;
// The database is shared by every test file: names carry this run's tag and lists filter on it.
const tag = randomUUID().replace(/-/g, '').slice(0, 10);
const name = (base: string) => `${base}_${tag}`;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const create = (body: Record<string, unknown>, key: string | null = KEYS.marketer) =>
  h.api('POST', '/api/v1/templates', { body: { language: 'en', category: 'MARKETING', ...body }, key });

test('creates, reads, updates and deletes a template', async () => {
  const created = await create({ name: name('welcome'), body: 'Hi {{first_name}}, use {{ 1 }} by {{first_name}}' });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    id: expect.any(Number),
    name: name('welcome'),
    language: 'en',
    category: 'MARKETING',
    status: 'PENDING',
    variables: ['first_name', '1'],
    created_at: expect.any(String),
    updated_at: expect.any(String),
  });
  const { id } = created.body;

  const got = await h.api('GET', `/api/v1/templates/${id}`, { key: KEYS.viewer });
  expect(got.status).toBe(200);
  expect(got.body).toEqual(created.body);

  const updated = await h.api('PUT', `/api/v1/templates/${id}`, { body: { status: 'APPROVED', body: 'Hello {{name}}' }, key: KEYS.marketer });
  expect(updated.status).toBe(200);
  expect(updated.body).toMatchObject({ id, name: name('welcome'), status: 'APPROVED', body: 'Hello {{name}}', variables: ['name'] });
  expect(new Date(updated.body.updated_at).getTime()).toBeGreaterThanOrEqual(new Date(created.body.updated_at).getTime());

  expect((await h.api('DELETE', `/api/v1/templates/${id}`, { key: KEYS.marketer })).status).toBe(204);
  expect((await h.api('GET', `/api/v1/templates/${id}`)).status).toBe(404);
  expect((await h.api('DELETE', `/api/v1/templates/${id}`)).status).toBe(404);
});

test('lists with status, category, language and name filters and skip/limit paging', async () => {
  await create({ name: name('promo_a'), body: 'A', status: 'APPROVED' });
  await create({ name: name('promo_b'), body: 'B', language: 'es_MX' });
  await create({ name: name('otp'), body: 'Code {{1}}', category: 'AUTHENTICATION', status: 'APPROVED' });

  const list = (query: string) => h.api('GET', `/api/v1/templates?search=${tag}&${query}`, { key: KEYS.viewer });
  const names = (res: { body: any }) => res.body.templates.map((t: { name: string }) => t.name).sort();

  const all = await list('');
  expect(all.status).toBe(200);
  expect(all.body).toMatchObject({ total: 3, skip: 0, limit: 100 });
  expect(names(await list('status=APPROVED'))).toEqual([name('otp'), name('promo_a')]);
  expect(names(await list('category=AUTHENTICATION'))).toEqual([name('otp')]);
  expect(names(await list('language=es_MX'))).toEqual([name('promo_b')]);
  expect(names(await h.api('GET', `/api/v1/templates?search=promo_a_${tag}`))).toEqual([name('promo_a')]);
  // LIKE wildcards are plain characters here.
  expect((await h.api('GET', `/api/v1/templates?search=${encodeURIComponent(`%${tag}`)}`)).body.total).toBe(0);
  expect(names(await h.api('GET', `/api/v1/templates?search=PROMO_B_${tag}`))).toEqual([name('promo_b')]);

  const first = await list('limit=2');
  const second = await list('limit=2&skip=2');
  expect(first.body).toMatchObject({ total: 3, limit: 2, skip: 0 });
  expect(first.body.templates).toHaveLength(2);
  expect(second.body.templates).toHaveLength(1);
  const seen = [...first.body.templates, ...second.body.templates].map((t: { id: number }) => t.id);
  expect(new Set(seen).size).toBe(3);

  for (const bad of ['limit=1001', 'limit=0', 'skip=-1', 'status=LIVE', 'category=PROMO']) {
    const res = await h.api('GET', `/api/v1/templates?${bad}`);
    expect([bad, res.status, res.body.error.code]).toEqual([bad, 400, 'VALIDATION_ERROR']);
  }
});

test('name and language together are unique: 409 on create and on update', async () => {
  expect((await create({ name: name('dup'), body: 'one' })).status).toBe(201);
  const again = await create({ name: name('dup'), body: 'two' });
  expect(again.status).toBe(409);
  expect(again.body.error).toMatchObject({ code: 'CONFLICT', request_id: expect.any(String) });

  const other = await create({ name: name('dup'), language: 'en_US', body: 'other language' });
  expect(other.status).toBe(201);
  const clash = await h.api('PUT', `/api/v1/templates/${other.body.id}`, { body: { language: 'en' } });
  expect(clash.status).toBe(409);
  expect(clash.body.error.code).toBe('CONFLICT');
});

test('rejects invalid input with 400 in the error format', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ name: 'Welcome Offer', body: 'x' }, 'name'],
    [{ name: '', body: 'x' }, 'name'],
    [{ name: 'a'.repeat(513), body: 'x' }, 'name'],
    [{ name: name('badcat'), body: 'x', category: 'PROMOTIONAL' }, 'category'],
    [{ name: name('badlang'), body: 'x', language: 'english' }, 'language'],
    [{ name: name('long'), body: 'x'.repeat(1025) }, 'body'],
    [{ name: name('blank'), body: '   ' }, 'body'],
    [{ name: name('badstatus'), body: 'x', status: 'LIVE' }, 'status'],
  ];
  for (const [body, field] of cases) {
    const res = await create(body);
    expect([field, res.status, res.body.error.code]).toEqual([field, 400, 'VALIDATION_ERROR']);
    expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  }
  expect((await create({ name: name('max_body'), body: 'x'.repeat(1024) })).status).toBe(201);

  const { body: t } = await create({ name: name('to_update'), body: 'x' });
  expect((await h.api('PUT', `/api/v1/templates/${t.id}`, { body: { category: 'PROMO' } })).status).toBe(400);
  expect((await h.api('PUT', `/api/v1/templates/${t.id}`, { body: { name: 'Has Spaces' } })).status).toBe(400);
  expect((await h.api('PUT', `/api/v1/templates/${t.id}`, { body: {} })).status).toBe(400);
});

test('bad or unknown ids are 404, never 500', async () => {
  for (const id of ['abc', '1.5', '-1', '99999999999', '2147483647']) {
    for (const [method, path] of [
      ['GET', ''],
      ['PUT', ''],
      ['DELETE', ''],
      ['POST', '/render'],
    ] as const) {
      const res = await h.api(method, `/api/v1/templates/${id}${path}`, { body: method === 'GET' || method === 'DELETE' ? undefined : { status: 'APPROVED' } });
      expect([method, id, res.status, res.body.error.code]).toEqual([method, id, 404, 'NOT_FOUND']);
    }
  }
});

test('renders a template, and lists every missing variable in a 400', async () => {
  const { body: t } = await create({ name: name('render'), body: 'Hi {{ first_name }}, your order {{1}} ships {{when}}.' });
  const ok = await h.api('POST', `/api/v1/templates/${t.id}/render`, {
    body: { variables: { first_name: 'Ana', 1: 4821, when: 'today' } },
    key: KEYS.viewer,
  });
  expect(ok.status).toBe(200);
  expect(ok.body).toEqual({ text: 'Hi Ana, your order 4821 ships today.', variables: ['first_name', '1', 'when'] });

  const missing = await h.api('POST', `/api/v1/templates/${t.id}/render`, { body: { variables: { first_name: 'Ana', when: '  ' } } });
  expect(missing.status).toBe(400);
  expect(missing.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { missing: ['1', 'when'] } });

  const none = await h.api('POST', `/api/v1/templates/${t.id}/render`, { body: {} });
  expect(none.body.error.details).toEqual({ missing: ['first_name', '1', 'when'] });
  expect((await h.api('POST', `/api/v1/templates/${t.id}/render`, { body: { variables: { first_name: { nested: 1 } } } })).status).toBe(400);
});

test('viewers read, only marketers and admins write, and a key is required', async () => {
  const { body: t } = await create({ name: name('roles'), body: 'x' }, KEYS.admin);
  expect(t.id).toEqual(expect.any(Number));
  expect((await h.api('GET', '/api/v1/templates', { key: KEYS.viewer })).status).toBe(200);
  expect((await h.api('GET', `/api/v1/templates/${t.id}`, { key: KEYS.operator })).status).toBe(200);

  const denied = await create({ name: name('viewer_write'), body: 'x' }, KEYS.viewer);
  expect(denied.status).toBe(403);
  expect(denied.body.error.code).toBe('AUTHORIZATION_ERROR');
  expect((await h.api('PUT', `/api/v1/templates/${t.id}`, { body: { status: 'APPROVED' }, key: KEYS.viewer })).status).toBe(403);
  expect((await h.api('DELETE', `/api/v1/templates/${t.id}`, { key: KEYS.operator })).status).toBe(403);

  const anonymous = await h.api('GET', '/api/v1/templates', { key: null });
  expect(anonymous.status).toBe(401);
  expect(anonymous.body.error.code).toBe('AUTHENTICATION_ERROR');
  expect((await create({ name: name('anon'), body: 'x' }, null)).status).toBe(401);
});

test('a template used by a campaign cannot be deleted', async () => {
  const { body: t } = await create({ name: name('in_use'), body: 'x' });
  const campaign = await h.db
    .insertInto('campaigns')
    .values({ name: `x_${tag}`, template_id: t.id })
    .returning('id')
    .executeTakeFirstOrThrow();

  const refused = await h.api('DELETE', `/api/v1/templates/${t.id}`, { key: KEYS.marketer });
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({ code: 'CONFLICT', details: { campaign_ids: [campaign.id] } });
  expect((await h.api('GET', `/api/v1/templates/${t.id}`)).status).toBe(200);

  await h.db.deleteFrom('campaigns').where('id', '=', campaign.id).execute();
  expect((await h.api('DELETE', `/api/v1/templates/${t.id}`, { key: KEYS.marketer })).status).toBe(204);
});
