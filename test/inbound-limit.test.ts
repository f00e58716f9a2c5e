import { INBOUND_LIMIT_NOTICE, OPT_OUT_CONFIRMATION } from '../src/workflows/definitions';
import { burstOf } from './helpers/fake-openai';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { saveHistory } from './helpers/histories';
import { randomPhone } from './helpers/webhook-payload';

// Seed 003's per-user limit, made small: 3 answerable messages per 5 s reach the LLM.
const LIMIT = 3;
const WINDOW_MS = 5000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ settings: { inboundLimitMessages: LIMIT, inboundLimitWindowMs: WINDOW_MS } });
});
afterAll(async () => {
  await h?.stop();
});

const notices = (waId: string) => h.graph.sentTo(waId).filter((s) => s.text === INBOUND_LIMIT_NOTICE);
const askedAbout = (tag: string) => h.llm.requests.flatMap(burstOf).filter((t) => t.startsWith(tag));

/** Waits (in real time, which workflow time follows) until the chat's limit window has freed up. */
async function windowFreed(waId: string): Promise<void> {
  const { inboundLimitedUntil } = await h.chatState(waId);
  const wait = inboundLimitedUntil ? new Date(inboundLimitedUntil).getTime() - Date.now() : 0;
  await new Promise((r) => setTimeout(r, Math.max(wait, 0) + 300));
}

test('a flood is recorded whole, only the allowed messages reach the LLM, and the notice is sent once', async () => {
  const waId = randomPhone();
  const tag = `flood-${waId}`;
  const flood = Array.from({ length: 12 }, (_, i) => `${tag} ${i + 1}`);
  expect((await h.inbound(flood.map((text) => ({ from: waId, text })))).status).toBe(200);

  // The burst that was allowed is answered as usual; then the one notice for the rest.
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2));
  const limited = await h.settled(waId);
  expect(limited.inboundLimited).toBe(true);
  expect(limited.inboundLimitedUntil).toEqual(expect.any(String));
  expect(askedAbout(tag)).toEqual(flood.slice(0, LIMIT));
  expect(h.graph.sentTo(waId).map((s) => s.text)).toEqual([`Reply to: ${flood.slice(0, LIMIT).join(' | ')}`, INBOUND_LIMIT_NOTICE]);

  // All twelve are on record; the ones over the limit are marked.
  const inbound = (await h.recorded(waId)).filter((r) => r.sender_type === 'user');
  expect(inbound.map((r) => r.content)).toEqual(flood);
  expect(inbound.map((r) => (r.metadata as { rate_limited?: boolean } | null)?.rate_limited === true)).toEqual(flood.map((_, i) => i >= LIMIT));

  // Once the window has passed the user is answered again, and the LLM knows what was said meanwhile.
  await windowFreed(waId);
  await h.inbound([{ from: waId, text: `${tag} after the pause` }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(3));
  expect((await h.settled(waId)).inboundLimited).toBe(false);
  expect(h.graph.sentTo(waId)[2]!.text).toBe(`Reply to: ${tag} after the pause`);
  const call = h.llm.requests[h.llm.requests.length - 1]!;
  expect(burstOf(call)).toEqual([`${tag} after the pause`]);
  const contents = call.messages.map((m) => m.content);
  expect(contents).toContain(`${tag} 12`);
  expect(contents).toContain(INBOUND_LIMIT_NOTICE);
  expect(contents.indexOf(`${tag} 4`)).toBeGreaterThan(contents.indexOf(`${tag} 3`));

  // A later flood is a new limited period: one more notice. However many of it the window still
  // allows (it holds the message above, or no longer), the last one is over the limit.
  const again = Array.from({ length: LIMIT + 1 }, (_, i) => `${tag} again ${i + 1}`);
  await h.inbound(again.map((text) => ({ from: waId, text })));
  await eventually(() => expect(notices(waId)).toHaveLength(2));
  await h.settled(waId);
  expect(notices(waId)).toHaveLength(2);
  expect(askedAbout(`${tag} again`)).not.toContain(again[LIMIT]);
  expect((await h.recorded(waId)).filter((r) => r.sender_type === 'user')).toHaveLength(12 + 1 + again.length);
  await saveHistory(h.client, waId, 'inbound-limit');
});

test('STOP is never limited, and an operator-held chat records a flood without any notice', async () => {
  const waId = randomPhone();
  const tag = `held-${waId}`;
  await h.inbound(Array.from({ length: LIMIT + 1 }, (_, i) => ({ from: waId, text: `${tag} ${i + 1}` })));
  await eventually(() => expect(notices(waId)).toHaveLength(1));
  await h.settled(waId);

  // Over the limit, an opt-out still works and is confirmed.
  await h.inbound([{ from: waId, text: 'STOP' }]);
  await eventually(() => expect(h.graph.sentTo(waId).map((s) => s.text)).toContain(OPT_OUT_CONFIRMATION));

  // While an operator holds the chat no bot speaks: nothing is limited or noticed, all is recorded.
  expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId }, key: KEYS.operator })).status).toBe(200);
  const sendsBefore = h.graph.sentTo(waId).length;
  const llmBefore = h.llm.requests.length;
  await h.inbound(Array.from({ length: 2 * LIMIT }, (_, i) => ({ from: waId, text: `${tag} held ${i + 1}` })));
  await eventually(async () => expect((await h.recorded(waId)).filter((r) => r.content.startsWith(`${tag} held`))).toHaveLength(2 * LIMIT));
  const held = await h.settled(waId);
  expect(held.mode).toBe('operator');
  expect(h.graph.sentTo(waId)).toHaveLength(sendsBefore);
  expect(h.llm.requests.length).toBe(llmBefore);
  const heldRows = (await h.recorded(waId)).filter((r) => r.content.startsWith(`${tag} held`));
  expect(heldRows.every((r) => (r.metadata as { rate_limited?: boolean } | null)?.rate_limited !== true)).toBe(true);
  await saveHistory(h.client, waId, 'inbound-limit-held');
});
