import { campaignProgressQuery } from '../src/workflows/campaign-definitions';
import { createCampaign, createTemplate, importContacts, sendsPerRecipient, uniqueTag, uniqueWaIds, waitForStatus } from './helpers/campaigns';
import { eventually, startHarness, type Harness } from './helpers/harness';
import { saveWorkflowHistory } from './helpers/histories';

let h: Harness;
let templateId: number;
beforeAll(async () => {
  h = await startHarness({ settings: { debounceMs: 50 } });
  templateId = (await createTemplate(h)).id;
});
afterAll(async () => {
  await h?.stop();
});

test('a 500-contact campaign with 50 opted out sends exactly one message to each of the 450 and none to the 50', async () => {
  const tag = uniqueTag('launch');
  const waIds = uniqueWaIds(500);
  const ids = await importContacts(
    h,
    waIds.map((waId, i) => ({ waId, firstName: `Ana${i}`, tags: [tag] })),
  );
  const optedOut = waIds.slice(0, 50);
  for (const waId of optedOut) {
    const res = await h.api('POST', `/api/v1/contacts/${ids.get(waId)}/opt-out`, { body: { source: 'test' } });
    expect(res.status).toBe(200);
  }
  const { id } = await createCampaign(h, { template_id: templateId, audience: { tags: [tag] }, rate_per_second: 80 });
  expect((await h.api('POST', `/api/v1/campaigns/${id}/start`)).status).toBe(202);

  const done = await waitForStatus(h, id, 'completed');
  const counts = sendsPerRecipient(h, waIds);
  expect(counts.size).toBe(450);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  expect(optedOut.some((waId) => counts.has(waId))).toBe(false);
  expect(done).toMatchObject({ total_recipients: 450, messages_sent: 450, messages_failed: 0 });

  // Outside the 24 h window every recipient gets the approved template, filled in per contact.
  const first = h.graph.sentTo(waIds[60]!)[0]!;
  expect(first.type).toBe('template');
  expect(first.body).toMatchObject({
    template: { language: { code: 'en' }, components: [{ type: 'body', parameters: [{ type: 'text', parameter_name: 'first_name', text: 'Ana60' }] }] },
    biz_opaque_callback_data: `campaign:${id}:${ids.get(waIds[60]!)}`,
  });
  const stats = await h.api('GET', `/api/v1/campaigns/${id}/stats`);
  expect(stats.body).toMatchObject({ total_recipients: 450, sent: 450, failed: 0, pending: 0, unconfirmed: 0 });
  // The campaign message is part of each recipient's conversation.
  const recorded = await h.recorded(waIds[60]!);
  expect(recorded).toEqual([expect.objectContaining({ sender_type: 'campaign', delivery_status: 'sent', content: 'Hi Ana60, our spring sale starts today!' })]);
});

test('pause holds the sends and resume finishes them, each recipient once', async () => {
  const tag = uniqueTag('pause');
  const waIds = uniqueWaIds(60);
  await importContacts(
    h,
    waIds.map((waId) => ({ waId, firstName: 'Bo', tags: [tag] })),
  );
  const { id } = await createCampaign(h, { template_id: templateId, audience: { tags: [tag] }, rate_per_second: 10 });
  await h.api('POST', `/api/v1/campaigns/${id}/start`);
  await eventually(() => expect(sendsPerRecipient(h, waIds).size).toBeGreaterThanOrEqual(10), 20_000);

  expect((await h.api('POST', `/api/v1/campaigns/${id}/pause`)).status).toBe(202);
  const paused = await waitForStatus(h, id, 'paused');
  expect(paused.progress).toMatchObject({ phase: 'paused', total: 60 });
  const heldAt = sendsPerRecipient(h, waIds).size;
  expect(heldAt).toBeLessThan(60);
  await new Promise((r) => setTimeout(r, 2500));
  expect(sendsPerRecipient(h, waIds).size).toBe(heldAt);

  expect((await h.api('POST', `/api/v1/campaigns/${id}/resume`)).status).toBe(202);
  await waitForStatus(h, id, 'completed');
  const counts = sendsPerRecipient(h, waIds);
  expect(counts.size).toBe(60);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  await saveWorkflowHistory(h.client, paused.current_workflow_id, 'campaign-pause-resume');
});

test('progress is live through the workflow query and the CampaignId search attribute', async () => {
  const tag = uniqueTag('progress');
  const waIds = uniqueWaIds(100);
  await importContacts(
    h,
    waIds.map((waId) => ({ waId, firstName: 'Cy', tags: [tag] })),
  );
  const { id } = await createCampaign(h, { template_id: templateId, audience: { tags: [tag] }, rate_per_second: 10 });
  await h.api('POST', `/api/v1/campaigns/${id}/start`);
  const running = await eventually(async () => {
    const res = await h.api('GET', `/api/v1/campaigns/${id}`);
    if (!res.body.progress || res.body.progress.sent < 5) throw new Error('not sending yet');
    return res.body;
  }, 20_000);
  expect(running.status).toBe('running');
  expect(running.current_workflow_id).toMatch(new RegExp(`^campaign-${id}-`));
  const workflowId = running.current_workflow_id as string;
  const progress = await h.client.workflow.getHandle(workflowId).query(campaignProgressQuery);
  expect(progress).toMatchObject({ campaignId: id, phase: 'sending', total: 100, ratePerSecond: 10 });
  const listed = await eventually(async () => {
    const found = [];
    for await (const wf of h.client.workflow.list({ query: `CampaignId = "${id}"` })) found.push(wf.workflowId);
    if (found.length === 0) throw new Error('not visible yet');
    return found;
  });
  expect(listed).toContain(workflowId);
  expect((await h.api('POST', `/api/v1/campaigns/${id}/stop`)).status).toBe(202);
  const stopped = await waitForStatus(h, id, 'stopped');
  expect(stopped.schedule.paused).toBe(true);
  expect(stopped.messages_sent).toBeLessThan(100);
  expect(sendsPerRecipient(h, waIds).size).toBe(stopped.messages_sent);
});

test('a campaign scheduled a few seconds ahead starts from its Schedule', async () => {
  const tag = uniqueTag('later');
  const waIds = uniqueWaIds(5);
  await importContacts(
    h,
    waIds.map((waId) => ({ waId, firstName: 'Di', tags: [tag] })),
  );
  const { id } = await createCampaign(h, { template_id: templateId, audience: { tags: [tag] } });
  const at = new Date(Math.ceil((Date.now() + 4000) / 1000) * 1000);
  const started = await h.api('POST', `/api/v1/campaigns/${id}/start`, { body: { scheduled_at: at.toISOString() } });
  expect(started.status).toBe(202);
  const scheduled = await h.api('GET', `/api/v1/campaigns/${id}`);
  expect(scheduled.body).toMatchObject({ status: 'scheduled', schedule: { id: `campaign-${id}`, paused: false, next_run_times: [at.toISOString()] } });
  expect(sendsPerRecipient(h, waIds).size).toBe(0);

  const done = await waitForStatus(h, id, 'completed', 30_000);
  const firstSend = Math.min(...h.graph.sends.filter((s) => waIds.includes(s.to)).map((s) => s.at));
  expect(firstSend).toBeGreaterThanOrEqual(at.getTime());
  expect(done.messages_sent).toBe(5);
  const runs = [];
  for await (const wf of h.client.workflow.list({ query: `CampaignId = "${id}"` })) runs.push(wf);
  expect(runs.length).toBe(1);
});
