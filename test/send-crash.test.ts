import type http from 'node:http';
import { temporal as proto } from '@temporalio/proto';
import { chatWorkflowId } from '../src/workflows/definitions';
import { FakeGraph, type GraphSend } from './helpers/fake-graph';
import { APP_SECRET, TEST_SETTINGS, eventually, startHarness, type Harness } from './helpers/harness';
import { testPostgresProxy, type TcpProxy } from './helpers/tcp-proxy';
import { randomPhone } from './helpers/webhook-payload';
import { WorkerProcess } from './helpers/worker-process';

// A chat reply is sent by a worker in a child process, so it can be killed -9 at the worst moment:
// WhatsApp (the fake Graph) has accepted the reply and the worker has not stored its wamid. The
// reply's retry comes after its 10 s heartbeat timeout (src/workflows/chat-activities.ts).
const GRACE_MS = 5000;
let h: Harness;
let worker: WorkerProcess;
beforeAll(async () => {
  h = await startHarness({ worker: false });
  worker = new WorkerProcess({ taskQueue: h.taskQueue, graphUrl: h.graph.url, llmUrl: h.llm.url, settings: TEST_SETTINGS, sendConfirmGraceMs: GRACE_MS });
  await worker.start();
});
afterEach(() => {
  h.graph.onSend = undefined;
  h.graph.receiptsTo = undefined;
});
afterAll(async () => {
  await worker?.stop();
  await h?.stop();
});

const receipts = () => ({ url: `${h.apiUrl}/webhooks/whatsapp`, appSecret: APP_SECRET });

/** The bot's reply row: one per send, whatever the attempts. */
async function replyRow(waId: string, harness = h) {
  const rows = (await harness.recorded(waId)).filter((r) => r.direction === 'outbound');
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

/** Kills the worker as Graph accepts the first reply to waId, then starts a fresh one. */
async function crashAtSend(waId: string): Promise<GraphSend> {
  let accepted: GraphSend | undefined;
  h.graph.onSend = (send) => {
    if (send.to !== waId || accepted) return;
    accepted = send;
    worker.kill();
  };
  expect((await h.inbound([{ from: waId, text: 'hello' }])).status).toBe(200);
  await eventually(() => expect(accepted).toBeDefined(), 20_000);
  await worker.start();
  return accepted!;
}

test('killed after WhatsApp took the reply: the receipt settles it and the user gets it once', async () => {
  h.graph.receiptsTo = receipts();
  const waId = randomPhone();
  const first = await crashAtSend(waId);
  // The send carries its client key, which Meta echoes in the receipt.
  expect(first.body.biz_opaque_callback_data).toEqual(expect.any(String));

  await eventually(async () => expect((await replyRow(waId)).send_started_at).toBeNull(), 60_000);
  await h.settled(waId, 30_000);
  expect(h.graph.sentTo(waId)).toHaveLength(1);
  const row = await replyRow(waId);
  expect(row).toMatchObject({ wamid: first.wamid, delivery_status: 'sent', client_key: first.body.biz_opaque_callback_data });
  const conversation = await h.db.selectFrom('conversations').select('last_message_at').where('wa_id', '=', waId).executeTakeFirstOrThrow();
  expect(conversation.last_message_at).not.toBeNull();
}, 120_000);

test('known limit: with no receipt (none ever reaches the API) the retry sends the reply again', async () => {
  // Graph accepted the reply, but no receipt arrives within the grace period after the send
  // started: the retry cannot tell this from a request that never reached WhatsApp, and sends.
  const waId = randomPhone();
  const first = await crashAtSend(waId);
  await h.settled(waId, 60_000);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2), 10_000);
  const [a, b] = h.graph.sentTo(waId);
  expect(b!.text).toBe(a!.text);
  expect(a!.wamid).toBe(first.wamid);
  // The record keeps one reply, with the wamid of the send the retry made.
  expect(await replyRow(waId)).toMatchObject({ wamid: b!.wamid, delivery_status: 'sent', send_started_at: null });
}, 120_000);

