/**
 * GET /api/v1/conversations/stream: what an operator console (or `npm run chat`) sees live, from
 * a real chat on Temporal and its record in Postgres.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { readSse } from '../scripts/chat/sse';
import { errorMiddleware } from '../src/api/errors';
import { mountConversationStream } from '../src/api/routes/conversation-stream';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { randomPhone } from './helpers/webhook-payload';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

interface Received {
  event: string;
  id?: string;
  data: any;
}

interface Stream {
  status: number;
  events: Received[];
  /** The first event (after those already taken by earlier waits) that matches. */
  next(match: (e: Received) => boolean): Promise<Received>;
  close(): void;
}

async function openStream(url: string, headers: Record<string, string> = { authorization: `Bearer ${KEYS.viewer}` }): Promise<Stream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const events: Received[] = [];
  if (res.ok) {
    void (async () => {
      for await (const e of readSse(res.body!)) events.push({ event: e.event, id: e.id, data: JSON.parse(e.data) });
    })().catch(() => undefined);
  }
  let taken = 0;
  return {
    status: res.status,
    events,
    async next(match) {
      return eventually(() => {
        const at = events.findIndex((e, i) => i >= taken && match(e));
        if (at < 0) throw new Error(`no such event yet; got ${JSON.stringify(events.slice(taken).map((e) => e.event))}`);
        taken = at + 1;
        return events[at]!;
      }, 20_000);
    },
    close: () => abort.abort(),
  };
}

const streamUrl = (query = '') => `${h.apiUrl}/api/v1/conversations/stream${query}`;
const isMessage = (sender: string, content?: string) => (e: Received) =>
  e.event === 'message' && e.data.sender_type === sender && (content === undefined || e.data.content === content);
const isConversation = (mode: string) => (e: Received) => e.event === 'conversation' && e.data.mode === mode;
/** The events a reader acts on, in order; message_update only refreshes a message it has. */
const story = (events: Received[]) =>
  events
    .filter((e) => e.event !== 'message_update')
    .map((e) => (e.event === 'message' ? `${e.data.sender_type}: ${e.data.content}` : `[${e.data.mode}${e.data.operator ? ` ${e.data.operator}` : ''}]`));

test('a stream for a phone shows the chat as it happens: messages, the reply, takeover, the operator, handback', async () => {
  const waId = randomPhone();
  const stream = await openStream(streamUrl(`?phone=%2B${waId}`));
  try {
    expect(stream.status).toBe(200);

    await h.inbound([{ from: waId, text: 'hello stream' }]);
    const appeared = await stream.next(isConversation('bot'));
    expect(appeared.data).toMatchObject({
      phone: waId,
      wa_id: waId,
      needs_human: false,
      operator: null,
      status: 'open',
      handling: 'bot',
      workflow_id: `chat-${waId}`,
    });
    const inbound = await stream.next(isMessage('user', 'hello stream'));
    expect(inbound.id).toBe(inbound.data.id);
    const reply = await stream.next(isMessage('bot', 'Reply to: hello stream'));
    await h.settled(waId);

    const takeover = await h.api('POST', '/api/v1/takeover', { body: { phone: waId, operator: 'Ana' }, key: KEYS.operator });
    expect(takeover.status).toBe(200);
    expect((await stream.next(isConversation('operator'))).data).toMatchObject({ operator: 'key:operator-key', handling: 'operator' });

    const sent = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, message: 'Ana here, how can I help?' }, key: KEYS.operator });
    expect(sent.status).toBe(200);
    const operatorMessage = await stream.next(isMessage('operator', 'Ana here, how can I help?'));

    expect((await h.api('POST', '/api/v1/handback', { body: { phone: waId }, key: KEYS.operator })).status).toBe(200);
    const handedBack = await stream.next(isConversation('bot'));
    expect(handedBack.data).toMatchObject({ operator: null });
    // A conversation event is the conversation as the list endpoint has it.
    const listed = await h.api('GET', `/api/v1/conversations?phone=${waId}`, { key: KEYS.viewer });
    expect(handedBack.data).toEqual(listed.body.conversations[0]);

    expect(story(stream.events)).toEqual([
      '[bot]',
      'user: hello stream',
      'bot: Reply to: hello stream',
      '[operator key:operator-key]',
      'operator: Ana here, how can I help?',
      '[bot]',
    ]);
    expect(Number(inbound.id) < Number(reply.id) && Number(reply.id) < Number(operatorMessage.id)).toBe(true);

    // A delivery receipt reaches the stream as an update of the message it is about.
    await h.inbound([], [{ id: sent.body.message_id, status: 'delivered', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: waId }]);
    const delivered = await stream.next((e) => e.event === 'message_update' && e.data.id === operatorMessage.id && e.data.delivery_status === 'delivered');
    expect(delivered.id).toBeUndefined();

    // Applying the updates to the messages gives exactly what the messages endpoint answers.
    const page = await h.api('GET', `/api/v1/conversations/${appeared.data.id}/messages`, { key: KEYS.viewer });
    const latest = new Map<string, unknown>();
    for (const e of stream.events) if (e.event === 'message' || e.event === 'message_update') latest.set(e.data.id, e.data);
    expect([...latest.values()]).toEqual(page.body.messages);
  } finally {
    stream.close();
  }
});

