/**
 * Several numbers with their own AI configurations (issue 13): a customer writing to two of the
 * business's numbers has two chats, each answered from its own number by its own model; a
 * number this deployment does not serve (or has disabled) is never answered; a configuration
 * change reaches a live chat at its next burst, and the history names the version it used.
 */
import { temporal } from '@temporalio/proto';
import { sql } from 'kysely';
import { signBody } from '../src/api/webhook/signature';
import { sealCredentials } from '../src/numbers/credentials';
import { chatWorkflowId, type ChatStateView } from '../src/workflows/definitions';
import { chatStateQuery } from '../src/workflows/definitions';
import { APP_SECRET, eventually, startHarness, TEST_SECRETS, type Harness } from './helpers/harness';
import { burstOf } from './helpers/fake-openai';
import { saveWorkflowHistory } from './helpers/histories';
import { createCampaign, createTemplate, importContacts, uniqueTag, uniqueWaIds, waitForStatus } from './helpers/campaigns';
import { randomPhone, webhookBody, type TextMessageSpec } from './helpers/webhook-payload';

const EventType = temporal.api.enums.v1.EventType;

let h: Harness;
let second: { id: number; phoneNumberId: string; token: string };
let configA: number;
let configB: number;

/** A signed Meta webhook for messages to one of the business's numbers. */
async function inboundTo(phoneNumberId: string, messages: TextMessageSpec[]) {
  const body = JSON.stringify(webhookBody({ messages, phoneNumberId }));
  const res = await h.postRaw(body, { 'x-hub-signature-256': signBody(body, APP_SECRET) });
  return { status: res.status, body: await res.json() };
}

const sendsTo = (waId: string, phoneNumberId: string) => h.graph.sentTo(waId).filter((s) => s.phoneNumberId === phoneNumberId);
const chatOf = (waId: string, numberId?: number) => h.client.workflow.getHandle(chatWorkflowId(waId, numberId));
const settledChat = (waId: string, numberId?: number) =>
  eventually(async () => {
    const s: ChatStateView = await chatOf(waId, numberId).query(chatStateQuery);
    if (s.phase !== 'idle' || s.pendingCount !== 0) throw new Error(`chat busy: ${s.phase}`);
    return s;
  }, 20_000);

async function createConfiguration(body: Record<string, unknown>): Promise<number> {
  const res = await h.api('POST', '/api/v1/ai-configurations', { body });
  expect(res.status).toBe(201);
  return res.body.id;
}

