import { ensureLeadSweepSchedule } from '../src/temporal/lead-follow-ups';
import { LEAD_SWEEP_SCHEDULE_ID, leadFollowUpWorkflowId } from '../src/workflows/lead-definitions';
import { createCampaign, createTemplate, importContacts, uniqueTag, uniqueWaIds, waitForStatus } from './helpers/campaigns';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { saveHistory, saveWorkflowHistory } from './helpers/histories';

let h: Harness;
let templateId: number;
beforeAll(async () => {
  h = await startHarness({ settings: { debounceMs: 50 } });
  templateId = (await createTemplate(h, 'Hi {{first_name}}, are you still interested?')).id;
});
afterAll(async () => {
  await h?.stop();
});

const sales = KEYS.sales;

async function newLead(opts: { writeFirst?: boolean; firstName?: string } = {}) {
  const [waId] = uniqueWaIds(1) as [string];
  const ids = await importContacts(h, [{ waId, firstName: opts.firstName ?? 'Lena', tags: [uniqueTag('lead')] }]);
  if (opts.writeFirst) {
    await h.inbound([{ from: waId, text: 'Hello there' }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
    await h.settled(waId);
  }
  const res = await h.api('POST', '/api/v1/leads', { key: sales, body: { contact_id: ids.get(waId), title: 'Kettle order', source: 'api' } });
  expect(res.status).toBe(201);
  return { waId, leadId: res.body.id as number, sendsBefore: h.graph.sentTo(waId).length };
}

const followUp = (leadId: number, body: Record<string, unknown>) => h.api('POST', `/api/v1/leads/${leadId}/follow-up`, { key: sales, body });
const activities = async (leadId: number) =>
  ((await h.api('GET', `/api/v1/leads/${leadId}/activities?limit=100`)).body.activities as { type: string }[]).map((a) => a.type);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a follow-up scheduled 2 s ahead is sent exactly once, at its time, as free text inside the window', async () => {
  const { waId, leadId, sendsBefore } = await newLead({ writeFirst: true });
  const scheduled = await followUp(leadId, { in_seconds: 2, message: 'Shall I reserve the blue kettle for you?' });
  expect(scheduled.status).toBe(202);
  const dueAt = Date.parse(scheduled.body.next_follow_up_at);
  expect(scheduled.body.workflow_id).toBe(leadFollowUpWorkflowId(leadId));
  // Ops find it in the Web UI by LeadId, and its live state through the API.
  const listed = await eventually(async () => {
    const ids: string[] = [];
    for await (const wf of h.client.workflow.list({ query: `LeadId = "${leadId}"` })) ids.push(wf.workflowId);
    expect(ids).toHaveLength(1);
    return ids;
  });
  expect(listed).toEqual([leadFollowUpWorkflowId(leadId)]);
  expect((await h.api('GET', `/api/v1/leads/${leadId}/follow-up`)).body).toMatchObject({ phase: 'waiting', sent: 0, dueAt: new Date(dueAt).toISOString() });

  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(sendsBefore + 1), 15_000);
  const sent = h.graph.sentTo(waId)[sendsBefore]!;
  expect(sent.at).toBeGreaterThanOrEqual(dueAt);
  expect(sent).toMatchObject({ type: 'text', text: 'Shall I reserve the blue kettle for you?' });
  await wait(1500);
  expect(h.graph.sentTo(waId)).toHaveLength(sendsBefore + 1);

  const lead = (await h.api('GET', `/api/v1/leads/${leadId}`)).body;
  expect(lead).toMatchObject({ status: 'contacted', next_follow_up_at: null });
  expect(lead.last_follow_up_at).toBeTruthy();
  expect(await activities(leadId)).toEqual(expect.arrayContaining(['created', 'follow_up_scheduled', 'follow_up_sent']));
  // The follow-up is part of the chat: the bot's next answer sees it.
  await h.inbound([{ from: waId, text: 'Yes please' }]);
  await eventually(() => expect(h.llm.wasAsked('Yes please')).toBe(true));
  const asked = h.llm.requests.find((r) => r.messages.some((m) => m.content === 'Yes please'))!;
  expect(asked.messages).toContainEqual({ role: 'assistant', content: 'Shall I reserve the blue kettle for you?' });
  await h.settled(waId);
  await saveHistory(h.client, waId, 'lead-follow-up');
  await saveWorkflowHistory(h.client, leadFollowUpWorkflowId(leadId), 'lead-follow-up-sent');
});