test('a resumed stream (Last-Event-ID or since_id) gets only the messages after that id, then carries on', async () => {
  const waId = randomPhone();
  const say = async (text: string) => {
    await h.inbound([{ from: waId, text }]);
    await eventually(async () => expect((await h.recorded(waId)).some((m) => m.content === `Reply to: ${text}`)).toBe(true));
    await h.settled(waId);
  };
  await say('one');
  await say('two');
  const firstReply = (await h.recorded(waId)).find((m) => m.content === 'Reply to: one')!;

  const resumed = await openStream(streamUrl(`?phone=${waId}`), { authorization: `Bearer ${KEYS.viewer}`, 'last-event-id': firstReply.id });
  try {
    expect(resumed.status).toBe(200);
    await resumed.next((e) => e.event === 'conversation');
    await resumed.next(isMessage('bot', 'Reply to: two'));
    await say('three');
    await resumed.next(isMessage('bot', 'Reply to: three'));

    const later = (await h.recorded(waId)).filter((m) => BigInt(m.id) > BigInt(firstReply.id));
    const messages = resumed.events.filter((e) => e.event === 'message');
    expect(messages.map((e) => e.id)).toEqual(later.map((m) => m.id));
    expect(story(resumed.events)).toEqual(['[bot]', 'user: two', 'bot: Reply to: two', 'user: three', 'bot: Reply to: three']);

    const conversationId = messages[0]!.data.conversation_id as string;
    const since = later.find((m) => m.content === 'Reply to: two')!.id;
    const bySinceId = await openStream(streamUrl(`?conversation_id=${conversationId}&since_id=${since}`));
    try {
      await bySinceId.next(isMessage('bot', 'Reply to: three'));
      expect(story(bySinceId.events)).toEqual(['[bot]', 'user: three', 'bot: Reply to: three']);
    } finally {
      bySinceId.close();
    }
  } finally {
    resumed.close();
  }
});

test('the inbox stream (no filter) reports every conversation that gets a message or changes hands', async () => {
  const inbox = await openStream(streamUrl());
  try {
    expect(inbox.status).toBe(200);
    const waId = randomPhone();
    await h.inbound([{ from: waId, text: 'inbox hello', name: 'Inês' }]);
    const arrived = await inbox.next((e) => e.event === 'conversation' && e.data.phone === waId);
    expect(arrived.data).toMatchObject({ contact_name: 'Inês', mode: 'bot', handling: 'bot', status: 'open' });
    // The bot writes the burst and its reply in one activity, so a poll may see both at once.
    if (arrived.data.last_message?.sender_type !== 'bot') {
      await inbox.next((e) => e.event === 'conversation' && e.data.phone === waId && e.data.last_message?.sender_type === 'bot');
    }
    await h.settled(waId);

    expect((await h.api('POST', '/api/v1/takeover', { body: { phone: waId, operator: 'Bo' }, key: KEYS.operator })).status).toBe(200);
    const taken = await inbox.next((e) => e.event === 'conversation' && e.data.phone === waId && e.data.mode === 'operator');
    expect(taken.data).toMatchObject({ operator: 'key:operator-key', message_count: 2, last_message: { content: 'Reply to: inbox hello' } });
  } finally {
    inbox.close();
  }
});

test('a stream needs a credential, a known conversation and one filter at most', async () => {
  const none = await fetch(streamUrl(`?phone=${randomPhone()}`));
  expect(none.status).toBe(401);
  expect(((await none.json()) as any).error.code).toBe('AUTHENTICATION_ERROR');

  const missing = await h.api('GET', '/api/v1/conversations/stream?conversation_id=00000000-0000-4000-8000-000000000000', { key: KEYS.viewer });
  expect(missing.status).toBe(404);
  const both = await h.api('GET', `/api/v1/conversations/stream?phone=${randomPhone()}&conversation_id=00000000-0000-4000-8000-000000000000`, {
    key: KEYS.viewer,
  });
  expect(both.status).toBe(400);
});

/** The stream route alone, on its own hub with these options (the app's hub has the defaults). */
async function streamApp(opts: Parameters<typeof mountConversationStream>[2]) {
  const app = express();
  const router = express.Router();
  app.use((req, _res, next) => {
    req.principal = { kind: 'api_key', role: 'viewer', label: 'test' };
    next();
  });
  const hub = mountConversationStream(router, { db: h.db, log: pino({ level: 'silent' }) }, opts);
  app.use(router);
  app.use(errorMiddleware);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    hub,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`,
    async stop() {
      hub.closeAll();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

test('streams are capped per process, send heartbeats, and free their place when the client leaves', async () => {
  const { hub, url, stop } = await streamApp({ maxStreams: 1, heartbeatMs: 100 });
  try {
    const first = new AbortController();
    const open = await fetch(url, { signal: first.signal });
    expect(open.status).toBe(200);
    expect(open.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = open.body!.getReader();
    let text = '';
    while (!text.includes(': heartbeat\n\n')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended: ${text}`);
      text += new TextDecoder().decode(value);
    }

    const refused = await fetch(url);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as any).error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', details: { limit: 1 } });

    first.abort();
    await eventually(() => expect(hub.size).toBe(0));
    const again = new AbortController();
    expect((await fetch(url, { signal: again.signal })).status).toBe(200);
    again.abort();
  } finally {
    await stop();
  }
});

test('a long-lived stream keeps up once its poll reads from the sliding floor', async () => {
  // A lookback of 100 ms instead of 10 s: the floor takes over after the first message already.
  const { url, stop } = await streamApp({ pollMs: 50, lookbackMs: 100 });
  const waId = randomPhone();
  const stream = await openStream(`${url}?phone=${waId}`);
  try {
    for (const text of ['first', 'second', 'third']) {
      await h.inbound([{ from: waId, text }]);
      await stream.next(isMessage('bot', `Reply to: ${text}`));
      await h.settled(waId);
    }
    expect(story(stream.events)).toEqual([
      '[bot]',
      'user: first',
      'bot: Reply to: first',
      'user: second',
      'bot: Reply to: second',
      'user: third',
      'bot: Reply to: third',
    ]);
  } finally {
    stream.close();
    await stop();
  }
});