beforeAll(async () => {
  h = await startHarness();
  // Each configuration names its model, and the fake model says which one answered.
  h.llm.responder = (req) => ({ content: `[${req.model}] Reply to: ${burstOf(req).join(' | ')}` });
  configA = await createConfiguration({ name: `A ${randomPhone()}`, model: 'model-a', system_prompt: 'You are assistant A.', debounce_ms: 200 });
  configB = await createConfiguration({ name: `B ${randomPhone()}`, model: 'model-b', system_prompt: 'You are assistant B.', debounce_ms: 200 });
  const phoneNumberId = `2${randomPhone()}`;
  const token = `second-number-token-${randomPhone()}`;
  const row = await h.db
    .insertInto('whatsapp_numbers')
    .values({
      phone_number_id: phoneNumberId,
      display_number: '+15550002222',
      name: 'Second number',
      provider: 'meta',
      credentials_encrypted: sealCredentials('meta', { access_token: token }, TEST_SECRETS),
      ai_configuration_id: configB,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  second = { id: row.id, phoneNumberId, token };
  await h.db.updateTable('whatsapp_numbers').set({ ai_configuration_id: configA }).where('id', '=', 1).execute();
  h.numbers.invalidate();
}, 60_000);

afterAll(async () => {
  if (h) {
    await h.db.updateTable('whatsapp_numbers').set({ ai_configuration_id: null }).where('id', '=', 1).execute();
    await h.db
      .deleteFrom('whatsapp_numbers')
      .where('id', '=', second?.id ?? -1)
      .execute()
      .catch(() => undefined);
    await h.db.updateTable('ai_configurations').set({ deleted_at: new Date(), is_default: false }).where('id', 'in', [configA, configB]).execute();
  }
  await h?.stop();
});

test('one customer writing to two numbers gets two chats, each answered from its number by its own configuration', async () => {
  const waId = randomPhone();
  const [one, two] = await Promise.all([
    inboundTo('PNID', [{ from: waId, text: 'hello default number' }]),
    inboundTo(second.phoneNumberId, [{ from: waId, text: 'hello second number' }]),
  ]);
  expect(one).toMatchObject({ status: 200, body: { status: 'received', messages: 1 } });
  expect(two).toMatchObject({ status: 200, body: { status: 'received', messages: 1 } });

  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2));
  await Promise.all([settledChat(waId), settledChat(waId, second.id)]);
  // Each reply went out from its own number with its own token, written by its own model.
  expect(sendsTo(waId, 'PNID').map((s) => s.text)).toEqual(['[model-a] Reply to: hello default number']);
  expect(sendsTo(waId, 'PNID')[0]!.authorization).toBe('Bearer graph-token');
  expect(sendsTo(waId, second.phoneNumberId).map((s) => s.text)).toEqual(['[model-b] Reply to: hello second number']);
  expect(sendsTo(waId, second.phoneNumberId)[0]!.authorization).toBe(`Bearer ${second.token}`);

  // Each model saw its own system prompt and only its own chat.
  const asked = h.llm.requests.filter((r) => r.messages.some((m) => m.content.startsWith('hello') && m.content.endsWith('number') && burstOf(r).length > 0));
  const byModel = (model: string) => asked.filter((r) => r.model === model && burstOf(r).some((t) => t.startsWith('hello')));
  const a = byModel('model-a').find((r) => burstOf(r).includes('hello default number'))!;
  const b = byModel('model-b').find((r) => burstOf(r).includes('hello second number'))!;
  expect(a.messages[0]).toEqual({ role: 'system', content: 'You are assistant A.' });
  expect(b.messages[0]).toEqual({ role: 'system', content: 'You are assistant B.' });
  expect(JSON.stringify(a.messages)).not.toContain('hello second number');
  expect(JSON.stringify(b.messages)).not.toContain('hello default number');

  // Two conversations, each with its own messages; the list filters by number.
  const conversations = await h.db.selectFrom('conversations').select(['id', 'number_id']).where('wa_id', '=', waId).orderBy('number_id').execute();
  expect(conversations.map((c) => c.number_id)).toEqual([1, second.id]);
  for (const [c, text] of [
    [conversations[0]!, 'hello default number'],
    [conversations[1]!, 'hello second number'],
  ] as const) {
    const contents = (await h.db.selectFrom('messages').select('content').where('conversation_id', '=', c.id).orderBy('id').execute()).map((m) => m.content);
    expect(contents).toEqual([text, `[model-${c.number_id === 1 ? 'a' : 'b'}] Reply to: ${text}`]);
  }
  const listed = await h.api('GET', `/api/v1/conversations?phone=${waId}&number_id=${second.id}`);
  expect(listed.body.conversations).toHaveLength(1);
  expect(listed.body.conversations[0]).toMatchObject({ number_id: second.id, workflow_id: `chat-${waId}@${second.id}` });

  // Ops tell them apart in the Web UI by BusinessNumber.
  expect((await chatOf(waId).describe()).searchAttributes).toMatchObject({ BusinessNumber: ['PNID'], WhatsAppPhone: [waId] });
  expect((await chatOf(waId, second.id).describe()).searchAttributes).toMatchObject({ BusinessNumber: [second.phoneNumberId], WhatsAppPhone: [waId] });

  // Usage is counted per number and configuration version.
  await eventually(async () => {
    const usage = await h.db
      .selectFrom('llm_usage')
      .select(['number_id', 'model', 'ai_configuration_id', 'ai_configuration_version'])
      .where('wa_id', '=', waId)
      .orderBy('number_id')
      .execute();
    expect(usage).toEqual([
      { number_id: 1, model: 'model-a', ai_configuration_id: configA, ai_configuration_version: 1 },
      { number_id: second.id, model: 'model-b', ai_configuration_id: configB, ai_configuration_version: 1 },
    ]);
  });
});

