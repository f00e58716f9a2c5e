import { APP_SECRET, TEST_SETTINGS, eventually, startHarness, type Harness } from './helpers/harness';
import { createCampaign, createTemplate, importContacts, sendsPerRecipient, uniqueTag, uniqueWaIds, waitForStatus } from './helpers/campaigns';
import { saveWorkflowHistory } from './helpers/histories';
import { WorkerProcess } from './helpers/worker-process';

// The campaign runs on a worker in a child process so it can be killed -9, as a crash would.
let h: Harness;
let worker: WorkerProcess;
beforeAll(async () => {
  h = await startHarness({ worker: false });
  worker = new WorkerProcess({ taskQueue: h.taskQueue, graphUrl: h.graph.url, llmUrl: h.llm.url, settings: TEST_SETTINGS });
  await worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await h?.stop();
});

test('a worker killed mid-campaign and restarted still ends with exactly 450 sends', async () => {
  const template = await createTemplate(h);
  const tag = uniqueTag('crash');
  const waIds = uniqueWaIds(500);
  const ids = await importContacts(
    h,
    waIds.map((waId, i) => ({ waId, firstName: `Eve${i}`, tags: [tag] })),
  );
  const optedOut = waIds.slice(450);
  for (const waId of optedOut) await h.api('POST', `/api/v1/contacts/${ids.get(waId)}/opt-out`);

  // The kill lands in the worst place: WhatsApp has accepted message 150, the worker has not yet
  // stored its answer. That recipient must not be sent again after the restart.
  h.graph.receiptsTo = { url: `${h.apiUrl}/webhooks/whatsapp`, appSecret: APP_SECRET };
  let inDoubt: { to: string } | undefined;
  h.graph.onSend = (send) => {
    if (h.graph.sends.length === 150 && !inDoubt) {
      inDoubt = { to: send.to };
      worker.kill();
    }
  };
  const { id } = await createCampaign(h, { template_id: template.id, audience: { tags: [tag] }, rate_per_second: 80 });
  await h.api('POST', `/api/v1/campaigns/${id}/start`);
  const runId = (await waitForStatus(h, id, 'running')).current_workflow_id as string;
  await eventually(() => expect(inDoubt).toBeDefined(), 30_000);
  // Requests the dead worker had already written may still be read by Graph; then nothing more.
  let seen = -1;
  await eventually(async () => {
    const now = h.graph.sends.length;
    const stable = now === seen;
    seen = now;
    await new Promise((r) => setTimeout(r, 500));
    expect(stable && h.graph.sends.length === now).toBe(true);
  }, 20_000);
  expect(h.graph.sends.length).toBeLessThan(450);
  await worker.start();

  const done = await waitForStatus(h, id, 'completed', 90_000);
  const counts = sendsPerRecipient(h, waIds);
  expect(counts.size).toBe(450);
  expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
  expect(optedOut.some((waId) => counts.has(waId))).toBe(false);
  // Whatever was in flight when the worker died was unconfirmed for a while: the one WhatsApp took
  // was settled by its receipt (which carries our key), anything that never arrived was sent again
  // after the grace period. Either way: once each.
  expect(done.messages_sent).toBe(450);
  const stats = await h.api('GET', `/api/v1/campaigns/${id}/stats`);
  expect(stats.body).toMatchObject({ sent: 450, unconfirmed: 0, failed: 0 });
  await saveWorkflowHistory(h.client, runId, 'campaign-worker-crash');
}, 180_000);
