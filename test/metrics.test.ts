import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { ChatCounts, chatCountsFor, exposeChatCounts } from '../src/metrics/chat-counts';
import { startMetricsServer } from '../src/metrics/server';
import { FakeGraph } from './helpers/fake-graph';
import { FakeOpenAI } from './helpers/fake-openai';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { randomPhone } from './helpers/webhook-payload';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

/** Prometheus text → sample value by `name{label="value",...}` with labels sorted. */
type Samples = Map<string, number>;

function parseExposition(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k!, v!] as const);
    samples.set(key(match[1]!, Object.fromEntries(labels)), Number(match[3]));
  }
  return samples;
}

function key(name: string, labels: Record<string, string> = {}): string {
  const inner = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
    .join(',');
  return inner ? `${name}{${inner}}` : name;
}

async function scrape(url = `${h.apiUrl}/metrics`): Promise<Samples> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parseExposition(await res.text());
}

/** How much each named sample moved between two scrapes (absent counts as 0). */
function moved(before: Samples, after: Samples) {
  return (name: string, labels?: Record<string, string>) => (after.get(key(name, labels)) ?? 0) - (before.get(key(name, labels)) ?? 0);
}

const chats = new Set<string>();
async function answeredChat(texts: string[]): Promise<string> {
  const waId = randomPhone();
  chats.add(waId);
  for (const text of texts) expect((await h.inbound([{ from: waId, text }])).status).toBe(200);
  await eventually(() => expect(h.graph.sentTo(waId).length).toBeGreaterThanOrEqual(1));
  await h.settled(waId);
  return waId;
}

const MODEL = { model: 'test-model' };

test('webhooks, signals, LLM calls, tokens, sends and burst sizes move their series', async () => {
  const before = await scrape();

  // A 3-message burst (three signed webhooks) answered by one LLM call and one reply.
  const waId = await answeredChat(['metrics one', 'metrics two', 'metrics three']);
  expect(h.graph.sentTo(waId)).toHaveLength(1);
  // A forged webhook and the verification handshake.
  expect((await h.postRaw('{}', { 'x-hub-signature-256': 'sha256=00' })).status).toBe(401);
  const handshake = await fetch(`${h.apiUrl}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42`);
  expect(await handshake.text()).toBe('42');
  // A number WhatsApp refuses for good.
  h.graph.faults.push(FakeGraph.graphError(400, 131026, 'Message undeliverable'));
  const refused = randomPhone();
  chats.add(refused);
  await h.inbound([{ from: refused, text: 'are you there' }]);
  await eventually(async () => expect((await h.chatState(refused)).needsHuman).toBe(true));
  await h.settled(refused);

  const delta = moved(before, await scrape());
  expect(delta('whatsapp_webhook_requests_total', { provider: 'meta', outcome: 'accepted' })).toBe(4);
  expect(delta('whatsapp_webhook_requests_total', { provider: 'meta', outcome: 'rejected' })).toBe(1);
  expect(delta('whatsapp_webhook_requests_total', { provider: 'meta', outcome: 'verified' })).toBe(1);
  expect(delta('whatsapp_webhook_duration_seconds_count', { provider: 'meta' })).toBe(6);
  expect(delta('chat_signals_total', { signal: 'inboundMessage', outcome: 'ok' })).toBe(4);

  expect(delta('llm_calls_total', { ...MODEL, outcome: 'ok' })).toBe(2);
  expect(delta('llm_call_duration_seconds_count', MODEL)).toBe(2);
  // The fake reports 10 prompt and 5 completion tokens per call.
  expect(delta('llm_tokens_total', { ...MODEL, kind: 'prompt' })).toBe(20);
  expect(delta('llm_tokens_total', { ...MODEL, kind: 'completion' })).toBe(10);

  expect(delta('whatsapp_sends_total', { provider: 'meta', sender_type: 'bot', status: 'sent' })).toBe(1);
  expect(delta('whatsapp_sends_total', { provider: 'meta', sender_type: 'bot', status: 'failed' })).toBe(1);

  // Two answered bursts: one of three messages, one of one.
  expect(delta('chat_debounce_batch_size_count')).toBe(2);
  expect(delta('chat_debounce_batch_size_sum')).toBe(4);
  expect(delta('chat_debounce_batch_size_bucket', { le: '1' })).toBe(1);
  expect(delta('chat_debounce_batch_size_bucket', { le: '2' })).toBe(1);
  expect(delta('chat_debounce_batch_size_bucket', { le: '3' })).toBe(2);

  // Default process metrics are there too.
  expect((await scrape()).has('process_cpu_user_seconds_total')).toBe(true);
});

