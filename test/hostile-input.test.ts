/**
 * Hostile and odd input at the webhook (issue 15): nothing a provider or an attacker sends can
 * freeze a chat, lose the valid messages beside it, or push a workflow past Temporal's limits.
 */
import { signBody } from '../src/api/webhook/signature';
import { signalInbound } from '../src/temporal/chat-signals';
import { saveHistory } from './helpers/histories';
import { APP_SECRET, KEYS, eventually, startHarness, type Harness } from './helpers/harness';
import { messageEntry, newWamid, randomPhone, webhookBody } from './helpers/webhook-payload';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const postSigned = (body: unknown) => {
  const raw = JSON.stringify(body);
  return h.postRaw(raw, { 'content-type': 'application/json', 'x-hub-signature-256': signBody(Buffer.from(raw), APP_SECRET) });
};

const running = async (waId: string) => (await h.client.workflow.getHandle(`chat-${waId}`).describe()).status.name;

test('a NUL in a text or a profile name is stripped: the message is recorded and answered, and so is the next', async () => {
  const waId = randomPhone();
  const res = await h.inbound([{ from: waId, text: 'hel\u0000lo \ud800there', name: 'Ev\u0000il\u0007' }]);
  expect(res.status).toBe(200);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  const conversation = await h.db.selectFrom('conversations').select('contact_name').where('wa_id', '=', waId).executeTakeFirstOrThrow();
  expect(conversation.contact_name).toBe('Evil');

  await h.inbound([{ from: waId, text: 'a normal question' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2));
  await h.settled(waId);
  const rows = await h.recorded(waId);
  expect(rows.map((r) => `${r.sender_type}:${r.content}`)).toEqual([
    'user:hello there',
    'bot:Reply to: hello there',
    'user:a normal question',
    'bot:Reply to: a normal question',
  ]);
});

test('one invalid element in a batch is skipped and logged; the valid messages and statuses beside it are processed', async () => {
  const waId = randomPhone();
  const body = webhookBody({
    messages: [
      { from: waId, text: 'first valid' },
      { from: waId, text: 'second valid' },
    ],
  });
  const value = body.entry[0]!.changes[0]!.value as { messages: unknown[]; statuses?: unknown[] };
  value.messages.splice(1, 0, { ...messageEntry({ from: '+1', text: 'bad sender' }) });
  value.messages.push({ id: newWamid(), type: 'text', text: { body: 'no sender at all' } });
  value.statuses = [
    { id: 'wamid.unknown-1', status: 'deleted', timestamp: '1700000000' },
    { id: 'wamid.unknown-2', status: 'delivered', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: waId },
  ];
  const res = await postSigned(body);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'received', messages: 2, statuses: 1, skipped: 3 });

  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  const users = (await h.recorded(waId)).filter((r) => r.sender_type === 'user').map((r) => r.content);
  expect(users).toEqual(['first valid', 'second valid']);
  const receipt = await h.db.selectFrom('delivery_receipts').select('status').where('wamid', '=', 'wamid.unknown-2').executeTakeFirst();
  expect(receipt?.status).toBe('delivered');
  expect(await h.db.selectFrom('delivery_receipts').select('wamid').where('wamid', '=', 'wamid.unknown-1').executeTakeFirst()).toBeUndefined();

  const metrics = await (await fetch(`${h.apiUrl}/metrics`)).text();
  expect(metrics).toMatch(/whatsapp_webhook_elements_skipped_total\{provider="meta",kind="message"\} [1-9]/);
  expect(metrics).toMatch(/whatsapp_webhook_elements_skipped_total\{provider="meta",kind="status"\} [1-9]/);
});

