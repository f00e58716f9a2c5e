import { ScheduleNotFoundError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ensureLeadSweepSchedule } from '../src/temporal/lead-follow-ups';
import { createCampaign, createTemplate, importContacts, uniqueTag, uniqueWaIds } from './helpers/campaigns';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';

// Two deployments (TEMPORAL_ID_PREFIX blue- and green-, each with its own task queue) share the
// one dev server's namespace. (They share the test database too, which real deployments would not:
// what is checked here is that their Temporal ids never meet.)
let blue: Harness;
let green: Harness;
beforeAll(async () => {
  blue = await startHarness({ idPrefix: 'blue-', settings: { debounceMs: 50 } });
  green = await startHarness({ idPrefix: 'green-', settings: { debounceMs: 50 } });
});
afterAll(async () => {
  await blue?.stop();
  await green?.stop();
});

const describeWorkflow = (client: Client, workflowId: string) => client.workflow.getHandle(workflowId).describe();

test('the same WhatsApp user has a chat in each deployment, each under its prefix and on its own task queue', async () => {
  const [waId] = uniqueWaIds(1) as [string];
  expect((await blue.inbound([{ from: waId, text: 'Hello blue' }])).status).toBe(200);
  expect((await green.inbound([{ from: waId, text: 'Hello green' }])).status).toBe(200);
  await eventually(() => {
    expect(blue.graph.sentTo(waId)).toHaveLength(1);
    expect(green.graph.sentTo(waId)).toHaveLength(1);
  }, 20_000);

  const blueChat = await describeWorkflow(blue.client, `blue-chat-${waId}`);
  const greenChat = await describeWorkflow(green.client, `green-chat-${waId}`);
  expect(blueChat).toMatchObject({ status: { name: 'RUNNING' }, taskQueue: blue.taskQueue });
  expect(greenChat).toMatchObject({ status: { name: 'RUNNING' }, taskQueue: green.taskQueue });
  await expect(describeWorkflow(blue.client, `chat-${waId}`)).rejects.toBeInstanceOf(WorkflowNotFoundError);

  // The conversation API names the chat of its own deployment (the console links to it).
  const listed = async (h: Harness) => (await h.api('GET', `/api/v1/conversations?phone=${waId}`, { key: KEYS.viewer })).body.conversations[0];
  expect((await listed(blue)).workflow_id).toBe(`blue-chat-${waId}`);
  expect((await listed(green)).workflow_id).toBe(`green-chat-${waId}`);
  const id = (await listed(blue)).id as string;
  expect((await blue.api('GET', `/api/v1/conversations/${id}`)).body.workflow_id).toBe(`blue-chat-${waId}`);

  // An operator taking over through one deployment's API holds that deployment's chat only.
  expect((await blue.api('POST', '/api/v1/takeover', { body: { phone: waId } })).status).toBe(200);
  expect((await blue.chatState(waId)).mode).toBe('operator');
  expect((await green.chatState(waId)).mode).toBe('bot');
});

test("each deployment's overdue sweep has its own Schedule on its own task queue; ensuring one leaves the other alone", async () => {
  const sweepOf = async (h: Harness) => h.client.schedule.getHandle(h.ids.leadSweepSchedule).describe();
  expect(blue.ids.leadSweepSchedule).toBe('blue-lead-overdue-sweep');
  expect(green.ids.leadSweepSchedule).toBe('green-lead-overdue-sweep');

  expect(await ensureLeadSweepSchedule(blue.client, blue.taskQueue, 3_600_000, blue.ids)).toBe('created');
  const blueCreated = await sweepOf(blue);
  expect(blueCreated.action).toMatchObject({ taskQueue: blue.taskQueue, workflowId: 'blue-lead-overdue-sweep' });
  await expect(sweepOf(green)).rejects.toBeInstanceOf(ScheduleNotFoundError);

  expect(await ensureLeadSweepSchedule(green.client, green.taskQueue, 3_600_000, green.ids)).toBe('created');
  expect((await sweepOf(green)).action).toMatchObject({ taskQueue: green.taskQueue, workflowId: 'green-lead-overdue-sweep' });
  expect((await sweepOf(blue)).action.taskQueue).toBe(blue.taskQueue);

  // A restart with the same settings rewrites nothing; a new interval updates that deployment's only.
  expect(await ensureLeadSweepSchedule(blue.client, blue.taskQueue, 3_600_000, blue.ids)).toBe('unchanged');
  expect((await sweepOf(blue)).info.lastUpdatedAt).toEqual(blueCreated.info.lastUpdatedAt);
  expect(await ensureLeadSweepSchedule(green.client, green.taskQueue, 1_800_000, green.ids)).toBe('updated');
  const [blueAfter, greenAfter] = await Promise.all([sweepOf(blue), sweepOf(green)]);
  expect(blueAfter.spec.intervals?.map((i) => i.every)).toEqual([3_600_000]);
  expect(blueAfter.action.taskQueue).toBe(blue.taskQueue);
  expect(greenAfter.spec.intervals?.map((i) => i.every)).toEqual([1_800_000]);
  expect(greenAfter.action.taskQueue).toBe(green.taskQueue);

  // Triggered, blue's Schedule starts a prefixed sweep that blue's worker runs to the end.
  await blue.client.schedule.getHandle(blue.ids.leadSweepSchedule).trigger();
  const run = await eventually(async () => {
    const [recent] = (await sweepOf(blue)).info.recentActions;
    if (!recent) throw new Error('no run yet');
    return recent.action.workflow.workflowId;
  }, 15_000);
  expect(run).toMatch(/^blue-lead-overdue-sweep-/);
  await blue.client.workflow.getHandle(run).result();
  expect((await describeWorkflow(blue.client, run)).taskQueue).toBe(blue.taskQueue);
});

