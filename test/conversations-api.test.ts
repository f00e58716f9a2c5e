import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../src/api/app';
import { createDb } from '../src/db/database';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { randomPhone } from './helpers/webhook-payload';

let h: Harness;
let waId: string;
let conversationId: string;
beforeAll(async () => {
  h = await startHarness({ settings: { debounceMs: 50 } });
  waId = randomPhone();
  for (let i = 1; i <= 5; i++) {
    await h.inbound([{ from: waId, text: `message ${i}`, name: 'Maria' }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(i));
  }
  await h.settled(waId);
  const conv = await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId).executeTakeFirstOrThrow();
  conversationId = conv.id;
});
afterAll(async () => {
  await h?.stop();
});

test('lists conversations with filters and offset pagination', async () => {
  const byPhone = await h.api('GET', `/api/v1/conversations?phone=${waId}`, { key: KEYS.viewer });
  expect(byPhone.status).toBe(200);
  expect(byPhone.body.total).toBe(1);
  const [c] = byPhone.body.conversations;
  expect(c).toMatchObject({
    id: conversationId,
    phone: waId,
    contact_name: 'Maria',
    mode: 'bot',
    status: 'open',
    handling: 'bot',
    message_count: 10,
    workflow_id: `chat-${waId}`,
  });
  expect(c.last_message).toMatchObject({ sender_type: 'bot', content: 'Reply to: message 5' });

  expect((await h.api('GET', `/api/v1/conversations?phone=${waId}&status=operator`)).body.total).toBe(0);
  expect((await h.api('GET', `/api/v1/conversations?phone=${waId}&status=bot`)).body.total).toBe(1);
  const future = new Date(Date.now() + 3600_000).toISOString();
  expect((await h.api('GET', `/api/v1/conversations?phone=${waId}&start_date=${encodeURIComponent(future)}`)).body.total).toBe(0);

  const all = await h.api('GET', '/api/v1/conversations?limit=1&offset=0');
  expect(all.body.conversations).toHaveLength(1);
  expect(all.body.total).toBeGreaterThanOrEqual(1);
  expect(all.body).toMatchObject({ limit: 1, offset: 0 });

  const bad = await h.api('GET', '/api/v1/conversations?limit=1000');
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('VALIDATION_ERROR');
  expect((await h.api('GET', '/api/v1/conversations?status=escalated')).status).toBe(400);
});

test('gets one conversation with its messages and summary', async () => {
  const res = await h.api('GET', `/api/v1/conversations/${conversationId}`);
  expect(res.status).toBe(200);
  expect(res.body.summary).toEqual({ total_messages: 10, user_messages: 5, bot_messages: 5, operator_messages: 0, campaign_messages: 0 });
  expect(res.body.messages.map((m: { content: string }) => m.content).slice(0, 2)).toEqual(['message 1', 'Reply to: message 1']);
  expect(res.body.messages_truncated).toBe(false);
  expect((await h.api('GET', '/api/v1/conversations/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  expect((await h.api('GET', '/api/v1/conversations/not-a-uuid')).status).toBe(404);
});

test('pages through messages with a cursor, in both directions and by sender', async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const path: string = `/api/v1/conversations/${conversationId}/messages?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
    const page = await h.api('GET', path);
    expect(page.status).toBe(200);
    expect(page.body.total).toBe(10);
    seen.push(...page.body.messages.map((m: { content: string }) => m.content));
    cursor = page.body.next_cursor;
    expect(page.body.has_more).toBe(cursor !== null);
    pages++;
  } while (cursor);
  expect(pages).toBe(4);
  expect(seen).toHaveLength(10);
  expect(seen[0]).toBe('message 1');
  expect(seen[9]).toBe('Reply to: message 5');

  const newest = await h.api('GET', `/api/v1/conversations/${conversationId}/messages?limit=2&order=desc&sender_type=user`);
  expect(newest.body.messages.map((m: { content: string }) => m.content)).toEqual(['message 5', 'message 4']);
  expect(newest.body.total).toBe(5);
  expect((await h.api('GET', `/api/v1/conversations/${conversationId}/messages?cursor=garbage`)).status).toBe(400);
});

test('GET /health is 200 with everything up and 503 when the database is gone', async () => {
  const ok = await fetch(`${h.apiUrl}/health`);
  expect(ok.status).toBe(200);
  expect(await ok.json()).toMatchObject({
    status: 'healthy',
    checks: { database: 'connected', temporal: 'connected', workers: expect.stringContaining('polling') },
  });

  const deadDb = createDb('postgres://postgres@127.0.0.1:1/nothing');
  const app = createApp({ db: deadDb, temporal: h.client, taskQueue: h.taskQueue, log: pino({ level: 'silent' }), apiKeys: [], whatsapp: {}, version: 'test' });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'unhealthy', checks: { database: 'disconnected', temporal: 'connected' } });
  } finally {
    server.close();
    await deadDb.destroy();
  }
});

test('GET / names the service; unknown routes are a 404 in the error format', async () => {
  const root = await (await fetch(`${h.apiUrl}/`)).json();
  expect(root).toMatchObject({ name: 'whatsapp-temporal', version: 'test' });
  const missing = await h.api('GET', '/api/v1/nothing-here');
  expect(missing.status).toBe(404);
  expect(missing.body.error).toMatchObject({ code: 'NOT_FOUND', details: null });
  expect(missing.body.error.timestamp).toEqual(expect.any(String));
});