test('a definite failure (Graph 500) clears the mark, so the retry sends without waiting for a receipt', async () => {
  const waId = randomPhone();
  // Retry-After holds the retry back long enough to look at the row in between.
  h.graph.faults.push({ ...FakeGraph.graphError(500, 1, 'An unknown error occurred'), headers: { 'retry-after': '2' } });
  expect((await h.inbound([{ from: waId, text: 'hello' }])).status).toBe(200);
  await eventually(
    async () => {
      const [row] = (await h.recorded(waId)).filter((r) => r.direction === 'outbound');
      expect(row).toMatchObject({ wamid: null, delivery_status: 'pending', send_started_at: null });
    },
    20_000,
    25,
  );
  expect(h.graph.sentTo(waId)).toHaveLength(0);

  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1), 20_000);
  await h.settled(waId);
  expect(h.graph.sentTo(waId)).toHaveLength(1);
  expect(await replyRow(waId)).toMatchObject({ wamid: h.graph.sentTo(waId)[0]!.wamid, delivery_status: 'sent', send_started_at: null });
}, 60_000);

test('an answer lost on the way back (connection dropped): the retry waits, and adopts the receipt that comes', async () => {
  const waId = randomPhone();
  // Graph takes the reply, then the connection drops before its answer: the send is ambiguous.
  const graph = h.graph as unknown as { handle(req: http.IncomingMessage, body: unknown): Promise<unknown> };
  const handle = graph.handle.bind(h.graph);
  let accepted: GraphSend | undefined;
  graph.handle = async (req, body) => {
    const answer = await handle(req, body);
    if (!accepted && (body as { to?: string }).to === waId) {
      accepted = h.graph.sentTo(waId)[0];
      req.socket.destroy();
    }
    return answer;
  };
  try {
    expect((await h.inbound([{ from: waId, text: 'hello' }])).status).toBe(200);
    await eventually(() => expect(accepted).toBeDefined(), 20_000);
    // The retry is under way and waiting for a receipt; the receipt comes, carrying our key.
    const chat = h.client.workflow.getHandle(chatWorkflowId(waId));
    await eventually(
      async () => {
        const { raw } = await chat.describe();
        const send = raw.pendingActivities?.find((a) => a.activityType?.name === 'replyToBurst');
        expect(send?.attempt ?? 0).toBeGreaterThanOrEqual(2);
        expect(send?.state).toBe(proto.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
      },
      20_000,
      25,
    );
    const status = { id: accepted!.wamid, status: 'sent', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: waId };
    expect((await h.inbound([], [{ ...status, biz_opaque_callback_data: accepted!.body.biz_opaque_callback_data }])).status).toBe(200);

    await h.settled(waId);
    expect(h.graph.sentTo(waId)).toHaveLength(1);
    expect(await replyRow(waId)).toMatchObject({ wamid: accepted!.wamid, delivery_status: 'sent', send_started_at: null });
  } finally {
    graph.handle = handle;
  }
}, 60_000);

describe('Postgres cut as WhatsApp takes the reply', () => {
  // An in-process worker whose Postgres goes through a proxy the test can cut; the API's does not.
  let p: Harness;
  let proxy: TcpProxy;
  beforeAll(async () => {
    let url: string;
    ({ proxy, url } = await testPostgresProxy());
    p = await startHarness({ workerDatabaseUrl: url });
  });
  afterAll(async () => {
    await p?.stop();
    await proxy?.stop();
  });

  test('the retry stores the wamid its earlier attempt got, with no receipt, however long the outage', async () => {
    const waId = randomPhone();
    let accepted: GraphSend | undefined;
    p.graph.onSend = (send) => {
      if (send.to !== waId || accepted) return;
      accepted = send;
      proxy.cut();
    };
    try {
      expect((await p.inbound([{ from: waId, text: 'hello' }])).status).toBe(200);
      await eventually(() => expect(accepted).toBeDefined(), 20_000);
      // Longer than the grace period (1.5 s here): a receipt could not have saved this one.
      await new Promise((r) => setTimeout(r, 4000));
    } finally {
      proxy.restore();
    }
    await eventually(async () => expect((await replyRow(waId, p)).wamid).toBe(accepted!.wamid), 30_000);
    await p.settled(waId, 30_000);
    expect(p.graph.sentTo(waId)).toHaveLength(1);
    expect(await replyRow(waId, p)).toMatchObject({ delivery_status: 'sent', send_started_at: null });
  }, 60_000);
});
