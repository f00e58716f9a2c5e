import { FakeGraph } from './helpers/fake-graph';
import { burstOf } from './helpers/fake-openai';
import { createCampaign, createTemplate, importContacts, sendsPerRecipient, uniqueTag, uniqueWaIds, waitForStatus } from './helpers/campaigns';
import { eventually, startHarness, type Harness } from './helpers/harness';
import { saveHistory } from './helpers/histories';

let h: Harness;
let templateId: number;
beforeAll(async () => {
  h = await startHarness({ settings: { debounceMs: 50 } });
  templateId = (await createTemplate(h, 'Hi {{first_name}}, the {{product}} is back in stock at {{store}}.')).id;
});
afterAll(async () => {
  await h?.stop();
});

async function runCampaign(tag: string, extra: Record<string, unknown> = {}) {
  const { id } = await createCampaign(h, {
    template_id: templateId,
    audience: { tags: [tag] },
    variables: { product: 'blue kettle', store: 'Main St' },
    ...extra,
  });
  expect((await h.api('POST', `/api/v1/campaigns/${id}/start`)).status).toBe(202);
  return { id, done: await waitForStatus(h, id, 'completed') };
}

test('a reply to a campaign message is answered with the campaign text in context and counted as a reply', async () => {
  const tag = uniqueTag('reply');
  const [waId] = uniqueWaIds(1);
  await importContacts(h, [{ waId: waId!, firstName: 'Fatima', tags: [tag] }]);
  const { id } = await runCampaign(tag);
  const campaignText = 'Hi Fatima, the blue kettle is back in stock at Main St.';
  await eventually(() => expect(h.graph.sentTo(waId!)).toHaveLength(1));

  await h.inbound([{ from: waId!, text: 'Is it available in red too?' }]);
  await eventually(() => expect(h.graph.sentTo(waId!)).toHaveLength(2));
  const asked = h.llm.requests.find((r) => burstOf(r).includes('Is it available in red too?'))!;
  expect(asked.messages).toContainEqual({ role: 'assistant', content: `(campaign message sent to the customer) ${campaignText}` });
  expect(h.graph.sentTo(waId!)[1]!.text).toBe('Reply to: Is it available in red too?');
  await h.settled(waId!);
  await saveHistory(h.client, waId!, 'campaign-reply');

  const stats = await eventually(async () => {
    const res = await h.api('GET', `/api/v1/campaigns/${id}/stats`);
    expect(res.body.replies).toBe(1);
    return res.body;
  });
  expect(stats).toMatchObject({ sent: 1, replies: 1, reply_rate: 100 });

  // Now inside the 24 h window: the next campaign goes as free text, not a template.
  const { done } = await runCampaign(tag);
  expect(done.messages_sent).toBe(1);
  const third = h.graph.sentTo(waId!)[2]!;
  expect(third.type).toBe('text');
  expect(third.text).toBe(campaignText);
});

test('a contact who writes STOP is opted out, told so once, and skipped by the next campaign', async () => {
  const tag = uniqueTag('stop');
  const [stopper, stayer] = uniqueWaIds(2) as [string, string];
  const ids = await importContacts(h, [
    { waId: stopper, firstName: 'Gus', tags: [tag] },
    { waId: stayer, firstName: 'Hana', tags: [tag] },
  ]);
  await runCampaign(tag);
  await eventually(() => expect(sendsPerRecipient(h, [stopper, stayer]).size).toBe(2));

  await h.inbound([{ from: stopper, text: 'STOP' }]);
  await eventually(() => expect(h.graph.sentTo(stopper)).toHaveLength(2));
  expect(h.graph.sentTo(stopper)[1]!.text).toMatch(/unsubscribed/);
  const contact = await h.api('GET', `/api/v1/contacts/${ids.get(stopper)}`);
  expect(contact.body).toMatchObject({ opt_in_status: false, opt_out_source: 'whatsapp' });
  expect(contact.body.opted_out_at).toBeTruthy();

  // A second STOP is recorded but not confirmed again, and the LLM is never asked about either.
  await h.inbound([{ from: stopper, text: 'stop' }]);
  await eventually(async () => expect((await h.recorded(stopper)).filter((m) => m.sender_type === 'user')).toHaveLength(2));
  await h.settled(stopper);
  expect(h.graph.sentTo(stopper)).toHaveLength(2);
  expect(h.llm.wasAsked('STOP') || h.llm.wasAsked('stop')).toBe(false);

  const { done } = await runCampaign(tag);
  expect(done.messages_sent).toBe(1);
  expect(h.graph.sentTo(stopper)).toHaveLength(2);
  expect(h.graph.sentTo(stayer)).toHaveLength(2);

  // START opts back in (and is confirmed); from then on the contact is in the audience again.
  await h.inbound([{ from: stopper, text: 'START' }]);
  await eventually(() => expect(h.graph.sentTo(stopper)).toHaveLength(3));
  expect(h.graph.sentTo(stopper)[2]!.text).toMatch(/subscribed again/);
  expect((await h.api('GET', `/api/v1/contacts/${ids.get(stopper)}`)).body.opt_in_status).toBe(true);
  await h.settled(stopper);
  await saveHistory(h.client, stopper, 'opt-out-in');
});

