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
const IMPORT = '/api/v1/contacts/bulk/import';

async function postCsv(csv: string, key: string = KEYS.marketer) {
  const res = await fetch(`${h.apiUrl}${IMPORT}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' }, body: csv });
  return { status: res.status, body: (await res.json()) as any };
}

async function contactsByPhone(phone: string) {
  const res = await h.api('GET', `/api/v1/contacts?search=${encodeURIComponent(phone)}`);
  return res.body.contacts;
}

test('a JSON import keeps the good rows, reports the bad ones, and a re-import updates instead of duplicating', async () => {
  const [p1, p2, p3] = [newPhone(), newPhone(), newPhone()];
  const contacts = [
    { first_name: 'Ira', phone: p1, tags: ['expo'], opt_in: true, attributes: { city: 'Pune' } },
    { first_name: 'Bad', phone: '+91 123' },
    { first_name: 'Jai', phone: p2.slice(1), email: 'jai@example.com' },
    { first_name: 'Twice', phone: `00${p1.slice(1)}` },
    { first_name: 'Kai', phone: p3, email: 'not-an-email' },
  ];
  const first = await h.api('POST', IMPORT, { body: { contacts }, key: KEYS.marketer });
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ created: 2, updated: 0, failed: 3, kept_opted_out: [] });
  expect(first.body.errors).toEqual([
    { row: 2, phone: '+91 123', reason: expect.stringMatching(/too short/) },
    { row: 4, phone: `00${p1.slice(1)}`, reason: expect.stringMatching(/already on row 1/) },
    { row: 5, phone: p3, reason: expect.stringMatching(/^email: /) },
  ]);
  const [ira] = await contactsByPhone(p1);
  expect(ira).toMatchObject({
    first_name: 'Ira',
    tags: ['expo'],
    attributes: { city: 'Pune' },
    opt_in_status: true,
    opt_in_source: 'import',
    primary_phone: p1,
  });

  // The same people again, as a bare array, with more to say about them.
  const again = await h.api('POST', IMPORT, {
    body: [
      { phone: p1, last_name: 'Sen', tags: ['vip', 'expo'], opt_in: false },
      { phone: p2, company: 'Acme' },
    ],
    key: KEYS.marketer,
  });
  expect(again.body).toMatchObject({ created: 0, updated: 2, failed: 0 });
  const [ira2] = await contactsByPhone(p1);
  // Blank fields keep their value, tags merge, and a list's "no" does not withdraw consent the person gave.
  expect(ira2).toMatchObject({ id: ira.id, first_name: 'Ira', last_name: 'Sen', tags: ['expo', 'vip'], attributes: { city: 'Pune' }, opt_in_status: true });
  expect(await contactsByPhone(p2)).toEqual([expect.objectContaining({ first_name: 'Jai', email: 'jai@example.com', company: 'Acme' })]);
});

test('a CSV import maps columns to fields, tags and attributes, and is idempotent', async () => {
  const [p1, p2] = [newPhone(), newPhone()];
  const csv = [
    'first_name,last_name,email,company,job_title,phone,tags,opt_in,city',
    `Lata,Nair,lata@example.com,Acme,CEO,"${p1.slice(0, 3)} ${p1.slice(3)}",vip;lead|csv,yes,Kochi`,
    'Nobody,,,,,,,,',
    `Mohan,,,,,${p2},csv,no,`,
    'Wrong,,,,,+91 98765 4321X,,,',
    ',,,,,,,,',
  ].join('\n');
  const first = await postCsv(csv);
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ created: 2, updated: 0, failed: 2 });
  expect(first.body.errors).toEqual([
    { row: 2, phone: null, reason: 'Phone number is required' },
    { row: 4, phone: '+91 98765 4321X', reason: expect.stringMatching(/not a phone number/) },
  ]);
  const [lata] = await contactsByPhone(p1);
  expect(lata).toMatchObject({ last_name: 'Nair', job_title: 'CEO', tags: ['vip', 'lead', 'csv'], attributes: { city: 'Kochi' }, opt_in_status: true });
  expect((await contactsByPhone(p2))[0]).toMatchObject({ first_name: 'Mohan', opt_in_status: false, opted_out_at: null });

  const again = await postCsv(csv);
  expect(again.body).toMatchObject({ created: 0, updated: 2, failed: 2 });
  expect(await contactsByPhone(p1)).toHaveLength(1);
});

test('an import never opts in again a contact who opted out; it reports them', async () => {
  const phone = newPhone();
  const c = (await h.api('POST', '/api/v1/contacts', { body: { first_name: 'Out', phone }, key: KEYS.marketer })).body;
  await h.api('POST', `/api/v1/contacts/${c.id}/opt-out`, { body: { source: 'whatsapp', reason: 'STOP' }, key: KEYS.marketer });
  const res = await postCsv(`phone,opt_in,company\n${phone},yes,NewCo\n`);
  expect(res.body).toMatchObject({ created: 0, updated: 1, failed: 0, kept_opted_out: [{ row: 1, phone, contact_id: c.id }] });
  const after = (await h.api('GET', `/api/v1/contacts/${c.id}`)).body;
  expect(after).toMatchObject({ opt_in_status: false, opt_out_source: 'whatsapp', company: 'NewCo' });
});

test('the same file uploaded twice at once creates each contact once', async () => {
  const phones = Array.from({ length: 40 }, newPhone);
  const csv = `phone,first_name\n${phones.map((p, i) => `${p},Twin ${i}`).join('\n')}`;
  const [a, b] = await Promise.all([postCsv(csv), postCsv(csv)]);
  expect([a.status, b.status]).toEqual([200, 200]);
  expect([a.body.created + b.body.created, a.body.updated + b.body.updated, a.body.failed + b.body.failed]).toEqual([40, 40, 0]);
  const stored = await h.db.selectFrom('contact_phone_numbers').select('contact_id').where('phone_number', 'in', phones).execute();
  expect(new Set(stored.map((r) => r.contact_id)).size).toBe(40);
});

test('limits: 10,000 rows, 5 MB, marketers only, a readable body', async () => {
  const tooMany = await h.api('POST', IMPORT, { body: Array.from({ length: 10_001 }, () => ({ phone: '+447911123456' })), key: KEYS.marketer });
  expect(tooMany.status).toBe(400);
  expect(tooMany.body.error.message).toMatch(/at most 10000 rows/);

  const huge = await postCsv(`phone,notes\n${`+447911123456,${'x'.repeat(1000)}\n`.repeat(5300)}`);
  expect(huge.status).toBe(413);
  expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');

  // Above the 256 kB every other route takes, within the import's 5 MB.
  const big = await h.api('POST', IMPORT, {
    body: { contacts: [{ phone: newPhone(), notes: 'y'.repeat(4000) }], padding: 'z'.repeat(400_000) },
    key: KEYS.marketer,
  });
  expect(big.body).toMatchObject({ created: 1 });

  expect((await postCsv('phone\n+447911123456\n', KEYS.viewer)).status).toBe(403);
  expect((await h.api('POST', IMPORT, { body: { people: [] }, key: KEYS.marketer })).body.error.code).toBe('VALIDATION_ERROR');
  const broken = await postCsv('phone,name\n"+447911123456,unterminated\n');
  expect(broken.status).toBe(400);
  expect(broken.body.error.message).toMatch(/CSV file could not be read/);
});