test("outside the 24 h window the follow-up goes as the lead's approved template", async () => {
  const { waId, leadId } = await newLead({ firstName: 'Omar' });
  await followUp(leadId, { in_seconds: 1, template_id: templateId });
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1), 15_000);
  expect(h.graph.sentTo(waId)[0]!.body).toMatchObject({
    type: 'template',
    template: { components: [{ type: 'body', parameters: [{ parameter_name: 'first_name', text: 'Omar' }] }] },
  });
});

test('a reply from the lead before the due time cancels the follow-up', async () => {
  const { waId, leadId, sendsBefore } = await newLead({ writeFirst: true });
  await followUp(leadId, { in_seconds: 3 });
  await h.inbound([{ from: waId, text: 'Actually, I will come by the shop' }]);
  const result = await h.client.workflow.getHandle(leadFollowUpWorkflowId(leadId)).result();
  expect(result).toMatchObject({ ending: 'replied', sent: 0 });
  await wait(3500);
  // Only the bot's answer to the reply went out, no follow-up.
  expect(h.graph.sentTo(waId).map((s) => s.text)).toEqual([
    ...h.graph
      .sentTo(waId)
      .slice(0, sendsBefore)
      .map((s) => s.text),
    'Reply to: Actually, I will come by the shop',
  ]);
  expect(await activities(leadId)).toEqual(expect.arrayContaining(['replied', 'follow_up_cancelled']));
  await saveWorkflowHistory(h.client, leadFollowUpWorkflowId(leadId), 'lead-follow-up-replied');
});

test('converting a lead ends its workflow and nothing more is sent', async () => {
  const { waId, leadId, sendsBefore } = await newLead({ writeFirst: true });
  await followUp(leadId, { in_seconds: 3 });
  expect((await h.api('POST', `/api/v1/leads/${leadId}/convert`, { key: sales, body: {} })).status).toBe(200);
  const result = await h.client.workflow.getHandle(leadFollowUpWorkflowId(leadId)).result();
  expect(result).toMatchObject({ ending: 'won', sent: 0 });
  await wait(3500);
  expect(h.graph.sentTo(waId)).toHaveLength(sendsBefore);
  expect((await followUp(leadId, { in_seconds: 5 })).status).toBe(409);
});

test('a worker restart between scheduling and the due time still sends exactly once', async () => {
  const { waId, leadId, sendsBefore } = await newLead({ writeFirst: true });
  await followUp(leadId, { in_seconds: 3 });
  await h.restartWorker();
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(sendsBefore + 1), 20_000);
  await wait(2000);
  expect(h.graph.sentTo(waId)).toHaveLength(sendsBefore + 1);
});

test('a follow-up due while an operator holds the chat waits for the handback', async () => {
  const { waId, leadId, sendsBefore } = await newLead({ writeFirst: true });
  expect((await h.api('POST', '/api/v1/takeover', { key: KEYS.operator, body: { phone: waId } })).status).toBe(200);
  await followUp(leadId, { in_seconds: 1, message: 'Checking in!' });
  await eventually(async () => expect(await activities(leadId)).toContain('follow_up_postponed'), 15_000);
  expect(h.graph.sentTo(waId)).toHaveLength(sendsBefore);
  await h.api('POST', '/api/v1/handback', { key: KEYS.operator, body: { phone: waId } });
  await eventually(() => expect(h.graph.sentTo(waId).map((s) => s.text)).toContain('Checking in!'), 15_000);
  expect(h.graph.sentTo(waId).filter((s) => s.text === 'Checking in!')).toHaveLength(1);
  await saveWorkflowHistory(h.client, leadFollowUpWorkflowId(leadId), 'lead-follow-up-postponed');
});

