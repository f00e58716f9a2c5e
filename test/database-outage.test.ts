import { testPostgresProxy, type TcpProxy } from './helpers/tcp-proxy';
import { eventually, startHarness, type Harness } from './helpers/harness';
import { randomPhone } from './helpers/webhook-payload';

let h: Harness;
let proxy: TcpProxy;
beforeAll(async () => {
  let url: string;
  ({ proxy, url } = await testPostgresProxy());
  h = await startHarness({ workerDatabaseUrl: url });
});
afterAll(async () => {
  await h?.stop();
  await proxy?.stop();
});

test('while Postgres is unreachable for the worker, messages wait and are answered once after it returns', async () => {
  const waId = randomPhone();
  await h.inbound([{ from: waId, text: 'before the outage' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);

  proxy.cut();
  try {
    // The webhook does not need the worker's database: Meta gets its 200 and the message is safe in Temporal.
    expect((await h.inbound([{ from: waId, text: 'during the outage' }])).status).toBe(200);
    expect((await h.inbound([{ from: waId, text: 'still down?' }])).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    // Recording is retried; nothing is answered before it is on record.
    expect(h.graph.sentTo(waId)).toHaveLength(1);
    expect((await h.chatState(waId)).pendingCount).toBe(2);
  } finally {
    proxy.restore();
  }

  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2), 30_000);
  await h.settled(waId, 30_000);
  expect(h.graph.sentTo(waId)[1]!.text).toBe('Reply to: during the outage | still down?');
  const rows = await h.recorded(waId);
  expect(rows.map((r) => `${r.sender_type}:${r.content}`)).toEqual([
    'user:before the outage',
    'bot:Reply to: before the outage',
    'user:during the outage',
    'user:still down?',
    'bot:Reply to: during the outage | still down?',
  ]);
});
