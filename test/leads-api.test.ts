import { randomUUID } from 'node:crypto';
import { createLeadForContact, findOpenLeadForContact, recordLeadActivity } from '../src/db/leads';
import { createCampaign, createTemplate, importContacts, uniqueTag, uniqueWaIds } from './helpers/campaigns';
import { KEYS, startHarness, type Harness } from './helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const sales = { key: KEYS.sales };
const LEADS = '/api/v1/leads';
// The database is shared with every other test file: each test's leads carry a source of their own.
const uniqueSource = () => `test_${randomUUID().slice(0, 8)}`;

/** New contacts, in order; names are "<prefix> 1", "<prefix> 2" ... */
async function newContacts(n: number, prefix = 'Lead'): Promise<{ id: number; waId: string }[]> {
  const waIds = uniqueWaIds(n);
  const ids = await importContacts(
    h,
    waIds.map((waId, i) => ({ waId, firstName: `${prefix} ${i + 1}`, tags: [uniqueTag('lead')] })),
  );
  return waIds.map((waId) => ({ id: ids.get(waId)!, waId }));
}

async function createLead(body: Record<string, unknown>, key: string = KEYS.sales) {
  const res = await h.api('POST', LEADS, { body: { title: 'Deal', ...body }, key });
  if (res.status !== 201) throw new Error(`create lead: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function activities(leadId: number) {
  const res = await h.api('GET', `${LEADS}/${leadId}/activities`, { key: KEYS.viewer });
  expect(res.status).toBe(200);
  return res.body.activities as { type: string; metadata: any; actor: string | null; description: string }[];
}

const post = (path: string, body: unknown = {}) => h.api('POST', `${LEADS}${path}`, { body, ...sales });
const ids = (res: { body: { leads: { id: number }[] } }) => res.body.leads.map((l) => l.id);

test('creates a lead with defaults, reads it with its contact, updates only what is named, deletes it', async () => {
  const [c] = await newContacts(1, 'Priya');
  const lead = await createLead({ contact_id: c!.id, title: 'Enterprise Deal', estimated_value: '25000.00', probability: 40 });
  expect(lead).toMatchObject({
    contact_id: c!.id,
    title: 'Enterprise Deal',
    status: 'new',
    priority: 'medium',
    source: 'api',
    estimated_value: '25000.00',
    probability: 40,
    lead_score: 0,
    assigned_to: null,
    campaign_id: null,
    closed_at: null,
    contact: { id: c!.id, name: 'Priya 1', wa_id: c!.waId, phone_number: `+${c!.waId}` },
  });
  expect(lead.created_by).toMatch(/^key:/);

  const got = await h.api('GET', `${LEADS}/${lead.id}`, { key: KEYS.viewer });
  expect(got.status).toBe(200);
  expect(got.body).toMatchObject({ id: lead.id, contact: { name: 'Priya 1', wa_id: c!.waId } });

  // A partial update must not put back defaults for what it leaves out.
  await h.api('PUT', `${LEADS}/${lead.id}`, { body: { priority: 'high', lead_score: 55 }, ...sales });
  const put = await h.api('PUT', `${LEADS}/${lead.id}`, { body: { title: 'Renamed', estimated_value: 1234.5 }, ...sales });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ title: 'Renamed', estimated_value: '1234.50', priority: 'high', lead_score: 55, status: 'new', probability: 40 });
  const cleared = await h.api('PUT', `${LEADS}/${lead.id}`, { body: { estimated_value: null, description: 'big one' }, ...sales });
  expect(cleared.body).toMatchObject({ estimated_value: null, description: 'big one', title: 'Renamed' });
  expect((await activities(lead.id)).map((a) => a.type)).toEqual(['created', 'updated', 'score_changed', 'updated', 'updated']);

  expect((await h.api('DELETE', `${LEADS}/${lead.id}`, sales)).status).toBe(204);
  expect((await h.api('GET', `${LEADS}/${lead.id}`)).status).toBe(404);
  expect((await h.api('DELETE', `${LEADS}/${lead.id}`, sales)).status).toBe(404);
  expect((await h.api('PUT', `${LEADS}/${lead.id}`, { body: { title: 'x' }, ...sales })).status).toBe(404);
  expect((await h.api('GET', `${LEADS}/abc`)).body.error.code).toBe('NOT_FOUND');
  expect((await h.api('GET', `${LEADS}/99999999999`)).status).toBe(404);
  expect((await post('/not-a-number/assign', { assigned_to: 'x' })).status).toBe(404);
});

test('refuses invalid bodies and references that do not exist with 400', async () => {
  const [c] = await newContacts(1);
  const bad = async (body: Record<string, unknown>, message: RegExp) => {
    const res = await h.api('POST', LEADS, { body, ...sales });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringMatching(message) });
  };
  await bad({ title: 'No contact' }, /^contact_id/);
  await bad({ contact_id: 2_000_000_000, title: 'Ghost' }, /^contact_id: contact 2000000000 does not exist/);
  await bad({ contact_id: c!.id, title: 'x', campaign_id: 2_000_000_000 }, /^campaign_id: campaign 2000000000 does not exist/);
  await bad({ contact_id: c!.id }, /^title/);
  await bad({ contact_id: c!.id, title: 'x', estimated_value: '12.345' }, /^estimated_value/);
  await bad({ contact_id: c!.id, title: 'x', estimated_value: -5 }, /^estimated_value/);
  await bad({ contact_id: c!.id, title: 'x', lead_score: 101 }, /^lead_score/);
  await bad({ contact_id: c!.id, title: 'x', status: 'maybe' }, /^status/);
  await bad({ contact_id: c!.id, title: 'x', priority: 'whenever' }, /^priority/);
  // Nothing was created by any of them.
  expect((await h.api('GET', `${LEADS}?contact_id=${c!.id}`)).body.total).toBe(0);

  const lead = await createLead({ contact_id: c!.id });
  expect((await h.api('PUT', `${LEADS}/${lead.id}`, { body: {}, ...sales })).status).toBe(400);
  expect((await post(`/${lead.id}/score`, { lead_score: -1 })).status).toBe(400);
  expect((await post(`/${lead.id}/close-lost`, {})).body.error).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringMatching(/^reason/) });
});

test('a contact has at most one open lead: a second is a conflict until the first closes', async () => {
  const [c] = await newContacts(1);
  const first = await createLead({ contact_id: c!.id, title: 'First' });
  const second = await h.api('POST', LEADS, { body: { contact_id: c!.id, title: 'Second' }, ...sales });
  expect(second.status).toBe(409);
  expect(second.body.error).toMatchObject({ code: 'CONFLICT', details: { contact_id: c!.id, lead_id: first.id } });

  expect((await post(`/${first.id}/convert`)).status).toBe(200);
  const next = await createLead({ contact_id: c!.id, title: 'Upsell' });
  // Reopening the won lead would make two open ones, whichever way it is tried.
  const reopen = await h.api('PUT', `${LEADS}/${first.id}`, { body: { status: 'negotiation' }, ...sales });
  expect(reopen.status).toBe(409);
  expect(reopen.body.error.details).toMatchObject({ lead_id: next.id });
  expect((await post('/bulk/update-status', { lead_ids: [first.id], status: 'new' })).status).toBe(409);
  expect((await h.api('GET', `${LEADS}/${first.id}`)).body.status).toBe('won');

  // Once the other closes, the won lead may reopen; its closing stamps are cleared.
  await post(`/${next.id}/close-lost`, { reason: 'budget' });
  const reopened = await h.api('PUT', `${LEADS}/${first.id}`, { body: { status: 'negotiation' }, ...sales });
  expect(reopened.body).toMatchObject({ status: 'negotiation', converted_at: null, closed_at: null });
});

test('each action changes the lead and writes its activity, by the caller', async () => {
  const [c] = await newContacts(1);
  const lead = await createLead({ contact_id: c!.id, title: 'Actions' });

  const assigned = await post(`/${lead.id}/assign`, { assigned_to: 'asha' });
  expect(assigned.body).toMatchObject({ assigned_to: 'asha', contact: { id: c!.id } });
  const contacted = await post(`/${lead.id}/contacted`, { note: 'called, interested' });
  expect(contacted.body).toMatchObject({ status: 'contacted', last_contacted_at: expect.any(String) });
  const scored = await post(`/${lead.id}/score`, { lead_score: 80, reason: 'asked for pricing' });
  expect(scored.body.lead_score).toBe(80);
  const moved = await h.api('PUT', `${LEADS}/${lead.id}`, { body: { status: 'proposal' }, ...sales });
  expect(moved.body.status).toBe('proposal');
  const won = await post(`/${lead.id}/convert`, { note: 'signed' });
  expect(won.body).toMatchObject({ status: 'won', converted_at: expect.any(String), closed_at: expect.any(String) });

  const again = await post(`/${lead.id}/convert`);
  expect(again.status).toBe(409);
  expect(again.body.error).toMatchObject({ code: 'CONFLICT', details: { lead_id: lead.id, status: 'won' } });
  expect((await post(`/${lead.id}/close-lost`, { reason: 'changed mind' })).status).toBe(409);

  const log = await activities(lead.id);
  expect(log.map((a) => [a.type, a.metadata])).toEqual([
    ['created', expect.objectContaining({ status: 'new', source: 'api' })],
    ['assigned', { from: null, to: 'asha' }],
    ['contacted', { note: 'called, interested', from: 'new', to: 'contacted' }],
    ['score_changed', { from: 0, to: 80, reason: 'asked for pricing' }],
    ['status_changed', { from: 'contacted', to: 'proposal' }],
    ['converted', { from: 'proposal', to: 'won', note: 'signed' }],
  ]);
  const label = lead.created_by;
  expect(log.every((a) => a.actor === label)).toBe(true);
  const page = await h.api('GET', `${LEADS}/${lead.id}/activities?skip=1&limit=2`, { key: KEYS.viewer });
  expect(page.body).toMatchObject({ lead_id: lead.id, total: 6, skip: 1, limit: 2 });
  expect(page.body.activities.map((a: { type: string }) => a.type)).toEqual(['assigned', 'contacted']);
  expect((await h.api('GET', `${LEADS}/2000000000/activities`)).status).toBe(404);

  const [c2] = await newContacts(1);
  const other = await createLead({ contact_id: c2!.id });
  const lost = await post(`/${other.id}/close-lost`, { reason: 'went with a competitor' });
  expect(lost.body).toMatchObject({ status: 'lost', lost_reason: 'went with a competitor', closed_at: expect.any(String), converted_at: null });
  expect((await post(`/${other.id}/convert`)).status).toBe(409);
  expect((await activities(other.id)).at(-1)).toMatchObject({ type: 'lost', metadata: { from: 'new', to: 'lost', reason: 'went with a competitor' } });
  // Deleting the contact takes its leads and their history with it.
  expect((await h.api('DELETE', `/api/v1/contacts/${c2!.id}`, { key: KEYS.marketer })).status).toBe(204);
  expect((await h.api('GET', `${LEADS}/${other.id}`)).status).toBe(404);
});

test('lists with filters and paging, and the assigned, high-priority and overdue lists', async () => {
  const source = uniqueSource();
  const cs = await newContacts(6);
  const template = await createTemplate(h);
  const campaign = await createCampaign(h, { template_id: template.id });
  const a = await createLead({ contact_id: cs[0]!.id, source, title: 'Solar panels', priority: 'urgent', lead_score: 90, campaign_id: campaign.id });
  const b = await createLead({ contact_id: cs[1]!.id, source, title: 'Wind turbine', description: 'wants SOLAR too', priority: 'high', lead_score: 70 });
  const c = await createLead({ contact_id: cs[2]!.id, source, title: 'Batteries', priority: 'low', lead_score: 20, assigned_to: 'ravi' });
  const d = await createLead({ contact_id: cs[3]!.id, source, title: 'Inverter', priority: 'high', lead_score: 95, status: 'won' });
  const e = await createLead({ contact_id: cs[4]!.id, source, title: 'Cables', priority: 'high', lead_score: 50 });
  const f = await createLead({ contact_id: cs[5]!.id, source, title: 'Meters', priority: 'medium', lead_score: 10 });

  const list = (query: string) => h.api('GET', `${LEADS}?source=${source}&${query}`, { key: KEYS.viewer });
  const all = await list('');
  expect(all.body).toMatchObject({ total: 6, skip: 0, limit: 100 });
  expect(ids(all)).toEqual([f.id, e.id, d.id, c.id, b.id, a.id]);
  expect(all.body.leads[0].contact).toMatchObject({ id: cs[5]!.id, wa_id: cs[5]!.waId });
  expect(ids(await list('status=won'))).toEqual([d.id]);
  expect(ids(await list('priority=high'))).toEqual([e.id, d.id, b.id]);
  expect(ids(await list('assigned_to=ravi'))).toEqual([c.id]);
  expect(ids(await list(`contact_id=${cs[1]!.id}`))).toEqual([b.id]);
  expect(ids(await list(`campaign_id=${campaign.id}`))).toEqual([a.id]);
  expect(ids(await list('search=solar'))).toEqual([b.id, a.id]);
  expect(ids(await list('min_score=70'))).toEqual([d.id, b.id, a.id]);
  const paged = await list('skip=2&limit=2');
  expect(paged.body).toMatchObject({ total: 6, skip: 2, limit: 2 });
  expect(ids(paged)).toEqual([d.id, c.id]);
  expect((await list('limit=1001')).status).toBe(400);
  expect((await list('status=nope')).status).toBe(400);

  // Open high and urgent leads, urgent first, then by score.
  const high = await h.api('GET', `${LEADS}/high-priority?source=${source}`, { key: KEYS.viewer });
  expect(ids(high)).toEqual([a.id, b.id, e.id]);

  // Overdue: marked by the follow-up workflow, or its follow-up time has passed; never closed leads.
  const past = new Date(Date.now() - 3_600_000);
  await h.db.updateTable('leads').set({ next_follow_up_at: past }).where('id', 'in', [b.id, d.id]).execute();
  await h.db
    .updateTable('leads')
    .set({ overdue_since: new Date(Date.now() - 7_200_000) })
    .where('id', '=', e.id)
    .execute();
  await h.db
    .updateTable('leads')
    .set({ next_follow_up_at: new Date(Date.now() + 3_600_000) })
    .where('id', '=', f.id)
    .execute();
  const overdue = await h.api('GET', `${LEADS}/overdue?source=${source}`, { key: KEYS.viewer });
  expect(overdue.body.total).toBe(2);
  expect(ids(overdue)).toEqual([e.id, b.id]);

  // The caller's own leads unless someone is named.
  const mine = await h.api('GET', `${LEADS}/assigned?source=${source}`, sales);
  expect(mine.body).toMatchObject({ total: 0, assigned_to: a.created_by });
  await post(`/${f.id}/assign`, { assigned_to: a.created_by });
  expect(ids(await h.api('GET', `${LEADS}/assigned?source=${source}`, sales))).toEqual([f.id]);
  expect(ids(await h.api('GET', `${LEADS}/assigned?source=${source}&assigned_to=ravi`, sales))).toEqual([c.id]);
});

test('bulk assign and bulk status change every named lead, with activities, and report unknown ids', async () => {
  const source = uniqueSource();
  const cs = await newContacts(3);
  const leads = [];
  for (const c of cs) leads.push(await createLead({ contact_id: c.id, source }));
  const leadIds = leads.map((l) => l.id);

  const assign = await post('/bulk/assign', { lead_ids: [...leadIds, 2_000_000_000], assigned_to: 'meera' });
  expect(assign.status).toBe(200);
  expect(assign.body).toEqual({ updated: 3, unchanged: 0, not_found: [2_000_000_000] });
  expect((await post('/bulk/assign', { lead_ids: leadIds, assigned_to: 'meera' })).body).toMatchObject({ updated: 0, unchanged: 3 });
  expect((await h.api('GET', `${LEADS}?source=${source}&assigned_to=meera`)).body.total).toBe(3);

  const won = await post('/bulk/update-status', { lead_ids: leadIds.slice(0, 2), status: 'won' });
  expect(won.body).toEqual({ updated: 2, unchanged: 0, not_found: [] });
  const lost = await post('/bulk/update-status', { lead_ids: [leadIds[2]], status: 'lost' });
  expect(lost.body.updated).toBe(1);
  const after = await h.api('GET', `${LEADS}?source=${source}`);
  const byId = new Map(after.body.leads.map((l: any) => [l.id, l]));
  for (const id of leadIds.slice(0, 2)) expect(byId.get(id)).toMatchObject({ status: 'won', converted_at: expect.any(String), closed_at: expect.any(String) });
  expect(byId.get(leadIds[2])).toMatchObject({ status: 'lost', converted_at: null, closed_at: expect.any(String) });

  const log = await activities(leadIds[0]);
  expect(log.map((a) => [a.type, a.metadata])).toEqual([
    ['created', expect.anything()],
    ['assigned', { from: null, to: 'meera' }],
    ['status_changed', { from: 'new', to: 'won', bulk: true }],
  ]);
  expect((await post('/bulk/assign', { lead_ids: [], assigned_to: 'x' })).status).toBe(400);
  expect((await post('/bulk/update-status', { lead_ids: leadIds, status: 'done' })).status).toBe(400);
});

test('viewers read, sales and admin write, others may not, and nobody without a key', async () => {
  const [c1, c2] = await newContacts(2);
  for (const key of [KEYS.viewer, KEYS.marketer, KEYS.operator]) {
    const res = await h.api('POST', LEADS, { body: { contact_id: c1!.id, title: 'x' }, key });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('AUTHORIZATION_ERROR');
  }
  const lead = await createLead({ contact_id: c1!.id }, KEYS.sales);
  await createLead({ contact_id: c2!.id }, KEYS.admin);
  for (const path of [
    '',
    '/assigned',
    '/high-priority',
    '/overdue',
    `/${lead.id}`,
    `/${lead.id}/activities`,
    '/stats/overview',
    '/stats/pipeline',
    '/stats/conversion-funnel',
  ]) {
    expect([path, (await h.api('GET', `${LEADS}${path}`, { key: KEYS.viewer })).status]).toEqual([path, 200]);
    expect([path, (await h.api('GET', `${LEADS}${path}`, { key: null })).status]).toEqual([path, 401]);
  }
  const writes: [string, string, unknown][] = [
    ['PUT', `/${lead.id}`, { title: 'y' }],
    ['DELETE', `/${lead.id}`, undefined],
    ['POST', `/${lead.id}/assign`, { assigned_to: 'x' }],
    ['POST', `/${lead.id}/contacted`, {}],
    ['POST', `/${lead.id}/score`, { lead_score: 5 }],
    ['POST', `/${lead.id}/convert`, {}],
    ['POST', `/${lead.id}/close-lost`, { reason: 'r' }],
    ['POST', '/bulk/assign', { lead_ids: [lead.id], assigned_to: 'x' }],
    ['POST', '/bulk/update-status', { lead_ids: [lead.id], status: 'won' }],
  ];
  for (const [method, path, body] of writes) {
    expect([path, (await h.api(method, `${LEADS}${path}`, { body, key: KEYS.viewer })).status]).toEqual([path, 403]);
  }
  expect((await h.api('GET', `${LEADS}/${lead.id}`)).body).toMatchObject({ title: 'Deal', status: 'new', assigned_to: null });
});

test('overview, pipeline and funnel count exactly the leads of one source', async () => {
  const source = uniqueSource();
  const cs = await newContacts(8);
  const template = await createTemplate(h);
  const campaign = await createCampaign(h, { template_id: template.id });
  const make = (i: number, body: Record<string, unknown>) => createLead({ contact_id: cs[i]!.id, source, title: `L${i + 1}`, ...body });
  const status = (id: number, s: string) => h.api('PUT', `${LEADS}/${id}`, { body: { status: s }, ...sales });

  const l1 = await make(0, { estimated_value: '100', priority: 'low', lead_score: 10, campaign_id: campaign.id });
  const l2 = await make(1, { estimated_value: 200.5, lead_score: 20, campaign_id: campaign.id });
  await post(`/${l2.id}/contacted`);
  const l3 = await make(2, { priority: 'high', lead_score: 30 });
  await status(l3.id, 'qualified');
  const l4 = await make(3, { estimated_value: '1000.00', priority: 'urgent', lead_score: 40 });
  await status(l4.id, 'qualified');
  await status(l4.id, 'proposal');
  // Lost in negotiation: still counts as having got that far.
  const l5 = await make(4, { estimated_value: 500, lead_score: 50 });
  await post(`/${l5.id}/contacted`);
  await status(l5.id, 'qualified');
  await status(l5.id, 'negotiation');
  await post(`/${l5.id}/close-lost`, { reason: 'price' });
  const l6 = await make(5, { estimated_value: '2500.25', priority: 'high', lead_score: 60 });
  await status(l6.id, 'qualified');
  await post(`/${l6.id}/convert`);
  // Won straight from new: it went through every stage on its way.
  const l7 = await make(6, { estimated_value: 300 });
  await post('/bulk/update-status', { lead_ids: [l7.id], status: 'won' });
  // Created already qualified, then lost.
  const l8 = await make(7, { status: 'qualified' });
  await post(`/${l8.id}/close-lost`, { reason: 'no reply' });
  await h.db
    .updateTable('leads')
    .set({ next_follow_up_at: new Date(Date.now() - 60_000) })
    .where('id', '=', l1.id)
    .execute();

  const overview = await h.api('GET', `${LEADS}/stats/overview?source=${source}`, { key: KEYS.viewer });
  expect(overview.body).toEqual({
    total: 8,
    open: 4,
    won: 2,
    lost: 2,
    overdue: 1,
    by_status: { new: 1, contacted: 1, qualified: 1, proposal: 1, negotiation: 0, won: 2, lost: 2 },
    by_priority: { low: 1, medium: 4, high: 2, urgent: 1 },
    by_source: { [source]: 8 },
    average_score: 26.25,
    total_pipeline_value: '4600.75',
    open_pipeline_value: '1300.50',
    won_value: '2800.25',
    conversion_rate: 50,
  });

  const pipeline = await h.api('GET', `${LEADS}/stats/pipeline?source=${source}`, { key: KEYS.viewer });
  expect(pipeline.body).toEqual({
    stages: [
      { status: 'new', count: 1, value: '100.00' },
      { status: 'contacted', count: 1, value: '200.50' },
      { status: 'qualified', count: 1, value: '0.00' },
      { status: 'proposal', count: 1, value: '1000.00' },
      { status: 'negotiation', count: 0, value: '0.00' },
      { status: 'won', count: 2, value: '2800.25' },
      { status: 'lost', count: 1 + 1, value: '500.00' },
    ],
    total_count: 8,
    open_count: 4,
    open_value: '1300.50',
    total_value: '4600.75',
  });

  const funnel = await h.api('GET', `${LEADS}/stats/conversion-funnel?source=${source}`, { key: KEYS.viewer });
  expect(funnel.body).toEqual({
    total_leads: 8,
    stages: [
      { stage: 'new', count: 8, conversion_rate: 100, percent_of_total: 100 },
      { stage: 'contacted', count: 7, conversion_rate: 87.5, percent_of_total: 87.5 },
      { stage: 'qualified', count: 6, conversion_rate: 85.71, percent_of_total: 75 },
      { stage: 'proposal', count: 4, conversion_rate: 66.67, percent_of_total: 50 },
      { stage: 'negotiation', count: 3, conversion_rate: 75, percent_of_total: 37.5 },
      { stage: 'won', count: 2, conversion_rate: 66.67, percent_of_total: 25 },
    ],
    overall_conversion_rate: 25,
  });

  const byCampaign = await h.api('GET', `${LEADS}/stats/overview?campaign_id=${campaign.id}`, { key: KEYS.viewer });
  expect(byCampaign.body).toMatchObject({ total: 2, open: 2, by_status: { new: 1, contacted: 1 }, total_pipeline_value: '300.50', conversion_rate: 0 });
  const emptyFunnel = await h.api('GET', `${LEADS}/stats/conversion-funnel?source=${uniqueSource()}`, { key: KEYS.viewer });
  expect(emptyFunnel.body.stages.every((s: { count: number; conversion_rate: number }) => s.count === 0 && s.conversion_rate === 0)).toBe(true);
});

test('workflows find or create a contact’s open lead, once, and record activities on it', async () => {
  const [c] = await newContacts(1);
  expect(await findOpenLeadForContact(h.db, c!.id)).toBeUndefined();
  const args = { contactId: c!.id, title: 'Replied to campaign', source: 'whatsapp_campaign', description: 'said yes', score: 40 };
  const [one, two] = await Promise.all([createLeadForContact(h.db, args), createLeadForContact(h.db, args)]);
  expect([one.created, two.created].sort()).toEqual([false, true]);
  expect(one.lead.id).toBe(two.lead.id);
  expect(one.lead).toMatchObject({ status: 'new', source: 'whatsapp_campaign', lead_score: 40, created_by: 'system' });
  expect((await findOpenLeadForContact(h.db, c!.id))?.id).toBe(one.lead.id);

  await recordLeadActivity(h.db, one.lead.id, 'replied', 'Replied "yes please"', { wamid: 'wamid.X' }, 'workflow');
  expect((await activities(one.lead.id)).map((a) => [a.type, a.actor])).toEqual([
    ['created', 'system'],
    ['replied', 'workflow'],
  ]);
  // The API sees the same rule.
  expect((await h.api('POST', LEADS, { body: { contact_id: c!.id, title: 'Dup' }, ...sales })).status).toBe(409);
});