test('an LLM 500 counts as an error of its type, and the retry as a call', async () => {
  const before = await scrape();
  h.llm.faults.push(FakeOpenAI.apiError(500, 'upstream broke'));
  await answeredChat(['is the model up?']);
  expect(h.llm.faults).toHaveLength(0);

  const delta = moved(before, await scrape());
  expect(delta('llm_errors_total', { ...MODEL, type: 'server_error' })).toBe(1);
  expect(delta('llm_calls_total', { ...MODEL, outcome: 'error' })).toBe(1);
  expect(delta('llm_calls_total', { ...MODEL, outcome: 'ok' })).toBe(1);
  expect(delta('llm_call_duration_seconds_count', MODEL)).toBe(2);
  // A failed attempt is not an answered burst.
  expect(delta('chat_debounce_batch_size_count')).toBe(1);
});

test('an operator takeover moves a chat from bot to operator in chats_by_mode', async () => {
  const waId = await answeredChat(['I need a person']);
  const gauge = (s: Samples, mode: string) => s.get(key('chats_by_mode', { mode }));
  // Visibility and the scrape cache lag a few seconds; wait until the new chat is counted.
  const before = await eventually(async () => {
    const s = await scrape();
    expect((gauge(s, 'bot') ?? 0) + (gauge(s, 'operator') ?? 0)).toBe(chats.size);
    return s;
  }, 30_000);
  expect(before.get('chats_needing_human')).toBe(1); // the chat whose reply WhatsApp refused

  const takeover = await h.api('POST', '/api/v1/takeover', { body: { phone: waId, operator: 'Ana' }, key: KEYS.operator });
  expect(takeover.status).toBe(200);
  const sent = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, message: 'Ana here' }, key: KEYS.operator });
  expect(sent.status).toBe(200);

  const after = await eventually(async () => {
    const s = await scrape();
    expect(gauge(s, 'operator')! - gauge(before, 'operator')!).toBe(1);
    return s;
  }, 30_000);
  expect(gauge(after, 'bot')! - gauge(before, 'bot')!).toBe(-1);
  expect(moved(before, after)('whatsapp_sends_total', { provider: 'meta', sender_type: 'operator', status: 'sent' })).toBe(1);
});