test('an absurd timestamp is replaced by the receive time and kept in metadata; the chat answers', async () => {
  const waId = randomPhone();
  const before = Date.now();
  const body = webhookBody({ messages: [{ from: waId, text: 'from the far future' }] });
  const value = body.entry[0]!.changes[0]!.value as { messages: { timestamp: string }[]; statuses?: unknown[] };
  value.messages[0]!.timestamp = '99999999999999999999';
  value.statuses = [{ id: 'wamid.future-status', status: 'sent', timestamp: '99999999999999999999', recipient_id: waId }];
  expect((await postSigned(body)).status).toBe(200);

  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  const [row] = (await h.recorded(waId)).filter((r) => r.sender_type === 'user');
  expect(row!.metadata).toEqual({ original_timestamp: '99999999999999999999' });
  const at = new Date(row!.created_at).getTime();
  expect(at).toBeGreaterThanOrEqual(before - 1000);
  expect(at).toBeLessThanOrEqual(Date.now());
  const receipt = await h.db.selectFrom('delivery_receipts').select('occurred_at').where('wamid', '=', 'wamid.future-status').executeTakeFirstOrThrow();
  expect(new Date(receipt.occurred_at).getTime()).toBeLessThanOrEqual(Date.now());
});

test('oversized texts are stored cut at 4,096 characters with a flag, and never terminate the chat', async () => {
  const waId = randomPhone();
  // Three signed texts of 750 KB each: together far past Temporal's 2 MB payload limit.
  for (const letter of ['a', 'b', 'c']) {
    const res = await h.inbound([{ from: waId, text: letter.repeat(750_000) }]);
    expect(res.status).toBe(200);
  }
  await eventually(() => expect(h.graph.sentTo(waId).length).toBeGreaterThanOrEqual(1), 30_000);
  await h.settled(waId, 30_000);
  const users = (await h.recorded(waId)).filter((r) => r.sender_type === 'user');
  expect(users.map((r) => [r.content.length, r.content[0]])).toEqual([
    [4096, 'a'],
    [4096, 'b'],
    [4096, 'c'],
  ]);
  for (const r of users) expect(r.metadata).toEqual({ truncated: true, original_length: 750_000 });
  expect(await running(waId)).toBe('RUNNING');

  // The chat goes on as ever.
  const replies = h.graph.sentTo(waId).length;
  await h.inbound([{ from: waId, text: 'still there?' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(replies + 1));
  expect(h.graph.sentTo(waId)[replies]!.text).toBe('Reply to: still there?');
  await h.settled(waId);
  await saveHistory(h.client, waId, 'oversized-texts');
});

test('a message Postgres refuses for good is logged and skipped by the recorder; the chat is not stalled', async () => {
  const waId = randomPhone();
  // Past the webhook's bounds (as a signal from any other client could be): a NUL reaches the chat.
  await signalInbound(h.client, h.taskQueue, { wamid: newWamid(), waId, sentAt: Date.now(), type: 'text', text: 'null \u0000 byte', answerable: true });
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1), 30_000);
  await h.settled(waId);
  await h.inbound([{ from: waId, text: 'the next one' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2), 30_000);
  await h.settled(waId);
  const rows = await h.recorded(waId);
  expect(rows.filter((r) => r.sender_type === 'user').map((r) => r.content)).toEqual(['the next one']);
  expect(rows.filter((r) => r.sender_type === 'bot')).toHaveLength(2);
});

describe('delivery failures reported later by the status webhook', () => {
  const failedStatus = (wamid: string, waId: string, code: number, title: string) => ({
    id: wamid,
    status: 'failed',
    timestamp: String(Math.floor(Date.now() / 1000)),
    recipient_id: waId,
    errors: [{ code, title, message: title }],
  });

  async function answeredChat(): Promise<{ waId: string; replyWamid: string }> {
    const waId = randomPhone();
    await h.inbound([{ from: waId, text: 'hello' }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
    await h.settled(waId);
    return { waId, replyWamid: h.graph.sentTo(waId)[0]!.wamid };
  }

  const needsHuman = async (waId: string) => {
    const desc = await h.client.workflow.getHandle(`chat-${waId}`).describe();
    const row = await h.db.selectFrom('conversations').select('needs_human').where('wa_id', '=', waId).executeTakeFirstOrThrow();
    return { attribute: desc.searchAttributes.NeedsHuman, row: row.needs_human, state: (await h.chatState(waId)).needsHuman };
  };

  test('131026 (undeliverable) flags the chat NeedsHuman in the workflow, its search attribute and Postgres', async () => {
    const { waId, replyWamid } = await answeredChat();
    expect((await h.inbound([], [failedStatus(replyWamid, waId, 131026, 'Message undeliverable')])).status).toBe(200);
    await eventually(async () => expect(await needsHuman(waId)).toEqual({ attribute: [true], row: true, state: true }));
    const row = (await h.recorded(waId)).find((r) => r.wamid === replyWamid)!;
    expect(row.delivery_status).toBe('failed');
    // The window is still open: only 131047 closes it.
    expect((await h.chatState(waId)).windowOpen).toBe(true);
  });

  test('131047 (window closed) also sends the next operator message to the template path until the user writes', async () => {
    const { waId, replyWamid } = await answeredChat();
    await h.inbound([], [failedStatus(replyWamid, waId, 131047, 'Re-engagement message')]);
    await eventually(async () => expect((await h.chatState(waId)).windowOpen).toBe(false));
    expect((await needsHuman(waId)).state).toBe(true);

    expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId }, key: KEYS.operator })).status).toBe(200);
    const refused = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, message: 'are you there?' }, key: KEYS.operator });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/template/i);
    expect(h.graph.sentTo(waId)).toHaveLength(1);

    // The user writing again opens a new window.
    await h.inbound([{ from: waId, text: 'I am back' }]);
    await eventually(async () => expect((await h.chatState(waId)).windowOpen).toBe(true));
    const sent = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, message: 'welcome back' }, key: KEYS.operator });
    expect(sent.status).toBe(200);
    await saveHistory(h.client, waId, 'delivery-failed-window');
  });

  test('a transient failure (130429) is recorded but leaves the chat alone', async () => {
    const { waId, replyWamid } = await answeredChat();
    await h.inbound([], [failedStatus(replyWamid, waId, 130429, 'Rate limit hit')]);
    // Recorded as failed all the same; the chat is not flagged.
    await eventually(async () => expect((await h.recorded(waId)).find((r) => r.wamid === replyWamid)!.delivery_status).toBe('failed'));
    await h.settled(waId);
    expect(await needsHuman(waId)).toEqual({ attribute: [false], row: false, state: false });
  });
});

