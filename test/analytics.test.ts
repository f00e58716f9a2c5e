import pino from 'pino';
import request from 'supertest';
import { createApp } from '../src/api/app';
import { resolveRange } from '../src/api/routes/analytics-range';
import { parseConfig } from '../src/config';
import type { DeliveryStatus, SenderType } from '../src/db/schema';
import { costUsd, parseLlmPrices, priceOf, priceTable } from '../src/llm/pricing';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { FakeOpenAI } from './helpers/fake-openai';
import { randomPhone } from './helpers/webhook-payload';

/*
 * A fixed week of March 2024 (nothing else in the test database is that old), seeded straight
 * into Postgres. Times are UTC. Response times per burst (first unanswered user message → reply):
 *   A: 03-04 09:00:00 → 09:00:30 bot (30 s; a second bot part follows), 03-05 10:00:00 → 10:00:20 bot (20 s)
 *   B: 03-04 12:00:00 → 12:01:00 bot (60 s), 03-06 08:00:00 → 08:02:00 operator (120 s)
 *   C: 03-05 15:00:00 → 15:00:40 bot (40 s); the model asked for a human, NeedsHuman is still set
 *   D: 03-06 20:00:00 and 20:05:00, never answered
 *   E: a campaign message only (03-05 07:00, read)
 *   F: created in February; 02-28 23:59 → 03-01 00:00:30 (a February burst), 03-07 11:00:00 → a failed
 *      bot send at 11:00:02, then 11:00:05 bot (5 s)
 *   G: 03-02 10:00 user, held by an operator now, unanswered
 */
type Seeded = [SenderType, string, DeliveryStatus?];
const CONVERSATIONS: Record<string, { created: string; mode?: 'operator'; needsHuman?: boolean; messages: Seeded[] }> = {
  A: {
    created: '2024-03-04T09:00:00Z',
    messages: [
      ['user', '2024-03-04T09:00:00Z'],
      ['user', '2024-03-04T09:00:10Z'],
      ['bot', '2024-03-04T09:00:30Z'],
      ['bot', '2024-03-04T09:00:31Z'],
      ['user', '2024-03-05T10:00:00Z'],
      ['bot', '2024-03-05T10:00:20Z'],
    ],
  },
  B: {
    created: '2024-03-04T12:00:00Z',
    messages: [
      ['user', '2024-03-04T12:00:00Z'],
      ['bot', '2024-03-04T12:01:00Z', 'delivered'],
      ['user', '2024-03-06T08:00:00Z'],
      ['operator', '2024-03-06T08:02:00Z'],
    ],
  },
  C: {
    created: '2024-03-05T15:00:00Z',
    needsHuman: true,
    messages: [
      ['user', '2024-03-05T15:00:00Z'],
      ['bot', '2024-03-05T15:00:40Z'],
    ],
  },
  D: {
    created: '2024-03-06T20:00:00Z',
    messages: [
      ['user', '2024-03-06T20:00:00Z'],
      ['user', '2024-03-06T20:05:00Z'],
    ],
  },
  E: { created: '2024-03-05T07:00:00Z', messages: [['campaign', '2024-03-05T07:00:00Z', 'read']] },
  F: {
    created: '2024-02-20T08:00:00Z',
    messages: [
      ['user', '2024-02-28T23:59:00Z'],
      ['bot', '2024-03-01T00:00:30Z'],
      ['user', '2024-03-07T11:00:00Z'],
      ['bot', '2024-03-07T11:00:02Z', 'failed'],
      ['bot', '2024-03-07T11:00:05Z'],
    ],
  },
  G: { created: '2024-03-02T10:00:00Z', mode: 'operator', messages: [['user', '2024-03-02T10:00:00Z']] },
};
const WEEK = 'start_date=2024-03-01&end_date=2024-03-07';
const PRICES = 'acme-chat=1.5:3,gpt-4o-mini=0.2:0.8';

