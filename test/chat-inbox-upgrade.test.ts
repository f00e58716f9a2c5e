/**
 * Live chats upgrade, never restart: a chat started by the release before the inbox (the chat
 * workflow as of commit ab5dbe9, taken from git) is closed, assigned, reopened by its customer
 * and answered once by today's code, in the same run.
 */
import { CHAT_PATCHES } from '../src/workflows/chat-patches';
import { chatWorkflowId } from '../src/workflows/definitions';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { patchIds, releaseBundle, startChatAsBefore } from './helpers/releases';
import { randomPhone } from './helpers/webhook-payload';

/** The last release before the inbox. */
const BEFORE_INBOX = 'ab5dbe9';

let h: Harness;

beforeAll(async () => {
  const before = await releaseBundle(BEFORE_INBOX, 'before-inbox');
  // The settings that release's worker had: none of the fields added since (numbers, AI configurations).
  h = await startHarness({
    workflowBundle: { code: before.code },
    settings: { continueAsNewAfterEvents: 70, aiConfigurations: undefined, defaultBusinessNumber: undefined },
  });
}, 120_000);
afterAll(async () => {
  await h?.stop();
});

test('a chat from before the inbox is closed, assigned and reopened by today’s code in the same run', async () => {
  const waId = randomPhone();
  await h.inbound([{ from: waId, text: 'before the inbox' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  const handle = h.client.workflow.getHandle(chatWorkflowId(waId));
  const runId = (await handle.describe()).runId;
  const { id } = await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId).executeTakeFirstOrThrow();

  // The deployment: today's worker takes the running chat over.
  await h.restartWorker();

  const closed = await h.api('POST', `/api/v1/conversations/${id}/close`, { body: {}, key: KEYS.operator });
  expect(closed).toMatchObject({ status: 200, body: { status: 'closed' } });
  const tagged = await h.api('PUT', `/api/v1/conversations/${id}`, { body: { tags: ['legacy'], priority: 'high' }, key: KEYS.operator });
  expect(tagged).toMatchObject({ status: 200, body: { status: 'closed', tags: ['legacy'], priority: 'high' } });
  // Its search attributes appear once something sets them.
  expect((await handle.describe()).searchAttributes).toMatchObject({ ConversationStatus: ['closed'] });

  await h.inbound([{ from: waId, text: 'after the inbox' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2));
  await h.settled(waId);
  const row = (await h.api('GET', `/api/v1/conversations?phone=${waId}`)).body.conversations[0];
  expect(row).toMatchObject({ status: 'open', tags: ['legacy'], priority: 'high' });
  expect(h.graph.sentTo(waId).map((s) => s.text)).toEqual(['Reply to: before the inbox', 'Reply to: after the inbox']);
  expect((await h.recorded(waId)).filter((m) => m.direction === 'inbound').map((m) => m.content)).toEqual(['before the inbox', 'after the inbox']);
  await eventually(async () => expect((await handle.describe()).searchAttributes).toMatchObject({ ConversationStatus: ['open'] }));

  // The same run throughout: upgraded in place, not restarted, and with no patch of its own (the
  // AI configurations' patch, which its burst after the upgrade passed, is issue 13's).
  const described = await handle.describe();
  expect(described.runId).toBe(runId);
  const events = (await handle.fetchHistory()).events ?? [];
  expect(patchIds(events)).toEqual([CHAT_PATCHES.v2, CHAT_PATCHES.aiConfigurations]);
});

test('a chat from before the inbox that nobody touches shows ConversationStatus from its next run', async () => {
  const waId = randomPhone();
  // Started as that release's webhook started chats: without ConversationStatus.
  await startChatAsBefore(h.client, h.taskQueue, waId, 'one');
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  const handle = h.client.workflow.getHandle(chatWorkflowId(waId));
  const first = await handle.describe();
  expect(first.searchAttributes.ConversationStatus).toBeUndefined();
  await h.restartWorker();
  // Enough history that today's code continues it as new (CHAT_CONTINUE_AS_NEW_EVENTS is low here).
  for (const text of ['two', 'three', 'four', 'five']) {
    await h.inbound([{ from: waId, text }]);
    await eventually(() => expect(h.graph.sentTo(waId).map((s) => s.text)).toContain(`Reply to: ${text}`));
    await h.settled(waId);
  }
  await eventually(async () => expect((await handle.describe()).runId).not.toBe(first.runId));
  const next = await handle.describe();
  expect(next.searchAttributes).toMatchObject({ ConversationStatus: ['open'], WhatsAppPhone: [waId], ChatMode: ['bot'] });
});