test('GET /api/v1/stats: record figures match seeded data, live counts come from Temporal', async () => {
  expect((await h.api('GET', '/api/v1/stats', { key: null })).status).toBe(401);
  const stats = async () => {
    const res = await h.api('GET', '/api/v1/stats', { key: KEYS.viewer });
    expect(res.status).toBe(200);
    return res.body;
  };
  const before = await stats();

  const now = new Date();
  const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);
  const [held, quiet] = await h.db
    .insertInto('conversations')
    .values([
      { wa_id: `seed-${randomUUID()}`, mode: 'operator', needs_human: true, operator: 'Ana', last_inbound_at: now, last_message_at: now },
      { wa_id: `seed-${randomUUID()}`, mode: 'bot', needs_human: false, operator: null, last_inbound_at: daysAgo(3), last_message_at: daysAgo(2) },
    ])
    .returning('id')
    .execute();
  const message = (
    conversation_id: string,
    direction: 'inbound' | 'outbound',
    sender_type: 'user' | 'bot' | 'operator' | 'campaign',
    delivery_status: 'received' | 'pending' | 'sent' | 'failed',
    created_at: Date,
  ) => ({
    conversation_id,
    direction,
    sender_type,
    delivery_status,
    created_at,
    message_type: 'text',
    content: 'seeded',
  });
  await h.db
    .insertInto('messages')
    .values([
      message(held!.id, 'inbound', 'user', 'received', now),
      message(held!.id, 'outbound', 'operator', 'pending', now),
      message(quiet!.id, 'inbound', 'user', 'received', daysAgo(3)),
      message(quiet!.id, 'outbound', 'campaign', 'sent', daysAgo(3)),
      message(quiet!.id, 'outbound', 'bot', 'failed', daysAgo(2)),
    ])
    .execute();

  const after = await stats();
  const diff = (path: string) => path.split('.').reduce((o, k) => o[k], after) - path.split('.').reduce((o, k) => o[k], before);
  expect(Object.fromEntries(['total', 'bot', 'operator', 'needs_human', 'active_24h', 'awaiting_reply'].map((k) => [k, diff(`conversations.${k}`)]))).toEqual({
    total: 2,
    bot: 1,
    operator: 1,
    needs_human: 1,
    active_24h: 1,
    awaiting_reply: 1,
  });
  expect(
    Object.fromEntries(
      [
        'total',
        'inbound',
        'outbound',
        'by_sender.user',
        'by_sender.bot',
        'by_sender.operator',
        'by_sender.campaign',
        'today.inbound',
        'today.outbound',
        'pending',
        'failed',
      ].map((k) => [k, diff(`messages.${k}`)]),
    ),
  ).toEqual({
    total: 5,
    inbound: 2,
    outbound: 3,
    'by_sender.user': 2,
    'by_sender.bot': 1,
    'by_sender.operator': 1,
    'by_sender.campaign': 1,
    'today.inbound': 1,
    'today.outbound': 1,
    pending: 1,
    failed: 1,
  });

  // Live chat workflows on this task queue: every chat this file started, one of them held by Ana.
  await eventually(async () => {
    const { temporal } = await stats();
    expect(temporal).toMatchObject({ running_chats: chats.size, operator: 1, bot: chats.size - 1, needs_human: 1 });
  }, 30_000);
});

test('GET /api/v1/workers/status lists the pollers of the task queue and its backlog', async () => {
  expect((await h.api('GET', '/api/v1/workers/status', { key: null })).status).toBe(401);
  const res = await h.api('GET', '/api/v1/workers/status', { key: KEYS.viewer });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ status: 'active', namespace: 'default', task_queue: h.taskQueue });
  for (const queue of [res.body.queues.workflow, res.body.queues.activity]) {
    expect(queue.pollers.length).toBeGreaterThanOrEqual(1);
    expect(queue.pollers[0].identity).toEqual(expect.stringContaining('@'));
    expect(Date.parse(queue.pollers[0].last_access_time)).not.toBeNaN();
    expect(queue.backlog).toMatchObject({ approximate_count: expect.any(Number), approximate_age_seconds: expect.any(Number) });
  }
});

test('the worker serves its registry on its own port', async () => {
  const server = await startMetricsServer(0, pino({ level: 'silent' }), '127.0.0.1');
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const samples = await scrape(`${url}/metrics`);
    expect(samples.get(key('llm_calls_total', { ...MODEL, outcome: 'ok' }))).toBeGreaterThan(0);
    expect((await fetch(`${url}/other`)).status).toBe(404);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('chat gauges come with the first scrape, and are left out (the scrape still answers) while Temporal is unreachable', async () => {
  const gauges = (samples: Samples) => [...samples.keys()].filter((k) => k.startsWith('chats_by_mode{') || k === 'chats_needing_human');
  try {
    // A fresh cache: both gauges are answered by the one visibility query of this scrape.
    exposeChatCounts(new ChatCounts(h.client, h.taskQueue));
    expect(gauges(await scrape()).sort()).toEqual(['chats_by_mode{mode="bot"}', 'chats_by_mode{mode="operator"}', 'chats_needing_human']);

    // Nothing listens there; without the SDK's retry interceptor each call fails at once, so no retry
    // is left pending when the connection closes.
    const connection = Connection.lazy({ address: '127.0.0.1:1', interceptors: [] });
    try {
      exposeChatCounts(new ChatCounts(new Client({ connection }), h.taskQueue, { timeoutMs: 500 }));
      const samples = await scrape();
      expect(gauges(samples)).toEqual([]);
      expect(samples.has(key('chat_signals_total', { signal: 'inboundMessage', outcome: 'ok' }))).toBe(true);
    } finally {
      await connection.close();
    }
  } finally {
    exposeChatCounts(chatCountsFor(h.client, h.taskQueue));
  }
});
