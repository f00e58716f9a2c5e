import type { AddressInfo } from 'node:net';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import pino from 'pino';
import { createApp } from '../src/api/app';
import { signBody } from '../src/api/webhook/signature';
import { chatWorkflowId } from '../src/workflows/definitions';
import { APP_SECRET, eventually, startHarness, type Harness } from './helpers/harness';
import { newWamid, randomPhone, webhookBody } from './helpers/webhook-payload';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function chatExists(waId: string): Promise<boolean> {
  try {
    await h.client.workflow.getHandle(chatWorkflowId(waId)).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

test('GET verify handshake answers the challenge only for the right token, on both paths', async () => {
  for (const path of ['/webhooks/whatsapp', '/webhook']) {
    const ok = await fetch(`${h.apiUrl}${path}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=12345`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('12345');
    const bad = await fetch(`${h.apiUrl}${path}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=12345`);
    expect(bad.status).toBe(403);
    expect(((await bad.json()) as any).error.code).toBe('AUTHORIZATION_ERROR');
  }
});

test('a forged or missing signature is 401 and nothing happens', async () => {
  const waId = randomPhone();
  const body = JSON.stringify(webhookBody({ messages: [{ from: waId, text: 'forged' }] }));
  const attempts: Record<string, string>[] = [
    {},
    { 'x-hub-signature-256': signBody(body, 'some-other-secret') },
    { 'x-hub-signature-256': 'sha256=nothex' },
    // Signed, then tampered with.
    { 'x-hub-signature-256': signBody(body.replace('forged', 'f0rged'), APP_SECRET) },
  ];
  for (const headers of attempts) {
    const res = await h.postRaw(body, headers);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe('AUTHENTICATION_ERROR');
  }
  const legacy = await fetch(`${h.apiUrl}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(legacy.status).toBe(401);

  await new Promise((r) => setTimeout(r, 500));
  expect(await chatExists(waId)).toBe(false);
  expect(h.llm.requests.some((r) => JSON.stringify(r).includes('forged'))).toBe(false);
  const rows = await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId).execute();
  expect(rows).toHaveLength(0);
});

test('one POST with several chats and messages handles all of them, in order per chat', async () => {
  const a = randomPhone();
  const b = randomPhone();
  const res = await h.inbound([
    { from: a, text: 'a1' },
    { from: b, text: 'b1' },
    { from: a, text: 'a2' },
    { from: b, text: 'b2' },
  ]);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ status: 'received', messages: 4 });
  await eventually(() => {
    expect(h.graph.sentTo(a)).toHaveLength(1);
    expect(h.graph.sentTo(b)).toHaveLength(1);
  });
  expect(h.graph.sentTo(a)[0]!.text).toBe('Reply to: a1 | a2');
  expect(h.graph.sentTo(b)[0]!.text).toBe('Reply to: b1 | b2');
});

test('the legacy /webhook path takes signed messages too', async () => {
  const waId = randomPhone();
  const body = JSON.stringify(webhookBody({ messages: [{ from: waId, text: 'via alias' }] }));
  const res = await fetch(`${h.apiUrl}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, APP_SECRET) },
    body,
  });
  expect(res.status).toBe(200);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
});

