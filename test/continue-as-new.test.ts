import { chatWorkflowId } from '../src/workflows/definitions';
import { eventually, startHarness, type Harness } from './helpers/harness';
import { saveHistory } from './helpers/histories';
import { newWamid, randomPhone } from './helpers/webhook-payload';

let h: Harness;
beforeAll(async () => {
  // A low threshold so a handful of messages forces several continue-as-new hand-overs.
  h = await startHarness({ settings: { continueAsNewAfterEvents: 40, debounceMs: 100, contextMessages: 40 } });
});
afterAll(async () => {
  await h?.stop();
});

test('continue-as-new keeps mode, dedup set and context', async () => {
  const waId = randomPhone();
  const handle = h.client.workflow.getHandle(chatWorkflowId(waId));
  const firstWamid = newWamid();
  await h.inbound([{ from: waId, text: 'my name is Zoe', wamid: firstWamid }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  const firstRun = (await handle.describe()).runId;

  for (let i = 1; i <= 6; i++) {
    await h.inbound([{ from: waId, text: `question ${i}` }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(i + 1));
  }
  await eventually(async () => expect((await handle.describe()).runId).not.toBe(firstRun));

  // Mode survives: take over, push the chat across another hand-over, and it is still held.
  expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId } })).status).toBe(200);
  const heldRun = (await handle.describe()).runId;
  for (let i = 0; i < 8; i++) await h.inbound([{ from: waId, text: `while held ${i}` }]);
  await eventually(async () => expect((await handle.describe()).runId).not.toBe(heldRun), 20_000);
  await h.settled(waId);
  const held = await h.chatState(waId);
  expect(held.mode).toBe('operator');
  expect(h.graph.sentTo(waId)).toHaveLength(7);
  const desc = await handle.describe();
  expect(desc.searchAttributes.ChatMode).toEqual(['operator']);
  expect(desc.searchAttributes.WhatsAppPhone).toEqual([waId]);

  // Dedup survives: the very first wamid, redelivered now, is ignored.
  await h.inbound([{ from: waId, text: 'my name is Zoe', wamid: firstWamid }]);
  expect((await h.api('POST', '/api/v1/handback', { body: { phone: waId } })).status).toBe(200);
  await h.inbound([{ from: waId, text: 'what is my name?' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(8));
  await h.settled(waId);

  const last = h.llm.requests[h.llm.requests.length - 1]!;
  expect(last.messages[last.messages.length - 1]).toEqual({ role: 'user', content: 'what is my name?' });
  // Context survives: earlier turns (from previous runs) are in the prompt, the duplicate is not.
  const contents = last.messages.map((m) => m.content);
  expect(contents).toContain('my name is Zoe');
  expect(contents.filter((c) => c === 'my name is Zoe')).toHaveLength(1);
  expect(contents).toContain('while held 7');
  const count = await h.db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('wamid', '=', firstWamid)
    .executeTakeFirstOrThrow();
  expect(Number(count.n)).toBe(1);
  await saveHistory(h.client, waId, 'continue-as-new');
});

test('every message gets exactly one reply when messages race the hand-over to a new run', async () => {
  // Each message is sent the moment the previous reply reaches Graph, which is when the workflow
  // task that sent it is still completing, often together with continue-as-new.
  const waId = randomPhone();
  const handle = h.client.workflow.getHandle(chatWorkflowId(waId));
  const firstRun = (await h.inbound([{ from: waId, text: 'race 0' }]), await handle.describe()).runId;
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  for (let i = 1; i < 12; i++) {
    await h.inbound([{ from: waId, text: `race ${i}` }]);
    await eventually(() => expect(h.graph.sentTo(waId).length).toBeGreaterThanOrEqual(i + 1));
  }
  await h.settled(waId);
  expect(h.graph.sentTo(waId).map((s) => s.text)).toEqual(Array.from({ length: 12 }, (_, i) => `Reply to: race ${i}`));
  expect((await handle.describe()).runId).not.toBe(firstRun);
});
