/**
 * Live chats upgrade, never restart (issue 13): a chat started by the release before numbers and
 * AI configurations (the chat workflow as of commit 67860b9, taken from git, with that release's
 * settings) answers its next burst with its number's AI configuration in the same run, and
 * shows BusinessNumber from its next run.
 */
import { CHAT_PATCHES } from '../src/workflows/chat-patches';
import { chatWorkflowId } from '../src/workflows/definitions';
import { burstOf } from './helpers/fake-openai';
import { eventually, startHarness, type Harness } from './helpers/harness';
import { patchIds, releaseBundle, startChatAsBefore } from './helpers/releases';
import { randomPhone } from './helpers/webhook-payload';

/** The last release before numbers and AI configurations. */
const BEFORE_NUMBERS = '67860b9';

let h: Harness;
let configId: number | undefined;

beforeAll(async () => {
  const before = await releaseBundle(BEFORE_NUMBERS, 'before-numbers');
  // That release's worker settings: none of the fields added since.
  h = await startHarness({
    workflowBundle: { code: before.code },
    settings: { continueAsNewAfterEvents: 90, aiConfigurations: undefined, defaultBusinessNumber: undefined },
  });
  h.llm.responder = (req) => ({ content: `[${req.model}] Reply to: ${burstOf(req).join(' | ')}` });
}, 120_000);
afterAll(async () => {
  if (h) {
    await h.db.updateTable('whatsapp_numbers').set({ ai_configuration_id: null }).where('id', '=', 1).execute();
    if (configId) await h.db.updateTable('ai_configurations').set({ deleted_at: new Date() }).where('id', '=', configId).execute();
  }
  await h?.stop();
});

test('a chat from before numbers answers its next burst with its number’s AI configuration, in the same run', async () => {
  const waId = randomPhone();
  // Started as that release's webhook started chats: no BusinessNumber, no number in its input.
  await startChatAsBefore(h.client, h.taskQueue, waId, 'before numbers');
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  const handle = h.client.workflow.getHandle(chatWorkflowId(waId));
  const first = await handle.describe();
  expect(first.searchAttributes.BusinessNumber).toBeUndefined();

  // The deployment: today's worker and settings take the running chat over, and an admin gives
  // the default number a configuration.
  await h.restartWorker(undefined, { aiConfigurations: true, defaultBusinessNumber: 'PNID' });
  const created = await h.api('POST', '/api/v1/ai-configurations', { body: { name: `upgrade ${waId}`, model: 'model-upgraded', debounce_ms: 200 } });
  expect(created.status).toBe(201);
  configId = created.body.id;
  await h.db.updateTable('whatsapp_numbers').set({ ai_configuration_id: configId }).where('id', '=', 1).execute();
  h.numbers.invalidate();

  await h.inbound([{ from: waId, text: 'after numbers' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2));
  await h.settled(waId);
  expect(h.graph.sentTo(waId).map((s) => s.text)).toEqual(['[test-model] Reply to: before numbers', '[model-upgraded] Reply to: after numbers']);
  expect((await handle.describe()).runId).toBe(first.runId);
  const events = (await handle.fetchHistory()).events ?? [];
  expect(patchIds(events)).toEqual([CHAT_PATCHES.v2, CHAT_PATCHES.aiConfigurations]);

  // Its next run (continue-as-new, the threshold is low here) shows BusinessNumber.
  for (let i = 0; (await handle.describe()).runId === first.runId && i < 8; i++) {
    await h.inbound([{ from: waId, text: `more ${i}` }]);
    await eventually(() => expect(h.graph.sentTo(waId).map((s) => s.text)).toContain(`[model-upgraded] Reply to: more ${i}`));
    await h.settled(waId);
  }
  await eventually(async () => expect((await handle.describe()).runId).not.toBe(first.runId));
  await eventually(async () => expect((await handle.describe()).searchAttributes).toMatchObject({ BusinessNumber: ['PNID'], WhatsAppPhone: [waId] }));
});