test('an operator writes from the number of the conversation', async () => {
  const waId = randomPhone();
  await inboundTo(second.phoneNumberId, [{ from: waId, text: 'can a person help?' }]);
  await eventually(() => expect(sendsTo(waId, second.phoneNumberId)).toHaveLength(1));
  await settledChat(waId, second.id);
  const { id } = await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId).where('number_id', '=', second.id).executeTakeFirstOrThrow();
  const sent = await h.api('POST', `/api/v1/conversations/${id}/messages`, { body: { message: 'Hi, Sam here.' } });
  expect(sent.status).toBe(201);
  expect(sendsTo(waId, second.phoneNumberId).map((s) => s.text)).toEqual(['[model-b] Reply to: can a person help?', 'Hi, Sam here.']);
  expect(sendsTo(waId, 'PNID')).toHaveLength(0);
  // By number: the same customer on the default number has no conversation, so free text is refused there.
  const byPhone = await h.api('POST', '/api/v1/messages', { body: { phone: `+${waId}`, message: 'wrong number?' } });
  expect(byPhone).toMatchObject({ status: 409, body: { error: { details: { reason: 'outside_24h_window' } } } });
  const fromSecond = await h.api('POST', '/api/v1/messages', { body: { phone: `+${waId}`, number_id: second.id, message: 'Still here.' } });
  expect(fromSecond).toMatchObject({ status: 201, body: { conversation_id: id } });
  expect(sendsTo(waId, second.phoneNumberId).at(-1)!.text).toBe('Still here.');
  const unknown = await h.api('POST', '/api/v1/messages', { body: { phone: `+${waId}`, number_id: 999_999, message: 'x' } });
  expect(unknown.status).toBe(400);
});

test('a number this deployment does not serve is acknowledged and never answered', async () => {
  const waId = randomPhone();
  const before = h.llm.requests.length;
  const res = await inboundTo('999000111222333', [{ from: waId, text: 'hello stranger' }]);
  expect(res).toMatchObject({ status: 200, body: { status: 'received', messages: 0, unrouted: 1 } });
  // Nothing started, recorded, asked or sent.
  await expect(chatOf(waId).describe()).rejects.toThrow(/not found/i);
  expect(await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId).execute()).toHaveLength(0);
  await new Promise((r) => setTimeout(r, 500));
  expect(h.llm.requests.length).toBe(before);
  expect(h.graph.sentTo(waId)).toHaveLength(0);
  // Counted, and in the webhook log.
  const metrics = await (await fetch(`${h.apiUrl}/metrics`)).text();
  expect(metrics).toMatch(/whatsapp_webhook_unrouted_messages_total\{provider="meta",reason="unknown"\} [1-9]/);
  await eventually(async () => {
    const logged = await h.db
      .selectFrom('webhook_logs')
      .select(['outcome', 'status_code'])
      .where(sql<boolean>`business_numbers @> array['999000111222333']::text[]`)
      .where('received_at', '>', new Date(Date.now() - 60_000))
      .execute();
    expect(logged).toEqual([{ outcome: 'unknown_number', status_code: 200 }]);
  });
});

test('a disabled number is not answered, nor written from, until it is enabled again', async () => {
  const waId = randomPhone();
  await h.db.updateTable('whatsapp_numbers').set({ enabled: false, updated_at: new Date() }).where('id', '=', second.id).execute();
  h.numbers.invalidate();
  try {
    const res = await inboundTo(second.phoneNumberId, [{ from: waId, text: 'anyone there?' }]);
    expect(res).toMatchObject({ status: 200, body: { messages: 0, unrouted: 1 } });
    await expect(chatOf(waId, second.id).describe()).rejects.toThrow(/not found/i);
    const written = await h.api('POST', '/api/v1/messages', { body: { phone: `+${waId}`, number_id: second.id, template: { name: 'missing' } } });
    expect(written).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/disabled/) } } });
  } finally {
    await h.db.updateTable('whatsapp_numbers').set({ enabled: true, updated_at: new Date() }).where('id', '=', second.id).execute();
    h.numbers.invalidate();
  }
  await inboundTo(second.phoneNumberId, [{ from: waId, text: 'anyone there now?' }]);
  await eventually(() => expect(sendsTo(waId, second.phoneNumberId).map((s) => s.text)).toEqual(['[model-b] Reply to: anyone there now?']));
});

