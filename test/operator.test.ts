import { burstOf } from './helpers/fake-openai';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { saveHistory } from './helpers/histories';
import { randomPhone } from './helpers/webhook-payload';
import { uniqueWaIds } from './helpers/campaigns';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function startChat(text = 'hi there'): Promise<string> {
  const waId = randomPhone();
  await h.inbound([{ from: waId, text }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  return waId;
}

test('takeover, operator message and handback, end to end', async () => {
  const waId = await startChat('I have a billing problem');

  // Seed 001 clients name the operator in the body; the caller's own identity is recorded instead.
  const takeover = await h.api('POST', '/api/v1/takeover', { body: { phone: `+${waId}`, operator: 'CEO Jane' } });
  expect(takeover).toEqual({ status: 200, body: { status: 'takeover_complete' } });
  await eventually(async () => {
    const desc = await h.client.workflow.getHandle(`chat-${waId}`).describe();
    expect(desc.searchAttributes.ChatMode).toEqual(['operator']);
  });

  // While the operator holds the chat, the bot stays silent but every message is recorded.
  const llmCallsBefore = h.llm.requests.length;
  await h.inbound([{ from: waId, text: 'hello? anyone?' }]);
  await h.inbound([{ from: waId, text: 'my invoice is wrong' }]);
  await eventually(async () => expect((await h.recorded(waId)).filter((r) => r.sender_type === 'user')).toHaveLength(3));
  const held = await h.settled(waId);
  expect(held.mode).toBe('operator');
  expect(held.operator).toBe('key:admin-key');
  expect((await h.db.selectFrom('conversations').select('operator').where('wa_id', '=', waId).executeTakeFirstOrThrow()).operator).toBe('key:admin-key');
  expect(h.llm.requests.length).toBe(llmCallsBefore);
  expect(h.graph.sentTo(waId)).toHaveLength(1);

  const sent = await h.api('POST', '/api/v1/operator-message', {
    body: { phone: waId, message: 'Hi, this is Ana. I fixed your invoice.' },
    key: KEYS.operator,
  });
  expect(sent.status).toBe(200);
  expect(sent.body).toMatchObject({ status: 'success' });
  const graphSend = h.graph.sentTo(waId)[1]!;
  expect(graphSend.text).toBe('Hi, this is Ana. I fixed your invoice.');
  expect(sent.body.message_id).toBe(graphSend.wamid);
  const operatorRow = (await h.recorded(waId)).find((r) => r.sender_type === 'operator');
  expect(operatorRow).toMatchObject({ wamid: graphSend.wamid, content: 'Hi, this is Ana. I fixed your invoice.' });
  // Recorded as the key that sent it, whatever a body might claim.
  expect(operatorRow!.metadata).toMatchObject({ operator: 'key:operator-key' });

  const handback = await h.api('POST', '/api/v1/handback', { body: { phone: waId }, key: KEYS.operator });
  expect(handback).toEqual({ status: 200, body: { status: 'handback_complete' } });

  // The bot answers again, and its context holds what the user and the operator said meanwhile.
  await h.inbound([{ from: waId, text: 'thanks! one more thing' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(3));
  await h.settled(waId);
  const call = h.llm.requests[h.llm.requests.length - 1]!;
  expect(burstOf(call)).toEqual(['thanks! one more thing']);
  const contents = call.messages.map((m) => m.content);
  expect(contents).toContain('my invoice is wrong');
  expect(contents).toContain('(sent by a human operator) Hi, this is Ana. I fixed your invoice.');
  const desc = await h.client.workflow.getHandle(`chat-${waId}`).describe();
  expect(desc.searchAttributes.ChatMode).toEqual(['bot']);
  await saveHistory(h.client, waId, 'takeover-handback');
});

test('takeover while the model is generating drops the draft reply', async () => {
  const waId = randomPhone();
  await h.llm.during({ delayMs: 800 }, async () => {
    await h.inbound([{ from: waId, text: 'slow question' }]);
    await eventually(() => expect(h.llm.wasAsked('slow question')).toBe(true));
    expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000)); // the LLM answer lands after the takeover
    await h.settled(waId);
  });
  expect(h.graph.sentTo(waId)).toHaveLength(0);
  expect((await h.chatState(waId)).mode).toBe('operator');
});

test('operator endpoints answer 400 without a phone; takeover and handback 404 for an unknown chat, a message to a new number needs a template', async () => {
  for (const path of ['/api/v1/takeover', '/api/v1/handback', '/api/v1/operator-message']) {
    const missing = await h.api('POST', path, { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'VALIDATION_ERROR', message: 'phone: Phone number is required' });
    expect(missing.body.error.request_id).toEqual(expect.any(String));
  }
  for (const path of ['/api/v1/takeover', '/api/v1/handback']) {
    const unknown = randomPhone();
    const notFound = await h.api('POST', path, { body: { phone: unknown } });
    expect(notFound.status).toBe(404);
    expect(notFound.body.error).toMatchObject({ code: 'NOT_FOUND', message: `No conversation found for phone number ${unknown}` });
  }
  // Seed 001 creates the conversation for a number that never wrote, but WhatsApp only delivers a template to it.
  const [fresh] = uniqueWaIds(1);
  const freeText = await h.api('POST', '/api/v1/operator-message', { body: { phone: fresh, message: 'x' } });
  expect(freeText.status).toBe(409);
  expect(freeText.body.error.message).toMatch(/template/);
  // A number that is neither valid nor one of ours is a 400 naming the problem.
  const invalid = await h.api('POST', '/api/v1/operator-message', { body: { phone: randomPhone(), message: 'x' } });
  expect(invalid.status).toBe(400);
  expect(invalid.body.error.message).toMatch(/^phone: /);

  const waId = await startChat();
  const empty = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId } });
  expect(empty.status).toBe(400);
  expect(empty.body.error.message).toContain('Message text, media or a template is required');
  expect(h.graph.sentTo(waId)).toHaveLength(1);
});

