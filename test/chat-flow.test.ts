import { chatWorkflowId } from '../src/workflows/definitions';
import { FALLBACK_REPLY } from '../src/workflows/chat';
import { FakeGraph } from './helpers/fake-graph';
import { burstOf, FakeOpenAI, type Responder } from './helpers/fake-openai';
import { eventually, startHarness, type Harness } from './helpers/harness';
import { newWamid, randomPhone } from './helpers/webhook-payload';
import { saveHistory } from './helpers/histories';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const llmCallsFor = (text: string) => h.llm.requests.filter((r) => burstOf(r).some((t) => t.includes(text)));

async function searchAttributes(waId: string) {
  const desc = await h.client.workflow.getHandle(chatWorkflowId(waId)).describe();
  return desc.searchAttributes;
}

test('a 3-message burst gets exactly one LLM call and one reply covering all three', async () => {
  const waId = randomPhone();
  const tag = `burst-${waId}`;
  for (const text of [`${tag} one`, `${tag} two`, `${tag} three`]) {
    expect((await h.inbound([{ from: waId, text }])).status).toBe(200);
  }
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);

  const calls = llmCallsFor(tag);
  expect(calls).toHaveLength(1);
  expect(burstOf(calls[0]!)).toEqual([`${tag} one`, `${tag} two`, `${tag} three`]);
  const sends = h.graph.sentTo(waId);
  expect(sends).toHaveLength(1);
  expect(sends[0]!.text).toBe(`Reply to: ${tag} one | ${tag} two | ${tag} three`);
  expect(sends[0]!.phoneNumberId).toBe('PNID');
  expect(sends[0]!.authorization).toBe('Bearer graph-token');

  // The record: three inbound, one outbound with the Graph wamid, status sent.
  const rows = await h.recorded(waId);
  expect(rows.map((r) => r.sender_type)).toEqual(['user', 'user', 'user', 'bot']);
  expect(rows[3]).toMatchObject({ wamid: sends[0]!.wamid, delivery_status: 'sent', content: sends[0]!.text });

  const attrs = await searchAttributes(waId);
  expect(attrs.WhatsAppPhone).toEqual([waId]);
  expect(attrs.ChatMode).toEqual(['bot']);
  expect(attrs.NeedsHuman).toEqual([false]);
  expect(attrs.LastInboundAt).toHaveLength(1);
  await saveHistory(h.client, waId, 'burst-reply');
});

test('a redelivered wamid changes nothing', async () => {
  const waId = randomPhone();
  const wamid = newWamid();
  await h.inbound([{ from: waId, text: 'only once', wamid }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);

  // Meta retries the same message, alone and inside a batch with a new one.
  expect((await h.inbound([{ from: waId, text: 'only once', wamid }])).status).toBe(200);
  await h.inbound([
    { from: waId, text: 'only once', wamid },
    { from: waId, text: 'second question' },
  ]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2));
  const state = await h.settled(waId);

  expect(state.duplicatesIgnored).toBe(2);
  expect(h.graph.sentTo(waId).map((s) => s.text)).toEqual(['Reply to: only once', 'Reply to: second question']);
  const count = await h.db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('wamid', '=', wamid)
    .executeTakeFirstOrThrow();
  expect(Number(count.n)).toBe(1);
});

test('a message arriving during the LLM call is folded into the reply, never dropped', async () => {
  const waId = randomPhone();
  // Long enough for the chat's cancel to reach the reply activity by its heartbeat (every 500 ms).
  await h.llm.during({ delayMs: 1500 }, async () => {
    await h.inbound([{ from: waId, text: 'first part' }]);
    // Wait until the model is working on the first message, then write again.
    await eventually(() => expect(h.llm.wasAsked('first part')).toBe(true));
    await h.inbound([{ from: waId, text: 'and a follow-up' }]);
    await eventually(() => expect(h.graph.sentTo(waId).length).toBeGreaterThanOrEqual(1));
    await h.settled(waId);
  });
  const sends = h.graph.sentTo(waId);
  // Nothing had been sent when the follow-up came, so one reply answers both.
  expect(sends.map((s) => s.text)).toEqual(['Reply to: first part | and a follow-up']);
});

