import { findContactByWaId, setOptInByWaId } from '../src/db/contacts';
import { KEYS, startHarness, type Harness } from './helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

// The database is shared by every test file in a run: each number here is new.
let next = Math.floor(Math.random() * 9e7);
const newPhone = () => `+9198${String(next++ % 1e8).padStart(8, '0')}`;
const spaced = (e164: string) => `${e164.slice(0, 3)} ${e164.slice(3, 8)} ${e164.slice(8)}`;
const marketer = { key: KEYS.marketer };

async function create(body: Record<string, unknown>) {
  const res = await h.api('POST', '/api/v1/contacts', { body, ...marketer });
  expect(res.status).toBe(201);
  return res.body;
}

test('creates a contact with its number normalised, reads, updates and deletes it', async () => {
  const phone = newPhone();
  const c = await create({
    first_name: 'Asha',
    last_name: 'Rao',
    email: 'asha@example.com',
    company: 'Acme',
    tags: ['vip'],
    attributes: { city: 'Pune', seats: 3 },
    phone: spaced(phone),
  });
  expect(c).toMatchObject({ first_name: 'Asha', tags: ['vip'], attributes: { city: 'Pune', seats: 3 }, opt_in_status: false, primary_phone: phone });
  expect(c.phone_numbers).toEqual([expect.objectContaining({ phone_number: phone, wa_id: phone.slice(1), is_primary: true, verified: false })]);

  expect((await h.api('GET', `/api/v1/contacts/${c.id}`, { key: KEYS.viewer })).body).toMatchObject({ id: c.id, email: 'asha@example.com' });

  const put = await h.api('PUT', `/api/v1/contacts/${c.id}`, { body: { job_title: 'CTO', tags: ['customer'], email: '' }, ...marketer });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ first_name: 'Asha', job_title: 'CTO', tags: ['customer'], email: null, company: 'Acme' });
  const phoneInPut = await h.api('PUT', `/api/v1/contacts/${c.id}`, { body: { phone: newPhone() }, ...marketer });
  expect(phoneInPut.body.error.message).toMatch(/phone-numbers/);

  expect((await h.api('DELETE', `/api/v1/contacts/${c.id}`, marketer)).status).toBe(204);
  expect((await h.api('GET', `/api/v1/contacts/${c.id}`)).status).toBe(404);
  expect((await h.api('DELETE', `/api/v1/contacts/${c.id}`, marketer)).status).toBe(404);
  expect((await h.api('GET', '/api/v1/contacts/not-a-number')).body.error.code).toBe('NOT_FOUND');
  // Its number is free again.
  await create({ first_name: 'Again', phone });
});

test('refuses an invalid number with the reason, a missing one, and a number another contact owns', async () => {
  const bad = await h.api('POST', '/api/v1/contacts', { body: { first_name: 'X', phone: '+91 98765' }, ...marketer });
  expect(bad.status).toBe(400);
  expect(bad.body.error).toMatchObject({ code: 'VALIDATION_ERROR', message: 'phone: Phone number +91 98765 is too short for its country' });
  const missing = await h.api('POST', '/api/v1/contacts', { body: { first_name: 'X' }, ...marketer });
  expect(missing.body.error).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringMatching(/phone number is required/i) });
  expect((await h.api('POST', '/api/v1/contacts', { body: { phone: newPhone(), email: 'nope' }, ...marketer })).status).toBe(400);

  const phone = newPhone();
  const owner = await create({ first_name: 'Owner', phone });
  const taken = await h.api('POST', '/api/v1/contacts', { body: { first_name: 'Other', phone: `00${phone.slice(1)}` }, ...marketer });
  expect(taken.status).toBe(409);
  expect(taken.body.error).toMatchObject({ code: 'CONFLICT', details: { phone, contact_id: owner.id } });
});

test('lists with search, tag, company and opt-in filters, and pages with skip and limit', async () => {
  const tag = `t${next}`;
  const phones = [newPhone(), newPhone(), newPhone()];
  const a = await create({ first_name: 'Meera', last_name: 'Iyer', company: 'Zeta Labs', tags: [tag, 'vip'], phone: phones[0], opt_in_status: true });
  const b = await create({ first_name: 'Ravi', email: `ravi.${tag}@example.com`, company: 'Zeta Labs', tags: [tag], phone: phones[1] });
  const c = await create({ first_name: 'Sunil', company: 'Other Co', tags: [tag, 'vip'], phone: phones[2] });
  const ids = async (query: string) => {
    const res = await h.api('GET', `/api/v1/contacts?tag=${tag}&${query}`, { key: KEYS.viewer });
    expect(res.status).toBe(200);
    return res.body.contacts.map((x: { id: number }) => x.id);
  };
  expect(await ids('')).toEqual([a.id, b.id, c.id]);
  expect(await ids('search=meera%20iyer')).toEqual([a.id]);
  expect(await ids(`search=RAVI.${tag}`)).toEqual([b.id]);
  expect(await ids(`search=${phones[2]!.slice(-7)}`)).toEqual([c.id]);
  expect(await ids('company=zeta')).toEqual([a.id, b.id]);
  expect(await ids('tag=vip')).toEqual([a.id, c.id]);
  expect(await ids(`tag=${tag},vip&opt_in_status=true`)).toEqual([a.id]);
  expect(await ids('opt_in_status=false')).toEqual([b.id, c.id]);

  const page = await h.api('GET', `/api/v1/contacts?tag=${tag}&skip=1&limit=1`);
  expect(page.body).toMatchObject({ total: 3, skip: 1, limit: 1, contacts: [{ id: b.id }] });
  const all = await h.api('GET', '/api/v1/contacts');
  expect(all.body).toMatchObject({ skip: 0, limit: 100 });
  expect((await h.api('GET', '/api/v1/contacts?limit=1001')).status).toBe(400);
  expect((await h.api('GET', '/api/v1/contacts?opt_in_status=maybe')).status).toBe(400);
});