test('a free-form operator message outside the 24 h window is a 409 and sends nothing', async () => {
  const waId = randomPhone();
  const twoDaysAgo = Math.floor(Date.now() / 1000) - 48 * 3600;
  // An old message (Meta redelivers for up to 7 days): the chat exists but its window is closed.
  await h.inbound([{ from: waId, text: 'old message', timestamp: twoDaysAgo }]);
  await eventually(async () => expect((await h.chatState(waId)).lastInboundAt).toBeDefined());
  await h.settled(waId);
  const sendsBefore = h.graph.sentTo(waId).length;

  const res = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, message: 'hello again' } });
  expect(res.status).toBe(409);
  expect(res.body.error.code).toBe('CONFLICT');
  expect(res.body.error.message).toMatch(/24-hour/);
  expect(h.graph.sentTo(waId)).toHaveLength(sendsBefore);
  expect((await h.recorded(waId)).filter((r) => r.sender_type === 'operator')).toHaveLength(0);
  expect((await h.chatState(waId)).windowOpen).toBe(false);
});

test('operators can send media by id, recorded with its metadata', async () => {
  const waId = await startChat();
  const res = await h.api('POST', '/api/v1/operator-message', {
    body: { phone: waId, media: { id: 'MEDIA123', mimeType: 'application/pdf', filename: 'invoice.pdf', caption: 'Your invoice' } },
  });
  expect(res.status).toBe(200);
  const send = h.graph.sentTo(waId)[1]!;
  expect(send.type).toBe('document');
  expect(send.body.document).toEqual({ id: 'MEDIA123', caption: 'Your invoice', filename: 'invoice.pdf' });
});

test('the API needs a bearer key, and a viewer may not take over', async () => {
  const waId = await startChat();
  const none = await h.api('POST', '/api/v1/takeover', { body: { phone: waId }, key: null });
  expect(none.status).toBe(401);
  expect(none.body.error.code).toBe('AUTHENTICATION_ERROR');
  const wrong = await h.api('POST', '/api/v1/takeover', { body: { phone: waId }, key: 'not-a-real-key-123456' });
  expect(wrong.status).toBe(401);
  const viewer = await h.api('POST', '/api/v1/takeover', { body: { phone: waId }, key: KEYS.viewer });
  expect(viewer.status).toBe(403);
  expect(viewer.body.error.code).toBe('AUTHORIZATION_ERROR');
  expect((await h.chatState(waId)).mode).toBe('bot');
  // A viewer may read.
  expect((await h.api('GET', '/api/v1/conversations', { key: KEYS.viewer })).status).toBe(200);
});

test('one activity per reply: a takeover while it generates sends nothing, and Postgres has the takeover when the API answers', async () => {
  const waId = randomPhone();
  await h.llm.during({ delayMs: 1500 }, async () => {
    await h.inbound([{ from: waId, text: 'a slow one' }]);
    await eventually(() => expect(h.llm.wasAsked('a slow one')).toBe(true));
    expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId, operator: 'Ana' } })).status).toBe(200);
    // Read straight after the answer: the list an operator opens next already shows the takeover.
    const conversation = await h.db.selectFrom('conversations').selectAll().where('wa_id', '=', waId).executeTakeFirstOrThrow();
    expect(conversation.mode).toBe('operator');
    await new Promise((r) => setTimeout(r, 1800)); // past the model's answer
    await h.settled(waId);
  });
  expect(h.graph.sentTo(waId)).toHaveLength(0);
  // The burst went on record with the reply attempt, and no bot message was ever reserved.
  expect((await h.recorded(waId)).map((r) => r.sender_type)).toEqual(['user']);
  const events = (await h.client.workflow.getHandle(`chat-${waId}`).fetchHistory()).events ?? [];
  const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
  // The model and the send were one activity, cancelled; the chat then writes the burst again
  // itself (idempotently), not knowing how far the cancelled activity got.
  expect(scheduled.filter((name) => name !== 'syncConversation')).toEqual(['replyToBurst', 'recordInboundMessages']);
  expect(events.some((e) => e.activityTaskCanceledEventAttributes)).toBe(true);
});

test('handback answers once Postgres has it, and the next message is answered', async () => {
  const waId = await startChat('hello before a handback');
  expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId } })).status).toBe(200);
  expect((await h.api('POST', '/api/v1/handback', { body: { phone: waId } })).status).toBe(200);
  const conversation = await h.db.selectFrom('conversations').selectAll().where('wa_id', '=', waId).executeTakeFirstOrThrow();
  expect(conversation).toMatchObject({ mode: 'bot', operator: null });
  await h.inbound([{ from: waId, text: 'are you back?' }]);
  await eventually(() => expect(h.graph.sentTo(waId).map((s) => s.text)).toContain('Reply to: are you back?'));
});