test('status receipts are recorded forward-only and never signal the chat', async () => {
  const waId = randomPhone();
  await h.inbound([{ from: waId, text: 'status please' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  const wamid = h.graph.sentTo(waId)[0]!.wamid;
  const historyBefore = (await h.client.workflow.getHandle(chatWorkflowId(waId)).describe()).historyLength;

  const ts = Math.floor(Date.now() / 1000);
  const status = (s: string, offset: number) => ({ id: wamid, status: s, timestamp: String(ts + offset), recipient_id: waId });
  expect((await h.inbound([], [status('delivered', 1)])).status).toBe(200);
  expect((await h.inbound([], [status('read', 2)])).status).toBe(200);
  // Out of order: a late "delivered" and "sent" must not move "read" back.
  expect((await h.inbound([], [status('sent', 0), status('delivered', 1)])).status).toBe(200);

  const row = await h.db.selectFrom('messages').select(['delivery_status', 'status_updated_at']).where('wamid', '=', wamid).executeTakeFirstOrThrow();
  expect(row.delivery_status).toBe('read');
  expect(row.status_updated_at!.getTime()).toBe((ts + 2) * 1000);
  const receipt = await h.db.selectFrom('delivery_receipts').selectAll().where('wamid', '=', wamid).executeTakeFirstOrThrow();
  expect(receipt.status).toBe('read');

  const historyAfter = (await h.client.workflow.getHandle(chatWorkflowId(waId)).describe()).historyLength;
  expect(historyAfter).toBe(historyBefore);
});

test('a receipt that arrives before the send recorded its wamid is applied afterwards', async () => {
  const waId = randomPhone();
  // The Graph fake answers slowly; we deliver the "delivered" receipt for the wamid it will return
  // before the activity has stored that wamid.
  await h.graph.during({ delayMs: 800 }, async () => {
    await h.inbound([{ from: waId, text: 'race me' }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
    const wamid = h.graph.sentTo(waId)[0]!.wamid;
    const ts = Math.floor(Date.now() / 1000);
    expect((await h.inbound([], [{ id: wamid, status: 'delivered', timestamp: String(ts), recipient_id: waId }])).status).toBe(200);
    await h.settled(waId);
    const row = await h.db.selectFrom('messages').select('delivery_status').where('wamid', '=', wamid).executeTakeFirstOrThrow();
    expect(row.delivery_status).toBe('delivered');
  });
});

test('validly signed events we do not act on get 200; signed garbage gets 400', async () => {
  const other = JSON.stringify({ object: 'page', entry: [] });
  const res = await h.postRaw(other, { 'x-hub-signature-256': signBody(other, APP_SECRET) });
  expect(res.status).toBe(200);
  const notJson = 'not json at all';
  const bad = await h.postRaw(notJson, { 'x-hub-signature-256': signBody(notJson, APP_SECRET) });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as any).error.code).toBe('VALIDATION_ERROR');
});

test('non-text messages reach the LLM as a description; reactions are recorded but not answered', async () => {
  const waId = randomPhone();
  await h.inbound([
    { from: waId, type: 'image', extra: { image: { id: 'IMG1', mime_type: 'image/jpeg', caption: 'my broken screen' } } },
    { from: waId, type: 'location', extra: { location: { latitude: 52.52, longitude: 13.405, name: 'Shop', address: 'Main St 1' } } },
  ]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  expect(h.graph.sentTo(waId)[0]!.text).toBe('Reply to: [image] my broken screen | [location: Shop, Main St 1 (52.52, 13.405)]');

  await h.inbound([{ from: waId, type: 'reaction', extra: { reaction: { message_id: 'x', emoji: '👍' } } }]);
  await eventually(async () => {
    const rows = (await h.recorded(waId)).filter((r) => r.direction === 'inbound');
    expect(rows.map((r) => r.message_type).sort()).toEqual(['image', 'location', 'reaction']);
    expect(rows.find((r) => r.message_type === 'image')!.media).toMatchObject({ id: 'IMG1', mimeType: 'image/jpeg' });
  });
  await h.settled(waId);
  expect(h.graph.sentTo(waId)).toHaveLength(1);
});

test('when Temporal cannot take the signal the webhook answers 5xx so Meta retries', async () => {
  const connection = Connection.lazy({ address: '127.0.0.1:1' });
  const app = createApp({
    db: h.db,
    temporal: new Client({ connection }),
    taskQueue: 'unused',
    log: pino({ level: 'silent' }),
    apiKeys: [],
    whatsapp: { appSecret: APP_SECRET },
    version: 'test',
    temporalTimeoutMs: 1500,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const body = JSON.stringify(webhookBody({ messages: [{ from: randomPhone(), text: 'lost?', wamid: newWamid() }] }));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/whatsapp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, APP_SECRET) },
      body,
    });
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(((await res.json()) as any).error.code).toBe('EXTERNAL_SERVICE_ERROR');
  } finally {
    server.close();
    await connection.close().catch(() => undefined);
  }
});