test('opt-in and opt-out record time and source; repeating one changes nothing', async () => {
  const c = await create({ first_name: 'Opt', phone: newPhone() });
  const before = Date.now();
  const optIn = await h.api('POST', `/api/v1/contacts/${c.id}/opt-in`, { body: { source: 'website_form' }, ...marketer });
  expect(optIn.body).toMatchObject({ opt_in_status: true, opt_in_source: 'website_form' });
  expect(Date.parse(optIn.body.opted_in_at)).toBeGreaterThanOrEqual(before - 1000);
  const again = await h.api('POST', `/api/v1/contacts/${c.id}/opt-in`, { ...marketer });
  expect(again.body).toMatchObject({ opt_in_source: 'website_form', opted_in_at: optIn.body.opted_in_at });

  const out = await h.api('POST', `/api/v1/contacts/${c.id}/opt-out`, { body: { reason: 'too many messages' }, ...marketer });
  expect(out.body).toMatchObject({ opt_in_status: false, opt_out_source: 'api', opt_out_reason: 'too many messages', opted_out_at: expect.any(String) });
  expect((await h.api('POST', '/api/v1/contacts/999999999/opt-out', marketer)).status).toBe(404);
});

test('consent through create and edit: "not opted in" is never asked, unticking withdraws given consent', async () => {
  const c = await create({ phone: newPhone(), opt_in_status: false });
  expect(c).toMatchObject({ opt_in_status: false, opted_out_at: null });
  const put = (body: object) => h.api('PUT', `/api/v1/contacts/${c.id}`, { body, ...marketer });
  expect((await put({ opt_in_status: false })).body).toMatchObject({ opt_in_status: false, opted_out_at: null });
  expect((await put({ opt_in_status: true, opt_in_source: 'crm' })).body).toMatchObject({ opt_in_status: true, opt_in_source: 'crm' });
  expect((await put({ opt_in_status: false })).body).toMatchObject({ opt_in_status: false, opt_out_source: 'api', opted_out_at: expect.any(String) });
});

test('roles: a viewer reads but may not write; no key is 401', async () => {
  const c = await create({ first_name: 'Role', phone: newPhone() });
  expect((await h.api('GET', `/api/v1/contacts/${c.id}`, { key: KEYS.viewer })).status).toBe(200);
  const denied = await h.api('POST', '/api/v1/contacts', { body: { phone: newPhone() }, key: KEYS.viewer });
  expect(denied.status).toBe(403);
  expect(denied.body.error.code).toBe('AUTHORIZATION_ERROR');
  expect((await h.api('PUT', `/api/v1/contacts/${c.id}`, { body: {}, key: KEYS.operator })).status).toBe(403);
  expect((await h.api('POST', `/api/v1/contacts/${c.id}/opt-in`, { key: KEYS.viewer })).status).toBe(403);
  expect((await h.api('GET', '/api/v1/contacts', { key: null })).status).toBe(401);
  expect((await h.api('POST', `/api/v1/contacts/${c.id}/opt-in`, { key: KEYS.admin })).status).toBe(200);
});