test('a message arriving while the reply is being sent starts the next burst', async () => {
  const waId = randomPhone();
  await h.graph.during({ delayMs: 600 }, async () => {
    await h.inbound([{ from: waId, text: 'question A' }]);
    await eventually(() => expect(h.llm.wasAsked('question A')).toBe(true));
    // Let the reply reach the (slow) Graph server, then write during the send.
    await new Promise((r) => setTimeout(r, 300));
    await h.inbound([{ from: waId, text: 'question B' }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2), 20_000);
    await h.settled(waId);
  });
  const texts = h.graph.sentTo(waId).map((s) => s.text);
  expect(texts[0]).toContain('question A');
  expect(texts[1]).toBe('Reply to: question B');
});

test('LLM 429 and 500 are retried and the reply still goes out', async () => {
  const waId = randomPhone();
  h.llm.faults.push(FakeOpenAI.apiError(500, 'upstream broke'), FakeOpenAI.apiError(429, 'slow down', { 'retry-after': '0' }));
  const before = h.llm.requests.length;
  await h.inbound([{ from: waId, text: 'are you there?' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  const state = await h.settled(waId);
  expect(h.graph.sentTo(waId)[0]!.text).toBe('Reply to: are you there?');
  // Two failed attempts (not recorded as requests by the fake) then one answered request.
  expect(h.llm.requests.length - before).toBe(1);
  expect(h.llm.faults).toHaveLength(0);
  expect(state.needsHuman).toBe(false);
});

test('exhausted LLM retries give the fallback reply and NeedsHuman', async () => {
  const waId = randomPhone();
  await h.llm.during({ outage: FakeOpenAI.apiError(500, 'down for good') }, async () => {
    await h.inbound([{ from: waId, text: 'hello?' }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
    const state = await h.settled(waId);
    expect(state.needsHuman).toBe(true);
  });
  expect(h.graph.sentTo(waId)[0]!.text).toBe(FALLBACK_REPLY);
  await eventually(async () => expect((await searchAttributes(waId)).NeedsHuman).toEqual([true]));
  await eventually(async () => {
    const conv = await h.db.selectFrom('conversations').selectAll().where('wa_id', '=', waId).executeTakeFirstOrThrow();
    expect(conv.needs_human).toBe(true);
  });
  await saveHistory(h.client, waId, 'llm-fallback');
});

test('the handoff_to_human tool sends a holding reply and flags the chat', async () => {
  const waId = randomPhone();
  const previous = h.llm.responder;
  const responder: Responder = (req) =>
    burstOf(req).some((t) => t.includes('speak to a person'))
      ? { handoff: { reason: 'asked for a person', message: 'Connecting you with our team now.' } }
      : previous(req);
  await h.llm.during({ responder }, async () => {
    await h.inbound([{ from: waId, text: 'I want to speak to a person' }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
    const state = await h.settled(waId);
    expect(state.needsHuman).toBe(true);
  });
  expect(h.graph.sentTo(waId)[0]!.text).toBe('Connecting you with our team now.');
  const request = h.llm.requests.find((r) => burstOf(r).includes('I want to speak to a person'))!;
  expect(JSON.stringify(request.tools)).toContain('handoff_to_human');
});

test('a reply longer than 4096 characters is split into several WhatsApp messages', async () => {
  const waId = randomPhone();
  const previous = h.llm.responder;
  const paragraph = 'word '.repeat(700).trim(); // 3499 characters
  const responder: Responder = (req) =>
    burstOf(req).includes('tell me everything') ? { content: `${paragraph}\n\n${paragraph}\n\n${paragraph}` } : previous(req);
  await h.llm.during({ responder }, async () => {
    await h.inbound([{ from: waId, text: 'tell me everything' }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(3));
    await h.settled(waId);
  });
  const texts = h.graph.sentTo(waId).map((s) => s.text!);
  expect(texts.every((t) => t.length <= 4096)).toBe(true);
  expect(texts).toEqual([paragraph, paragraph, paragraph]);
});

test('Graph throttling (130429) is retried; a permanent error (131026) flags the chat instead', async () => {
  const throttled = randomPhone();
  h.graph.faults.push(FakeGraph.graphError(400, 130429, 'Rate limit hit'));
  await h.inbound([{ from: throttled, text: 'ping' }]);
  await eventually(() => expect(h.graph.sentTo(throttled)).toHaveLength(1), 20_000);
  expect((await h.settled(throttled)).needsHuman).toBe(false);

  const undeliverable = randomPhone();
  h.graph.faults.push(FakeGraph.graphError(400, 131026, 'Message undeliverable'));
  await h.inbound([{ from: undeliverable, text: 'ping' }]);
  await eventually(async () => expect((await h.chatState(undeliverable)).needsHuman).toBe(true));
  expect(h.graph.sentTo(undeliverable)).toHaveLength(0);
  const failed = (await h.recorded(undeliverable)).find((r) => r.sender_type === 'bot')!;
  expect(failed.delivery_status).toBe('failed');
  expect(JSON.stringify(failed.error)).toContain('131026');
});

test('a worker restart mid-burst loses nothing and answers once', async () => {
  const waId = randomPhone();
  await h.inbound([{ from: waId, text: 'before restart' }]);
  // The debounce timer is running in the workflow; the worker goes away and comes back.
  await h.restartWorker();
  await h.inbound([{ from: waId, text: 'after restart' }]);
  await eventually(() => expect(h.graph.sentTo(waId).length).toBeGreaterThanOrEqual(1));
  await h.settled(waId);
  expect(h.graph.sentTo(waId).map((s) => s.text)).toEqual(['Reply to: before restart | after restart']);
});

test('a send that fails after the model answered is retried with the same draft: the model is asked once', async () => {
  const waId = randomPhone();
  h.graph.faults.push(FakeGraph.graphError(500, 1, 'An unexpected error has occurred'));
  await h.inbound([{ from: waId, text: 'answer me despite Graph' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1), 20_000);
  await h.settled(waId);
  expect(llmCallsFor('answer me despite Graph')).toHaveLength(1);
  const events = (await h.client.workflow.getHandle(chatWorkflowId(waId)).fetchHistory()).events ?? [];
  const started = events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
  expect(started).toEqual([2]); // one reply activity, on its second attempt
  expect((await h.recorded(waId)).map((r) => `${r.sender_type}:${r.delivery_status}`)).toEqual(['user:received', 'bot:sent']);
});

test('LastInboundAt is published to the minute, not on every message', async () => {
  const waId = randomPhone();
  const now = Math.floor(Date.now() / 1000);
  // One at a time, each answered before the next, so each is published on its own.
  for (const [i, ago] of [120, 100, 10].entries()) {
    await h.inbound([{ from: waId, text: `${ago}s ago`, timestamp: now - ago }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(i + 1));
    await h.settled(waId);
  }
  const history = await h.client.workflow.getHandle(chatWorkflowId(waId)).fetchHistory();
  const published = (history.events ?? [])
    .map((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.LastInboundAt)
    .filter(Boolean);
  // 120 s ago comes with the chat's start (the webhook's signal-with-start sets it, no upsert);
  // 100 s ago is within the minute; 10 s ago is a minute later and is published.
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields?.LastInboundAt;
  expect(JSON.parse(Buffer.from(started!.data!).toString())).toBe(new Date((now - 120) * 1000).toISOString());
  expect(published).toHaveLength(1);
  const attrs = await searchAttributes(waId);
  expect((attrs.LastInboundAt as Date[])[0]!.getTime()).toBe((now - 10) * 1000);
  expect((await h.chatState(waId)).lastInboundAt).toBe(new Date((now - 10) * 1000).toISOString());
});