test('START from someone who never opted out is an ordinary message for the bot', async () => {
  const [waId] = uniqueWaIds(1);
  await h.inbound([{ from: waId!, text: 'start' }]);
  await eventually(() => expect(h.graph.sentTo(waId!)).toHaveLength(1));
  expect(h.graph.sentTo(waId!)[0]!.text).toBe('Reply to: start');
});

test('WhatsApp errors: 131050 and 131026 are recorded and not retried, 130429 backs off and the send succeeds', async () => {
  const tag = uniqueTag('errors');
  const waIds = uniqueWaIds(5);
  const ids = await importContacts(
    h,
    waIds.map((waId) => ({ waId, firstName: 'Ida', tags: [tag] })),
  );
  h.graph.faults.push(
    FakeGraph.graphError(400, 130429, 'Rate limit hit'),
    FakeGraph.graphError(400, 131026, 'Message undeliverable'),
    FakeGraph.graphError(400, 131050, 'User has stopped marketing messages'),
  );
  const { id, done } = await runCampaign(tag);
  expect(h.graph.faults).toHaveLength(0);
  // Contact 1 was throttled and retried after the back-off; 2 and 3 failed for good; 4 and 5 went out.
  const counts = sendsPerRecipient(h, waIds);
  expect([...counts.keys()].sort()).toEqual([waIds[0], waIds[3], waIds[4]].sort());
  expect(done).toMatchObject({ messages_sent: 3, messages_failed: 2 });
  const stats = await h.api('GET', `/api/v1/campaigns/${id}/stats`);
  expect(stats.body.failures_by_code).toEqual({ '131026': 1, '131050': 1 });
  const failed = await h.api('GET', `/api/v1/campaigns/${id}/recipients?state=failed`);
  expect(failed.body.recipients.map((r: { wa_id: string }) => r.wa_id).sort()).toEqual([waIds[1], waIds[2]].sort());
  // 131050 means the user turned off marketing from this business in WhatsApp: remembered here too.
  expect((await h.api('GET', `/api/v1/contacts/${ids.get(waIds[2]!)}`)).body).toMatchObject({ opt_in_status: false, opt_out_source: 'whatsapp' });
  expect((await h.api('GET', `/api/v1/contacts/${ids.get(waIds[1]!)}`)).body.opt_in_status).toBe(true);
});

test('a contact missing a template variable is recorded as failed with the reason and never sent', async () => {
  const tag = uniqueTag('novar');
  const [named, nameless] = uniqueWaIds(2) as [string, string];
  await importContacts(h, [
    { waId: named, firstName: 'Jo', tags: [tag] },
    { waId: nameless, tags: [tag] },
  ]);
  const { id, done } = await runCampaign(tag);
  expect(done).toMatchObject({ messages_sent: 1, messages_failed: 1 });
  expect(h.graph.sentTo(nameless)).toHaveLength(0);
  const failed = await h.api('GET', `/api/v1/campaigns/${id}/recipients?state=failed`);
  expect(failed.body.recipients).toEqual([
    expect.objectContaining({ wa_id: nameless, error: expect.objectContaining({ reason: 'missing_variable', missing: ['first_name'] }) }),
  ]);
});

test('an opt-out outlives the contact: deleted and imported again, the number stays opted out', async () => {
  const tag = uniqueTag('gone');
  const [waId] = uniqueWaIds(1) as [string];
  const ids = await importContacts(h, [{ waId, firstName: 'Rui', tags: [tag] }]);
  await h.inbound([{ from: waId, text: 'Unsubscribe' }]);
  await eventually(() => expect(h.graph.sentTo(waId).map((s) => s.text)).toEqual([expect.stringMatching(/unsubscribed/)]));
  expect((await h.api('DELETE', `/api/v1/contacts/${ids.get(waId)}`)).status).toBe(204);

  const again = await h.api('POST', '/api/v1/contacts/bulk/import', {
    body: { contacts: [{ phone: `+${waId}`, first_name: 'Rui', tags: [tag], opt_in: true }] },
  });
  expect(again.body).toMatchObject({ created: 1, kept_opted_out: [expect.objectContaining({ phone: `+${waId}` })] });
  const contact = (await h.api('GET', `/api/v1/contacts?tag=${tag}`)).body.contacts[0];
  expect(contact).toMatchObject({ opt_in_status: false, opt_out_source: 'whatsapp' });
  const { done } = await runCampaign(tag);
  expect(done.total_recipients).toBe(0);
  expect(h.graph.sentTo(waId)).toHaveLength(1);
});

test('a suppressed number added to another contact opts that contact out', async () => {
  const [gone, other] = uniqueWaIds(2) as [string, string];
  const ids = await importContacts(h, [
    { waId: gone, firstName: 'Sam', tags: [uniqueTag('sup')] },
    { waId: other, firstName: 'Tia', tags: [uniqueTag('sup')] },
  ]);
  await h.api('POST', `/api/v1/contacts/${ids.get(gone)}/opt-out`, { body: { source: 'phone call', reason: 'asked us to stop' } });
  expect((await h.api('DELETE', `/api/v1/contacts/${ids.get(gone)}`)).status).toBe(204);
  const added = await h.api('POST', `/api/v1/contacts/${ids.get(other)}/phone-numbers`, { body: { phone_number: `+${gone}` } });
  expect(added.status).toBe(201);
  expect((await h.api('GET', `/api/v1/contacts/${ids.get(other)}`)).body).toMatchObject({
    opt_in_status: false,
    opt_out_source: 'phone call',
    opt_out_reason: 'asked us to stop',
  });
});