test('phone numbers: add, relabel, change primary, promote on delete, keep the last, verify once they wrote', async () => {
  const [p1, p2, p3] = [newPhone(), newPhone(), newPhone()];
  const c = await create({
    first_name: 'Multi',
    phone_numbers: [
      { phone_number: p1, label: 'work' },
      { phone_number: p2, label: 'home', is_primary: true },
    ],
  });
  expect(c.primary_phone).toBe(p2);
  const added = await h.api('POST', `/api/v1/contacts/${c.id}/phone-numbers`, { body: { phone_number: p3 }, ...marketer });
  expect(added.status).toBe(201);
  expect(added.body).toMatchObject({ phone_number: p3, is_primary: false });
  expect((await h.api('POST', `/api/v1/contacts/${c.id}/phone-numbers`, { body: { phone_number: p1 }, ...marketer })).status).toBe(409);

  const list = async () => (await h.api('GET', `/api/v1/contacts/${c.id}/phone-numbers`, { key: KEYS.viewer })).body.phone_numbers;
  const [primary, first, third] = await list();
  expect([primary.phone_number, primary.is_primary, first.phone_number, third.phone_number]).toEqual([p2, true, p1, p3]);

  const relabel = await h.api('PUT', `/api/v1/contacts/phone-numbers/${third.id}`, { body: { label: 'spare' }, ...marketer });
  expect(relabel.body).toMatchObject({ label: 'spare', is_primary: false });
  expect((await h.api('POST', `/api/v1/contacts/phone-numbers/${third.id}/set-primary`, marketer)).body.is_primary).toBe(true);
  expect((await list()).filter((p: { is_primary: boolean }) => p.is_primary).map((p: { id: number }) => p.id)).toEqual([third.id]);
  expect((await h.api('PUT', `/api/v1/contacts/phone-numbers/${third.id}`, { body: { is_primary: false }, ...marketer })).status).toBe(409);

  // Deleting the primary promotes the oldest remaining number.
  expect((await h.api('DELETE', `/api/v1/contacts/phone-numbers/${third.id}`, marketer)).status).toBe(204);
  expect((await list()).map((p: { id: number; is_primary: boolean }) => [p.id, p.is_primary])).toEqual([
    [first.id, true],
    [primary.id, false],
  ]);
  expect((await h.api('DELETE', `/api/v1/contacts/phone-numbers/${primary.id}`, marketer)).status).toBe(204);
  const last = await h.api('DELETE', `/api/v1/contacts/phone-numbers/${first.id}`, marketer);
  expect(last.status).toBe(409);
  expect(last.body.error.message).toMatch(/only phone number/);

  const notYet = await h.api('POST', `/api/v1/contacts/phone-numbers/${first.id}/verify`, marketer);
  expect(notYet.status).toBe(409);
  expect(notYet.body.error.message).toMatch(/verified once its owner has sent us a message/);
  await h.db
    .insertInto('conversations')
    .values({ wa_id: p1.slice(1), mode: 'bot', needs_human: false, operator: null, updated_at: new Date(), last_inbound_at: new Date() })
    .execute();
  const verified = await h.api('POST', `/api/v1/contacts/phone-numbers/${first.id}/verify`, marketer);
  expect(verified.body).toMatchObject({ verified: true, verified_at: expect.any(String) });
  expect((await h.api('POST', '/api/v1/contacts/phone-numbers/999999999/verify', marketer)).status).toBe(404);
});

test('opt-in stats count opted in, explicitly opted out and never asked, with their sources', async () => {
  const before = (await h.api('GET', '/api/v1/contacts/bulk/opt-in-stats', { key: KEYS.viewer })).body;
  await create({ phone: newPhone(), opt_in_status: true, opt_in_source: 'stats_test' });
  const out = await create({ phone: newPhone() });
  await h.api('POST', `/api/v1/contacts/${out.id}/opt-out`, { body: { source: 'stats_test_out' }, ...marketer });
  await create({ phone: newPhone() });
  const after = (await h.api('GET', '/api/v1/contacts/bulk/opt-in-stats', { key: KEYS.viewer })).body;
  expect(after.total - before.total).toBe(3);
  expect([after.opted_in - before.opted_in, after.opted_out - before.opted_out, after.never_opted_in - before.never_opted_in]).toEqual([1, 1, 1]);
  expect(after.opted_in + after.opted_out + after.never_opted_in).toBe(after.total);
  expect(after.opt_in_sources.stats_test).toBe(1);
  expect(after.opt_out_sources.stats_test_out).toBe(1);
  expect(after.opt_in_rate).toBeCloseTo((after.opted_in / after.total) * 100, 1);
});

test("setOptInByWaId creates an unknown number's contact, then changes nothing the second time", async () => {
  const waId = newPhone().slice(1);
  const at = new Date();
  const first = await setOptInByWaId(h.db, waId, false, { source: 'whatsapp_stop', reason: 'STOP', at, name: 'Neha' });
  expect(first.changed).toBe(true);
  expect(await setOptInByWaId(h.db, waId, false, { source: 'whatsapp_stop', at: new Date() })).toEqual({ contactId: first.contactId, changed: false });
  const contact = await findContactByWaId(h.db, waId);
  expect(contact).toMatchObject({
    id: first.contactId,
    first_name: 'Neha',
    opt_in_status: false,
    opt_out_source: 'whatsapp_stop',
    opt_out_reason: 'STOP',
    opted_out_at: at,
  });
  const view = (await h.api('GET', `/api/v1/contacts/${first.contactId}`)).body;
  expect(view.primary_phone).toBe(`+${waId}`);

  expect(await setOptInByWaId(h.db, waId, true, { source: 'whatsapp_start', at: new Date() })).toEqual({ contactId: first.contactId, changed: true });
  expect(await setOptInByWaId(h.db, waId, true, { source: 'whatsapp_start', at: new Date() })).toEqual({ contactId: first.contactId, changed: false });
  expect(await findContactByWaId(h.db, '99999999999')).toBeUndefined();
});
