/**
 * Without OPENAI_API_KEY the worker answers with the offline responder: visibly labelled in the
 * reply, in /health and in each bot message's recorded metadata.
 */
import { describeLlm, OFFLINE_LLM, OFFLINE_PREFIX, OfflineResponder } from '../src/llm/offline-responder';
import type { InboundMessage } from '../src/workflows/definitions';
import { eventually, startHarness, type Harness } from './helpers/harness';
import { randomPhone } from './helpers/webhook-payload';

const message = (text: string): InboundMessage => ({ wamid: `w-${text}`, waId: '15550001111', sentAt: 0, type: 'text', text, answerable: true });

describe('the responder', () => {
  const responder = new OfflineResponder();

  test('echoes the burst, labelled as offline', async () => {
    const one = await responder.reply([], [message('Hello  there\n')]);
    expect(one).toMatchObject({
      text: `${OFFLINE_PREFIX} You said: "Hello there". Write "human" to be handed to a person.`,
      handoff: false,
      model: 'offline-responder',
    });
    const burst = await responder.reply([], [message('one'), message('two')]);
    expect(burst.text).toContain('You said (2 messages): "one / two"');
    const long = await responder.reply([], [message('x'.repeat(1000))]);
    expect(long.text.length).toBeLessThan(400);
  });

  test('hands over to a person when asked for one', async () => {
    for (const text of ['Can I talk to a human?', 'AGENT please', 'I want a real person']) {
      const reply = await responder.reply([], [message(text)]);
      expect(reply).toMatchObject({ handoff: true });
      expect(reply.text.startsWith(OFFLINE_PREFIX)).toBe(true);
    }
    expect((await responder.reply([], [message('humanity is great')])).handoff).toBe(false);
  });

  test('names the LLM for /health and the startup output', () => {
    expect(describeLlm({ apiKey: undefined, model: 'gpt-4o-mini', baseUrl: 'https://api.openai.com/v1' })).toBe(OFFLINE_LLM);
    expect(describeLlm({ apiKey: 'sk-x', model: 'llama3', baseUrl: 'http://127.0.0.1:11434/v1' })).toBe('llama3 at 127.0.0.1:11434');
  });
});

describe('a chat turn with the worker on the offline responder', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ settings: { debounceMs: 50 }, llm: { model: new OfflineResponder(), label: OFFLINE_LLM } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('answers, records the reply labelled offline, and /health says so', async () => {
    const waId = randomPhone();
    expect((await h.inbound([{ from: waId, text: 'Hello!' }])).status).toBe(200);
    const [sent] = await eventually(() => {
      const s = h.graph.sentTo(waId);
      expect(s).toHaveLength(1);
      return s;
    });
    expect(sent!.text).toBe(`${OFFLINE_PREFIX} You said: "Hello!". Write "human" to be handed to a person.`);
    expect(h.llm.requests).toHaveLength(0);

    await h.settled(waId);
    const recorded = await h.recorded(waId);
    expect(recorded.map((m) => [m.sender_type, m.metadata])).toEqual([
      ['user', null],
      // burst_size: how many of the burst's messages the reply answers (src/db/messages.ts pinReply).
      ['bot', { provider: 'meta', llm: 'offline', burst_size: 1 }],
    ]);

    // Asking for a person hands the chat over, so takeover can be tried.
    await h.inbound([{ from: waId, text: 'human please' }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2));
    await eventually(async () => expect((await h.chatState(waId)).needsHuman).toBe(true));

    const health = await fetch(`${h.apiUrl}/health`);
    expect(await health.json()).toMatchObject({ status: 'healthy', llm: OFFLINE_LLM });
  });
});