test("a campaign's Schedule carries its deployment's prefix; the other deployment cannot see or pause it", async () => {
  const template = await createTemplate(blue);
  const tag = uniqueTag('prefixed');
  const waIds = uniqueWaIds(2);
  await importContacts(
    blue,
    waIds.map((waId) => ({ waId, firstName: 'Ada', tags: [tag] })),
  );
  const { id } = await createCampaign(blue, { template_id: template.id, audience: { tags: [tag] }, cron: '0 0 1 1 *' });

  const started = await blue.api('POST', `/api/v1/campaigns/${id}/start`, { key: KEYS.marketer });
  expect(started.status).toBe(202);
  expect(started.body).toMatchObject({ status: 'scheduled', starts: 'cron', schedule_id: `blue-campaign-${id}` });
  expect((await blue.api('GET', `/api/v1/campaigns/${id}`)).body).toMatchObject({
    schedule_id: `blue-campaign-${id}`,
    schedule: { id: `blue-campaign-${id}`, paused: false },
  });
  const schedule = await blue.client.schedule.getHandle(`blue-campaign-${id}`).describe();
  expect(schedule.action).toMatchObject({ workflowId: `blue-campaign-${id}`, taskQueue: blue.taskQueue });
  await expect(blue.client.schedule.getHandle(`campaign-${id}`).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);

  // Green addresses green-campaign-<id>, which does not exist.
  expect((await green.api('GET', `/api/v1/campaigns/${id}`)).body).toMatchObject({ schedule_id: `green-campaign-${id}`, schedule: null });
  expect((await green.api('POST', `/api/v1/campaigns/${id}/schedule/pause`)).status).toBe(404);
  expect((await green.api('POST', `/api/v1/campaigns/${id}/schedule/trigger`)).status).toBe(404);
  expect((await blue.client.schedule.getHandle(`blue-campaign-${id}`).describe()).state.paused).toBe(false);

  // Fired through blue, the run carries the prefix and blue's worker sends it.
  expect((await blue.api('POST', `/api/v1/campaigns/${id}/schedule/trigger`)).status).toBe(202);
  const run = await eventually(async () => {
    const runs = (await blue.api('GET', `/api/v1/campaigns/${id}`)).body.schedule.recent_runs as { workflow_id: string }[];
    if (runs.length !== 1) throw new Error(`${runs.length} runs`);
    return runs[0]!.workflow_id;
  }, 20_000);
  expect(run).toMatch(new RegExp(`^blue-campaign-${id}-`));
  expect(await blue.client.workflow.getHandle(run).result()).toMatchObject({ ending: 'finished', counts: { sent: 2 } });
  for (const waId of waIds) {
    expect(blue.graph.sentTo(waId)).toHaveLength(1);
    expect(green.graph.sentTo(waId)).toHaveLength(0);
  }
});

test("a lead's follow-up runs under its deployment's prefix and goes out through that deployment's chat", async () => {
  const [waId] = uniqueWaIds(1) as [string];
  const contacts = await importContacts(blue, [{ waId, firstName: 'Lena', tags: [uniqueTag('lead')] }]);
  await blue.inbound([{ from: waId, text: 'Hello there' }]);
  await eventually(() => expect(blue.graph.sentTo(waId)).toHaveLength(1));
  await blue.settled(waId);
  const lead = await blue.api('POST', '/api/v1/leads', { key: KEYS.sales, body: { contact_id: contacts.get(waId), title: 'Kettle order', source: 'api' } });
  expect(lead.status).toBe(201);
  const leadId = lead.body.id as number;

  const scheduled = await blue.api('POST', `/api/v1/leads/${leadId}/follow-up`, { key: KEYS.sales, body: { in_seconds: 1, message: 'Still keen?' } });
  expect(scheduled.body.workflow_id).toBe(`blue-lead-followup-${leadId}`);
  expect((await blue.api('GET', `/api/v1/leads/${leadId}/follow-up`)).status).toBe(200);
  expect((await green.api('GET', `/api/v1/leads/${leadId}/follow-up`)).status).toBe(404);

  await eventually(() => expect(blue.graph.sentTo(waId).map((s) => s.text)).toContain('Still keen?'), 15_000);
  await expect(describeWorkflow(blue.client, `chat-${waId}`)).rejects.toBeInstanceOf(WorkflowNotFoundError);
  await expect(describeWorkflow(green.client, `green-chat-${waId}`)).rejects.toBeInstanceOf(WorkflowNotFoundError);
});