test('a signed-in operator is recorded by user id, whatever the body claims', async () => {
  const email = `op.${Date.now()}@example.com`;
  const created = await h.api('POST', '/api/v1/users', { body: { email, password: 'a-long-password-1', role: 'operator' } });
  expect(created.status).toBe(201);
  const login = await h.api('POST', '/api/v1/auth/login', { body: { email, password: 'a-long-password-1' }, key: null });
  expect(login.status).toBe(200);
  const token = login.body.access_token as string;

  const waId = randomPhone();
  await h.inbound([{ from: waId, text: 'hi' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId, operator: 'CEO Jane' }, key: token })).status).toBe(200);
  const sent = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, operator: 'CEO Jane', message: 'hello from a human' }, key: token });
  expect(sent.status).toBe(200);

  const expected = `user:${created.body.id}`;
  expect((await h.chatState(waId)).operator).toBe(expected);
  const conversation = await h.db.selectFrom('conversations').select('operator').where('wa_id', '=', waId).executeTakeFirstOrThrow();
  expect(conversation.operator).toBe(expected);
  const row = (await h.recorded(waId)).find((r) => r.sender_type === 'operator')!;
  expect(row.metadata).toMatchObject({ operator: expected });
});

test('operator media links must be https', async () => {
  const waId = randomPhone();
  await h.inbound([{ from: waId, text: 'send me the file' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  await h.api('POST', '/api/v1/takeover', { body: { phone: waId }, key: KEYS.operator });
  for (const link of ['http://cdn.example.com/a.pdf', 'ftp://cdn.example.com/a.pdf', 'javascript:alert(1)']) {
    const res = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, media: { link, mimeType: 'application/pdf' } }, key: KEYS.operator });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/https/);
  }
  expect(h.graph.sentTo(waId)).toHaveLength(1);
});