let h: Harness;
const ids: Record<string, string> = {};

async function seed(): Promise<void> {
  const run = randomPhone().slice(-6);
  for (const [name, c] of Object.entries(CONVERSATIONS)) {
    const last = c.messages[c.messages.length - 1]![1];
    const { id } = await h.db
      .insertInto('conversations')
      .values({
        wa_id: `2024${run}${name}`,
        mode: c.mode ?? 'bot',
        needs_human: c.needsHuman ?? false,
        operator: c.mode ? 'alice' : null,
        created_at: new Date(c.created),
        updated_at: last,
        last_message_at: last,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids[name] = id;
    await h.db
      .insertInto('messages')
      .values(
        c.messages.map(([sender, at, status]) => ({
          conversation_id: id,
          direction: sender === 'user' ? ('inbound' as const) : ('outbound' as const),
          sender_type: sender,
          message_type: 'text',
          content: `${name} ${sender} ${at}`,
          delivery_status: status ?? (sender === 'user' ? 'received' : 'sent'),
          created_at: at,
        })),
      )
      .execute();
  }
  const usage = (n: number, model: string, outcome: 'reply' | 'handoff' | 'error', p: number, c: number, latency: number, at: string, conv?: string) => ({
    call_key: `analytics-test:${run}:${n}`,
    conversation_id: conv ? ids[conv]! : null,
    wa_id: null,
    model,
    outcome,
    prompt_tokens: p,
    completion_tokens: c,
    latency_ms: latency,
    created_at: at,
  });
  await h.db
    .insertInto('llm_usage')
    .values([
      usage(1, 'gpt-4o-mini', 'reply', 1000, 200, 800, '2024-03-04T09:00:29Z', 'A'),
      usage(2, 'gpt-4o-mini', 'reply', 2000, 300, 1200, '2024-03-05T10:00:19Z', 'A'),
      usage(3, 'gpt-4o-mini', 'error', 0, 0, 5000, '2024-03-04T11:59:00Z', 'B'),
      usage(4, 'acme-chat', 'handoff', 500, 100, 400, '2024-03-05T15:00:39Z', 'C'),
      usage(5, 'acme-chat', 'reply', 1500, 300, 600, '2024-03-04T12:00:59Z', 'B'),
      usage(6, 'gpt-4o-2024-08-06', 'reply', 4000, 1000, 900, '2024-03-07T11:00:01Z', 'F'),
      usage(7, 'mystery-model', 'reply', 10, 5, 100, '2024-03-01T00:00:29Z', 'F'),
      // Outside the week: never counted.
      usage(8, 'gpt-4o-mini', 'reply', 999, 999, 999, '2024-04-10T12:00:00Z', 'A'),
    ])
    .execute();
}

beforeAll(async () => {
  h = await startHarness({ settings: { debounceMs: 50 } });
  await seed();
});
afterAll(async () => {
  await h?.stop();
});

const get = async (path: string, key: string = KEYS.viewer) => {
  const res = await h.api('GET', `/api/v1/analytics${path}`, { key });
  expect({ path, status: res.status }).toEqual({ path, status: 200 });
  return res.body;
};
const sender = (user: number, bot: number, operator: number, campaign: number) => ({ user, bot, operator, campaign });

test('conversations and messages per day over the week, with the headline metrics', async () => {
  const body = await get(`/conversations?${WEEK}`);
  expect(body.period).toEqual({ start_date: '2024-03-01T00:00:00.000Z', end_date: '2024-03-08T00:00:00.000Z', timezone: 'UTC', group_by: 'day' });
  expect(body.metrics).toEqual({
    total_conversations: 7,
    new_conversations: 6,
    total_messages: 20,
    messages_received: 10,
    messages_sent: 10,
    messages_by_sender: sender(10, 8, 1, 1),
    average_messages_per_conversation: 2.86,
    // 30, 20, 60, 120, 40 and 5 s; D's and G's bursts are unanswered, F's February burst is out of range.
    average_response_time_seconds: 45.833,
    median_response_time_seconds: 35,
    p90_response_time_seconds: 90,
    handover_rate: 0.5,
    resolution_rate: 0.3333,
  });
  const days = body.trends.map((t: Record<string, unknown>) => [
    t.date,
    t.conversations,
    t.new_conversations,
    t.messages,
    t.messages_received,
    t.messages_sent,
    t.average_response_time,
  ]);
  expect(days).toEqual([
    ['2024-03-01', 1, 0, 1, 0, 1, null],
    ['2024-03-02', 1, 1, 1, 1, 0, null],
    ['2024-03-03', 0, 0, 0, 0, 0, null],
    ['2024-03-04', 2, 2, 6, 3, 3, 45],
    ['2024-03-05', 3, 2, 5, 2, 3, 30],
    ['2024-03-06', 2, 1, 4, 3, 1, 120],
    ['2024-03-07', 1, 0, 3, 1, 2, 5],
  ]);
  expect(body.trends[4]).toMatchObject({ start: '2024-03-05T00:00:00.000Z', messages_by_sender: sender(2, 2, 0, 1) });
});

test('per week (Monday first) and per month', async () => {
  const weeks = await get(`/conversations?${WEEK}&group_by=week`);
  expect(weeks.trends.map((t: Record<string, unknown>) => [t.date, t.conversations, t.new_conversations, t.messages])).toEqual([
    ['2024-02-26', 2, 1, 2],
    ['2024-03-04', 6, 5, 18],
  ]);
  const months = await get(`/conversations?${WEEK}&group_by=month`);
  expect(months.trends).toEqual([
    expect.objectContaining({
      date: '2024-03-01',
      start: '2024-03-01T00:00:00.000Z',
      conversations: 7,
      new_conversations: 6,
      messages: 20,
      average_response_time: 45.833,
    }),
  ]);
});

test('days are cut in the requested time zone', async () => {
  // Tokyo is UTC+9: C's 15:00 UTC messages fall on the 6th, D's 20:00 UTC ones on the 7th.
  const body = await get(`/conversations?${WEEK}&timezone=Asia/Tokyo`);
  expect(body.period).toMatchObject({ start_date: '2024-02-29T15:00:00.000Z', end_date: '2024-03-07T15:00:00.000Z', timezone: 'Asia/Tokyo' });
  expect(body.trends.map((t: Record<string, unknown>) => [t.date, t.messages])).toEqual([
    ['2024-03-01', 1],
    ['2024-03-02', 1],
    ['2024-03-03', 0],
    ['2024-03-04', 6],
    ['2024-03-05', 3],
    ['2024-03-06', 4],
    ['2024-03-07', 5],
  ]);
  expect(body.trends[3].start).toBe('2024-03-03T15:00:00.000Z');
});

test('response times per burst, by responder and per day', async () => {
  const body = await get(`/response-times?${WEEK}`);
  expect(body.metrics).toEqual({
    bursts: 8,
    answered: 6,
    unanswered: 2,
    average_seconds: 45.833,
    median_seconds: 35,
    p90_seconds: 90,
    max_seconds: 120,
    by_responder: { bot: { answered: 5, average_seconds: 31 }, operator: { answered: 1, average_seconds: 120 } },
  });
  expect(body.trends[5]).toEqual({
    date: '2024-03-06',
    start: '2024-03-06T00:00:00.000Z',
    bursts: 2,
    answered: 1,
    average_seconds: 120,
    median_seconds: 120,
    p90_seconds: 120,
    max_seconds: 120,
  });
});

test('handover and resolution rates over the conversations the users wrote in', async () => {
  const body = await get(`/handover?${WEEK}`);
  // A, B, C, D, F, G wrote; B had an operator, C asked for a human (and is still flagged), G is held.
  // A and F ended answered by the bot; D never got an answer.
  expect(body).toEqual({
    period: { start_date: '2024-03-01T00:00:00.000Z', end_date: '2024-03-08T00:00:00.000Z', timezone: 'UTC' },
    conversations: 6,
    handed_over: 3,
    handover_rate: 0.5,
    resolved: 2,
    resolution_rate: 0.3333,
    handover_reasons: { operator_replied: 1, model_handoff: 1, held_now: 2 },
  });
  // The 4th and 5th only: B's operator comes on the 6th, so B ended that range answered by the bot.
  const early = await get('/handover?start_date=2024-03-04&end_date=2024-03-05');
  expect(early).toMatchObject({ conversations: 3, handed_over: 1, resolved: 2, handover_reasons: { operator_replied: 0, model_handoff: 1, held_now: 1 } });
});

test('hourly message analytics: hour of day and every hour of the range', async () => {
  const body = await get('/messages/hourly?start_date=2024-03-04&end_date=2024-03-07');
  expect(body.hour_of_day).toHaveLength(24);
  expect(body.hourly_data).toHaveLength(96);
  const busy = body.hour_of_day.filter((r: { messages_received: number; messages_sent: number }) => r.messages_received + r.messages_sent > 0);
  const row = (
    hour: number,
    received: number,
    sent: number,
    delivered: number,
    read: number,
    failed: number,
    users: number,
    avg: number | null,
    errorRate = 0,
  ) => ({
    hour,
    messages_received: received,
    messages_sent: sent,
    messages_delivered: delivered,
    messages_read: read,
    messages_failed: failed,
    unique_users: users,
    avg_response_time: avg,
    max_response_time: avg,
    error_rate: errorRate,
  });
  expect(busy).toEqual([
    row(7, 0, 1, 1, 1, 0, 0, null),
    row(8, 1, 1, 0, 0, 0, 1, 120),
    row(9, 2, 2, 0, 0, 0, 1, 30),
    row(10, 1, 1, 0, 0, 0, 1, 20),
    row(11, 1, 2, 0, 0, 1, 1, 5, 0.5),
    row(12, 1, 1, 1, 0, 0, 1, 60),
    row(15, 1, 1, 0, 0, 0, 1, 40),
    row(20, 2, 0, 0, 0, 0, 1, null),
  ]);
  expect(body.hourly_data[9]).toMatchObject({ date: '2024-03-04', hour: 9, start: '2024-03-04T09:00:00.000Z', messages_received: 2, messages_sent: 2 });
  expect(body.hourly_data[24 + 7]).toMatchObject({ date: '2024-03-05', hour: 7, messages_sent: 1, messages_read: 1 });
  expect(body.hourly_data[10]).toMatchObject({ date: '2024-03-04', hour: 10, messages_received: 0, messages_sent: 0 });
});

test('LLM usage and cost per model, with LLM_PRICES on top of the built-in prices', async () => {
  const app = createApp({
    db: h.db,
    temporal: h.client,
    taskQueue: h.taskQueue,
    log: pino({ level: 'silent' }),
    apiKeys: [{ secret: KEYS.viewer, role: 'viewer' }],
    whatsapp: {},
    version: 'test',
    llmPrices: priceTable(PRICES),
  });
  const res = await request(app).get(`/api/v1/analytics/llm-usage?${WEEK}`).set('authorization', `Bearer ${KEYS.viewer}`);
  expect(res.status).toBe(200);
  const model = (name: string, calls: [number, number, number, number], p: number, c: number, latency: number, price: object | null, cost: number | null) => ({
    model: name,
    usage_count: calls[0],
    reply_count: calls[1],
    handoff_count: calls[2],
    error_count: calls[3],
    error_rate: Math.round((calls[3] / calls[0]) * 10_000) / 10_000,
    prompt_tokens: p,
    completion_tokens: c,
    total_tokens: p + c,
    average_processing_time_ms: latency,
    price_per_million_tokens: price,
    cost_usd: cost,
  });
  expect(res.body.models).toEqual([
    // Overridden: 3000 × 0.2 + 500 × 0.8 per million.
    model('gpt-4o-mini', [3, 2, 0, 1], 3000, 500, 2333, { input: 0.2, output: 0.8 }, 0.001),
    // Only in LLM_PRICES: 2000 × 1.5 + 400 × 3 per million.
    model('acme-chat', [2, 1, 1, 0], 2000, 400, 500, { input: 1.5, output: 3 }, 0.0042),
    // A dated snapshot priced as its family, built in: 4000 × 2.5 + 1000 × 10 per million.
    model('gpt-4o-2024-08-06', [1, 1, 0, 0], 4000, 1000, 900, { input: 2.5, output: 10 }, 0.02),
    model('mystery-model', [1, 1, 0, 0], 10, 5, 100, null, null),
  ]);
  expect(res.body.totals).toEqual({
    usage_count: 7,
    error_count: 1,
    prompt_tokens: 9010,
    completion_tokens: 1905,
    total_tokens: 10915,
    cost_usd: 0.0252,
    unpriced_models: ['mystery-model'],
  });
});

test('bad ranges and parameters are 400 VALIDATION_ERROR in the error format', async () => {
  const bad = async (path: string, field: string) => {
    const res = await h.api('GET', `/api/v1/analytics${path}`, { key: KEYS.viewer });
    expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({ path, status: 400, code: 'VALIDATION_ERROR' });
    expect(res.body.error).toMatchObject({ details: [expect.objectContaining({ field })], request_id: expect.any(String), timestamp: expect.any(String) });
  };
  await bad('/conversations?start_date=2024-03-07&end_date=2024-03-01', 'end_date');
  await bad('/conversations?start_date=2023-01-01&end_date=2024-06-30', 'end_date');
  await bad('/messages/hourly?start_date=2024-01-01&end_date=2024-03-01', 'end_date');
  await bad('/conversations?start_date=2024-02-30', 'start_date');
  await bad('/conversations?start_date=yesterday', 'start_date');
  await bad('/conversations?timezone=Mars/Olympus', 'timezone');
  await bad('/conversations?timezone=%2B05:00', 'timezone');
  await bad('/conversations?group_by=year', 'group_by');
  await bad('/llm-usage?end_date=2024-13-01', 'end_date');
  // The same long range is fine by month.
  expect((await get('/conversations?start_date=2023-01-01&end_date=2024-06-30&group_by=month')).trends).toHaveLength(18);
  expect((await h.api('GET', '/api/v1/analytics/conversations', { key: null })).status).toBe(401);
});

test('the default range is the last 30 days', async () => {
  const body = await get('/llm-usage');
  expect(Date.parse(body.period.end_date) - Date.parse(body.period.start_date)).toBe(30 * 86_400_000);
  const r = resolveRange({ timezone: 'UTC' }, 31, new Date('2024-03-31T12:00:00Z'));
  expect(r.start.toISOString()).toBe('2024-03-01T12:00:00.000Z');
});

test('date bounds: whole local days, local and offset date-times, daylight-saving changes', () => {
  const range = (start: string, end: string, timezone: string) => {
    const r = resolveRange({ start_date: start, end_date: end, timezone }, 366);
    return [r.start.toISOString(), r.end.toISOString()];
  };
  // Madrid moves to summer time on 2024-03-31: that day is 23 hours long.
  expect(range('2024-03-31', '2024-03-31', 'Europe/Madrid')).toEqual(['2024-03-30T23:00:00.000Z', '2024-03-31T22:00:00.000Z']);
  expect(range('2024-03-31T12:00', '2024-04-01T00:00:00+02:00', 'Europe/Madrid')).toEqual(['2024-03-31T10:00:00.000Z', '2024-03-31T22:00:00.001Z']);
  // New York falls back on 2024-11-03: 25 hours.
  expect(range('2024-11-03', '2024-11-03', 'America/New_York')).toEqual(['2024-11-03T04:00:00.000Z', '2024-11-04T05:00:00.000Z']);
  expect(range('2024-11-03T12:00', '2024-11-03T23:00:00Z', 'America/New_York')).toEqual(['2024-11-03T17:00:00.000Z', '2024-11-03T23:00:00.001Z']);
});

test('LLM_PRICES is validated at start and prices models by name, snapshot or provider prefix', () => {
  expect(parseLlmPrices('llama3:8b=0:0, gpt-4o=2:8')).toEqual(
    new Map([
      ['llama3:8b', { input: 0, output: 0 }],
      ['gpt-4o', { input: 2, output: 8 }],
    ]),
  );
  expect(() => parseConfig({ LLM_PRICES: 'gpt-4o=2.5' })).toThrow(/LLM_PRICES entry 1 \("gpt-4o=2.5"\) must look like model=input:output/);
  expect(() => parseConfig({ LLM_PRICES: 'a=1:2,b=x:1' })).toThrow(/LLM_PRICES entry 2 .*non-negative/);
  expect(() => parseConfig({ LLM_PRICES: 'a=1:2,A=1:2' })).toThrow(/priced twice/);
  expect(parseConfig({ LLM_PRICES: PRICES }).LLM_PRICES).toBe(PRICES);
  const table = priceTable('openrouter/custom=1:1');
  expect(priceOf(table, 'gpt-4o-mini-2024-07-18')).toEqual({ input: 0.15, output: 0.6 });
  expect(priceOf(table, 'openai/gpt-4.1-nano')).toEqual({ input: 0.1, output: 0.4 });
  expect(priceOf(table, 'OpenRouter/Custom')).toEqual({ input: 1, output: 1 });
  expect(priceOf(table, 'llama3')).toBeUndefined();
  expect(costUsd({ input: 0.15, output: 0.6 }, 10, 5)).toBe(0.0000045);
});

test('a real chat turn records its LLM call, and a retried call records each attempt', async () => {
  const usageOf = (waId: string) => h.db.selectFrom('llm_usage').selectAll().where('wa_id', '=', waId).orderBy('call_key').execute();

  const waId = randomPhone();
  await h.inbound([{ from: waId, text: 'how much is it?' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  const [row, ...more] = await eventually(async () => {
    const rows = await usageOf(waId);
    expect(rows).toHaveLength(1);
    return rows;
  });
  expect(more).toEqual([]);
  const conversation = await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId).executeTakeFirstOrThrow();
  // The fake OpenAI reports 10 prompt and 5 completion tokens for every answer.
  expect(row).toMatchObject({ model: 'test-model', prompt_tokens: 10, completion_tokens: 5, outcome: 'reply', conversation_id: conversation.id });
  expect(row!.call_key).toMatch(new RegExp(`^chat-${waId}:[0-9a-f-]+:\\d+:1$`));
  expect(row!.latency_ms).toEqual(expect.any(Number));

  // A 500 and then an answer: two attempts reached the model, both are counted.
  const retried = randomPhone();
  const original = h.llm.responder;
  h.llm.faults.push(FakeOpenAI.apiError(500, 'upstream broke'));
  h.llm.responder = () => ({ handoff: { reason: 'asked for a person', message: 'One moment.' } });
  try {
    await h.inbound([{ from: retried, text: 'a person please' }]);
    await eventually(() => expect(h.graph.sentTo(retried)).toHaveLength(1));
  } finally {
    h.llm.responder = original;
  }
  const rows = await eventually(async () => {
    const r = await usageOf(retried);
    expect(r).toHaveLength(2);
    return r;
  });
  expect(rows.map((r) => [r.call_key.split(':').pop(), r.outcome, r.model, r.prompt_tokens, r.completion_tokens])).toEqual([
    ['1', 'error', 'test-model', 0, 0],
    ['2', 'handoff', 'test-model', 10, 5],
  ]);
});
