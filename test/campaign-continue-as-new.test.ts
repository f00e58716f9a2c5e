import { campaignProgressQuery } from '../src/workflows/campaign-definitions';
import { createCampaign, createTemplate, importContacts, sendsPerRecipient, uniqueTag, uniqueWaIds, waitForStatus } from './helpers/campaigns';
import { eventually, startHarness, type Harness } from './helpers/harness';

let h: Harness;
beforeAll(async () => {
  // A tiny history budget, so a modest audience walks through several continue-as-new runs.
  h = await startHarness({ settings: { campaignContinueAsNewAfterEvents: 20 } });
});
afterAll(async () => {
  await h?.stop();
});

test('a campaign continues as new on a long audience and keeps its cursor, pace, counts and pause', async () => {
  const template = await createTemplate(h);
  const tag = uniqueTag('long');
  const waIds = uniqueWaIds(200);
  await importContacts(
    h,
    waIds.map((waId) => ({ waId, firstName: 'Kai', tags: [tag] })),
  );
  const { id } = await createCampaign(h, { template_id: template.id, audience: { tags: [tag] }, rate_per_second: 20 });
  await h.api('POST', `/api/v1/campaigns/${id}/start`);
  const workflowId = (await waitForStatus(h, id, 'running')).current_workflow_id as string;
  const handle = h.client.workflow.getHandle(workflowId);
  const firstRunId = (await handle.describe()).runId;

  // Pause after a continue-as-new: the later run has the cursor and counts of the earlier one.
  await eventually(async () => expect((await handle.describe()).runId).not.toBe(firstRunId), 30_000);
  await h.api('POST', `/api/v1/campaigns/${id}/pause`);
  await waitForStatus(h, id, 'paused');
  const held = sendsPerRecipient(h, waIds).size;
  expect(held).toBeLessThan(200);
  const progress = await handle.query(campaignProgressQuery);
  expect(progress).toMatchObject({ phase: 'paused', total: 200, sent: held });
  await h.api('POST', `/api/v1/campaigns/${id}/resume`);

  const done = await waitForStatus(h, id, 'completed', 60_000);
  const counts = sendsPerRecipient(h, waIds);
  expect(counts.size).toBe(200);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  expect(done.messages_sent).toBe(200);
  const result = await handle.result();
  expect(result).toMatchObject({ ending: 'finished', counts: { sent: 200, failed: 0, unconfirmed: 0 } });
  const firstRun = await h.client.workflow.getHandle(workflowId, firstRunId).describe();
  expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');
});
