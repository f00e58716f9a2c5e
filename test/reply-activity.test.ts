/**
 * The reply activity on its own (real Postgres, fake Graph and OpenAI servers on loopback), for
 * what the chat tests cannot time: the send refused in the same statement that would reserve it
 * once Postgres says an operator holds the chat, and a retry that carries the model's draft.
 */
import { NativeConnection } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { createActivities } from '../src/activities';
import type { ReplyToBurstInput } from '../src/activities/reply';
import { createDb, type Db } from '../src/db/database';
import { updateConversationMode } from '../src/db/conversations';
import { pinReply } from '../src/db/messages';
import { FakeGraph } from './helpers/fake-graph';
import { FakeOpenAI } from './helpers/fake-openai';
import { TEST_SETTINGS } from './helpers/harness';
import { newWamid, randomPhone } from './helpers/webhook-payload';
import { workerDeps } from './helpers/worker-deps';

let db: Db;
let graph: FakeGraph;
let llm: FakeOpenAI;
let connection: NativeConnection;
let activities: ReturnType<typeof createActivities>;

beforeAll(async () => {
  db = createDb(process.env.TEST_DATABASE_URL!);
  graph = await new FakeGraph().start();
  llm = await new FakeOpenAI().start();
  connection = await NativeConnection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  activities = createActivities(workerDeps({ connection, db, graphUrl: graph.url, llmUrl: llm.url, settings: TEST_SETTINGS, log: pino({ level: 'silent' }) }));
});
afterAll(async () => {
  await Promise.all([graph?.stop(), llm?.stop()]);
  await connection?.close();
  await db?.destroy();
});

function input(waId: string, text: string): ReplyToBurstInput {
  const message = { wamid: newWamid(), waId, sentAt: Date.now(), type: 'text', text, answerable: true };
  return { waId, record: [message], context: [], burst: [message], clientKey: `${waId}:test:1`, llmMaxAttempts: 3 };
}

test('with an operator holding the chat in Postgres, the reply is recorded as nothing: no row, no send', async () => {
  const waId = randomPhone();
  await updateConversationMode(db, waId, 'operator', false, 'Ana');
  const result = await new MockActivityEnvironment().run(activities.replyToBurst, input(waId, 'taken over already'));
  expect(result).toMatchObject({ suppressed: true, sent: [], text: 'Reply to: taken over already' });
  expect(graph.sentTo(waId)).toHaveLength(0);
  const rows = await db
    .selectFrom('messages')
    .innerJoin('conversations', 'conversations.id', 'messages.conversation_id')
    .select(['messages.sender_type'])
    .where('conversations.wa_id', '=', waId)
    .execute();
  // The inbound message is on record; no bot row was reserved.
  expect(rows.map((r) => r.sender_type)).toEqual(['user']);
});

test('a retry that finds the draft in its heartbeat sends it without asking the model', async () => {
  const waId = randomPhone();
  const asked = llm.requests.length;
  const draft = { text: 'The draft an earlier attempt wrote', handoff: false, llmFailed: false };
  const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { recorded: true, draft } });
  const result = await env.run(activities.replyToBurst, input(waId, 'already answered once'));
  expect(result).toMatchObject({ suppressed: false, sent: [draft.text], text: draft.text });
  expect(llm.requests.length).toBe(asked);
  expect(graph.sentTo(waId).map((s) => s.text)).toEqual([draft.text]);
});

test('the model failing for good gives the fallback reply, flagged, once its attempts are spent', async () => {
  const waId = randomPhone();
  await llm.during({ outage: FakeOpenAI.apiError(500, 'down') }, async () => {
    // Two attempts failed already (their count came with the heartbeat): this third one is the last.
    const env = new MockActivityEnvironment({ attempt: 3, heartbeatDetails: { recorded: true, llmFailures: 2 } });
    const result = await env.run(activities.replyToBurst, input(waId, 'anyone there?'));
    expect(result).toMatchObject({ llmFailed: true, handoff: true, suppressed: false });
    expect(graph.sentTo(waId)).toHaveLength(1);
  });
});

test('cancelled while the model answers: the request is aborted and nothing is sent', async () => {
  const waId = randomPhone();
  await llm.during({ delayMs: 2000 }, async () => {
    const env = new MockActivityEnvironment();
    const running = env.run(activities.replyToBurst, input(waId, 'never mind'));
    await new Promise((r) => setTimeout(r, 300));
    env.cancel();
    await expect(running).rejects.toThrow();
  });
  expect(graph.sentTo(waId)).toHaveLength(0);
});

test('a reply pinned by an earlier activity for the burst is sent as pinned and answers only the messages it was written for', async () => {
  const waId = randomPhone();
  const next = input(waId, 'and a second thought');
  // The first activity pinned its reply to the first message, then was cancelled (a fold) while
  // waiting to retry its send: it may have reached WhatsApp, so the folded burst must not send another.
  await pinReply(db, { waId, clientKey: next.clientKey, parts: ['Reply to: a first thought'], burstSize: 1, metadata: {} });
  const first = { ...next.burst[0]!, wamid: newWamid(), text: 'a first thought' };
  const folded = { ...next, record: [first, ...next.record], burst: [first, ...next.burst] };
  const result = await new MockActivityEnvironment().run(activities.replyToBurst, folded);
  expect(result).toMatchObject({ sent: ['Reply to: a first thought'], answered: 1, suppressed: false });
  expect(graph.sentTo(waId).map((s) => s.text)).toEqual(['Reply to: a first thought']);
});