test('a changed configuration answers the next burst of a live chat, and its history names the version', async () => {
  const waId = randomPhone();
  await inboundTo(second.phoneNumberId, [{ from: waId, text: 'first question' }]);
  await eventually(() => expect(sendsTo(waId, second.phoneNumberId)).toHaveLength(1));
  await settledChat(waId, second.id);
  const runId = (await chatOf(waId, second.id).describe()).runId;

  const changed = await h.api('PATCH', `/api/v1/ai-configurations/${configB}`, {
    body: { model: 'model-b2', system_prompt: 'You are assistant B, second edition.' },
  });
  expect(changed).toMatchObject({ status: 200, body: { version: 2 } });

  await inboundTo(second.phoneNumberId, [{ from: waId, text: 'second question' }]);
  await eventually(() => expect(sendsTo(waId, second.phoneNumberId)).toHaveLength(2));
  await settledChat(waId, second.id);
  expect(sendsTo(waId, second.phoneNumberId).map((s) => s.text)).toEqual(['[model-b] Reply to: first question', '[model-b2] Reply to: second question']);
  const asked = h.llm.requests.find((r) => burstOf(r).includes('second question'))!;
  expect(asked.messages[0]).toEqual({ role: 'system', content: 'You are assistant B, second edition.' });

  // The same run (no restart, no continue-as-new), and each reply's configuration version is in its history.
  const handle = chatOf(waId, second.id);
  expect((await handle.describe()).runId).toBe(runId);
  const events = (await handle.fetchHistory()).events ?? [];
  const replies = events
    .filter(
      (e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === 'replyToBurst',
    )
    .map((e) => JSON.parse(Buffer.from(e.activityTaskScheduledEventAttributes!.input!.payloads![0]!.data!).toString()) as { ai?: unknown });
  expect(replies.map((r) => r.ai)).toEqual([
    { id: configB, version: 1 },
    { id: configB, version: 2 },
  ]);
  await saveWorkflowHistory(h.client, chatWorkflowId(waId, second.id), 'chat-number-ai-configuration-change');
  // Put back for the tests after this one.
  await h.api('PATCH', `/api/v1/ai-configurations/${configB}`, { body: { model: 'model-b', system_prompt: 'You are assistant B.' } });
});

test("a configuration's debounce and context size apply to its chats", async () => {
  const waId = randomPhone();
  // A long quiet period: two messages a moment apart are one burst.
  await h.api('PATCH', `/api/v1/ai-configurations/${configB}`, { body: { debounce_ms: 1500, max_wait_ms: 5000, context_messages: 1 } });
  try {
    await inboundTo(second.phoneNumberId, [{ from: waId, text: 'part one' }]);
    await new Promise((r) => setTimeout(r, 400));
    await inboundTo(second.phoneNumberId, [{ from: waId, text: 'part two' }]);
    await eventually(() => expect(sendsTo(waId, second.phoneNumberId)).toHaveLength(1));
    expect(sendsTo(waId, second.phoneNumberId)[0]!.text).toBe('[model-b] Reply to: part one | part two');
    await settledChat(waId, second.id);
    await inboundTo(second.phoneNumberId, [{ from: waId, text: 'part three' }]);
    await eventually(() => expect(sendsTo(waId, second.phoneNumberId)).toHaveLength(2));
    // One message of context: the bot's last reply only, not the customer's earlier ones.
    const asked = h.llm.requests.find((r) => burstOf(r).includes('part three'))!;
    expect(asked.messages.map((m) => m.role)).toEqual(['system', 'assistant', 'user']);
  } finally {
    await h.api('PATCH', `/api/v1/ai-configurations/${configB}`, { body: { debounce_ms: 200, max_wait_ms: 10_000, context_messages: 20 } });
  }
});

test('a campaign sends from its number, and a reply to it is that number’s chat', async () => {
  const [waId] = uniqueWaIds(1);
  const tag = uniqueTag('numbers');
  await importContacts(h, [{ waId: waId!, firstName: 'Ana', tags: [tag] }]);
  const template = await createTemplate(h, 'Hi {{first_name}}, news from our second shop!');
  const unknownNumber = await h.api('POST', '/api/v1/campaigns', {
    body: { name: 'wrong', template_id: template.id, number_id: 999_999, audience: { tags: [tag] } },
  });
  expect(unknownNumber.status).toBe(400);
  const { id } = await createCampaign(h, { template_id: template.id, number_id: second.id, audience: { tags: [tag] } });
  expect((await h.api('GET', `/api/v1/campaigns/${id}`)).body.number_id).toBe(second.id);
  expect((await h.api('POST', `/api/v1/campaigns/${id}/start`)).status).toBe(202);
  await waitForStatus(h, id, 'completed');
  expect(sendsTo(waId!, second.phoneNumberId).map((s) => s.type)).toEqual(['template']);
  expect(sendsTo(waId!, second.phoneNumberId)[0]!.authorization).toBe(`Bearer ${second.token}`);
  expect(sendsTo(waId!, 'PNID')).toHaveLength(0);

  // The reply comes to the second number: its chat has the campaign message in its context.
  await inboundTo(second.phoneNumberId, [{ from: waId!, text: 'tell me more' }]);
  await eventually(() => expect(sendsTo(waId!, second.phoneNumberId)).toHaveLength(2));
  const asked = h.llm.requests.find((r) => burstOf(r).includes('tell me more'))!;
  expect(JSON.stringify(asked.messages)).toContain('news from our second shop');
  const recipients = await h.db.selectFrom('campaign_recipients').select(['replied_at']).where('campaign_id', '=', id).execute();
  expect(recipients[0]!.replied_at).not.toBeNull();
});

test('a number in another Meta app takes only messages its own app signed, and that app speaks for no other number', async () => {
  const phoneNumberId = `3${randomPhone()}`;
  const appSecret = `other-app-secret-${randomPhone()}`;
  const row = await h.db
    .insertInto('whatsapp_numbers')
    .values({
      phone_number_id: phoneNumberId,
      name: 'Other app',
      provider: 'meta',
      credentials_encrypted: sealCredentials('meta', { access_token: `other-app-token-${randomPhone()}`, app_secret: appSecret }, TEST_SECRETS),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  h.numbers.invalidate();
  const post = async (to: string, secret: string, text: string, waId: string) => {
    const body = JSON.stringify(webhookBody({ messages: [{ from: waId, text }], phoneNumberId: to }));
    const res = await h.postRaw(body, { 'x-hub-signature-256': signBody(body, secret) });
    return { status: res.status, body: await res.json() };
  };
  try {
    const waId = randomPhone();
    // Signed by the environment's app: not the other app's number's to take.
    expect(await post(phoneNumberId, APP_SECRET, 'wrong app', waId)).toMatchObject({ status: 200, body: { messages: 0, unrouted: 1 } });
    // Signed by the other app: not the default number's to take.
    expect(await post('PNID', appSecret, 'wrong app for the default', waId)).toMatchObject({ status: 200, body: { messages: 0, unrouted: 1 } });
    // A secret nobody has: refused outright.
    expect((await post('PNID', 'nobody-has-this-secret', 'forged', waId)).status).toBe(401);
    // Its own app: answered, from it.
    expect(await post(phoneNumberId, appSecret, 'right app', waId)).toMatchObject({ status: 200, body: { messages: 1 } });
    await eventually(() => expect(sendsTo(waId, phoneNumberId).map((s) => s.text)).toEqual(['[test-model] Reply to: right app']));
    await settledChat(waId, row.id);
    expect(h.graph.sentTo(waId)).toHaveLength(1);
  } finally {
    await h.db.updateTable('whatsapp_numbers').set({ enabled: false }).where('id', '=', row.id).execute();
    h.numbers.invalidate();
  }
});