test('the overdue sweep, run by its Schedule, lists a lead whose follow-up went unanswered', async () => {
  const unanswered = await newLead({ writeFirst: true });
  const answered = await newLead({ writeFirst: true });
  await followUp(unanswered.leadId, { in_seconds: 1 });
  await followUp(answered.leadId, { in_seconds: 1 });
  await eventually(() => {
    expect(h.graph.sentTo(unanswered.waId)).toHaveLength(unanswered.sendsBefore + 1);
    expect(h.graph.sentTo(answered.waId)).toHaveLength(answered.sendsBefore + 1);
  }, 15_000);
  await h.inbound([{ from: answered.waId, text: 'Thanks, not yet' }]);
  await eventually(async () => expect(await activities(answered.leadId)).toContain('replied'));
  await wait(2500); // past LEAD_OVERDUE_AFTER_MS (2 s in tests)

  await ensureLeadSweepSchedule(h.client, h.taskQueue, 3_600_000);
  await h.client.schedule.getHandle(LEAD_SWEEP_SCHEDULE_ID).trigger();
  const overdue = await eventually(async () => {
    const ids = ((await h.api('GET', '/api/v1/leads/overdue?limit=1000', { key: sales })).body.leads as { id: number }[]).map((l) => l.id);
    expect(ids).toContain(unanswered.leadId);
    return ids;
  }, 15_000);
  expect(overdue).not.toContain(answered.leadId);
  expect(await activities(unanswered.leadId)).toContain('overdue');
});

test("leads open by themselves: a reply to a campaign, and the assistant's qualify_lead call", async () => {
  const tag = uniqueTag('camp-lead');
  const [fromCampaign, fromChat] = uniqueWaIds(2) as [string, string];
  const ids = await importContacts(h, [{ waId: fromCampaign, firstName: 'Pia', tags: [tag] }]);
  const { id: campaignId } = await createCampaign(h, { template_id: templateId, audience: { tags: [tag] } });
  await h.api('POST', `/api/v1/campaigns/${campaignId}/start`);
  await waitForStatus(h, campaignId, 'completed');
  await h.inbound([{ from: fromCampaign, text: 'Yes, tell me more' }]);
  const campaignLead = await eventually(async () => {
    const res = await h.api('GET', `/api/v1/leads?contact_id=${ids.get(fromCampaign)}`, { key: sales });
    expect(res.body.total).toBe(1);
    return res.body.leads[0];
  });
  expect(campaignLead).toMatchObject({ source: 'whatsapp_campaign', campaign_id: campaignId, status: 'new' });

  // As real models do: the tool call comes without text; told it is noted, the model answers.
  h.llm.responder = (req) => {
    const last = req.messages[req.messages.length - 1]!;
    if (last.role === 'tool') return { content: 'It is 40 euros.' };
    return last.content.includes('price') ? { qualify: { interest: 'blue kettle', score: 70 } } : { content: 'ok' };
  };
  try {
    await h.inbound([{ from: fromChat, text: 'What is the price of the blue kettle?', name: 'Quinn' }]);
    await eventually(() => expect(h.graph.sentTo(fromChat).map((s) => s.text)).toEqual(['It is 40 euros.']));
  } finally {
    h.llm.responder = (req) => ({ content: `Reply to: ${req.messages[req.messages.length - 1]!.content}` });
  }
  const contact = await h.db.selectFrom('contact_phone_numbers').select('contact_id').where('wa_id', '=', fromChat).executeTakeFirstOrThrow();
  const chatLeads = (await h.api('GET', `/api/v1/leads?contact_id=${contact.contact_id}`, { key: sales })).body;
  expect(chatLeads.leads).toEqual([expect.objectContaining({ source: 'whatsapp_chat', title: 'Interested: blue kettle', lead_score: 70 })]);
  // Chatting is not consent to marketing: the contact it created is not opted in.
  expect((await h.api('GET', `/api/v1/contacts/${contact.contact_id}`)).body.opt_in_status).toBe(false);
});

test('a follow-up time that is not a time, or is in the past, is a 400 that schedules nothing', async () => {
  const { leadId } = await newLead({ writeFirst: true });
  for (const body of [
    { at: 'yesterday' },
    { at: '2020-01-01T00:00:00Z' },
    { in_seconds: 0 },
    { at: new Date(Date.now() + 60_000).toISOString(), in_seconds: 5 },
  ]) {
    const res = await followUp(leadId, body);
    expect([JSON.stringify(body), res.status, res.body.error?.code]).toEqual([JSON.stringify(body), 400, 'VALIDATION_ERROR']);
  }
  expect((await h.api('GET', `/api/v1/leads/${leadId}/follow-up`)).status).toBe(404);
});
