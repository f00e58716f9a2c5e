import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { CHAT_PATCHES } from '../src/workflows/chat-patches';
import { chatWorkflowId } from '../src/workflows/definitions';
import { burstOf } from './helpers/fake-openai';
import { eventually, startHarness, type Harness } from './helpers/harness';
import { saveWorkflowHistory } from './helpers/histories';
import { newWamid, randomPhone } from './helpers/webhook-payload';

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

let h: Harness;
beforeAll(async () => {
  // A worker running the chat exactly as released before v2 (tests/fixtures/workflows-before-v2.ts).
  const before = await bundleWorkflowCode({ workflowsPath: require.resolve('./fixtures/workflows-before-v2'), logger: quiet });
  h = await startHarness({ workflowBundle: { code: before.code } });
}, 120_000);
afterAll(async () => {
  await h?.stop();
});

const markers = (events: HistoryEvent[]) =>
  events
    .filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED)
    .map((e) => e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data);
const activityTypes = (events: HistoryEvent[]) =>
  events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name!);
const patchIds = (events: HistoryEvent[]) =>
  markers(events).map((data) => (data ? (JSON.parse(Buffer.from(data).toString()) as { id?: string }).id : undefined));

test('a chat running the code from before v2 moves to v2 at its next quiet moment, keeping its state, and answers once', async () => {
  const waId = randomPhone();
  const first = newWamid();
  await h.inbound([{ from: waId, text: 'before the upgrade', wamid: first }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  const handle = h.client.workflow.getHandle(chatWorkflowId(waId));
  const v1RunId = (await handle.describe()).runId;

  // The deployment: the worker comes back with today's code while the chat sits idle.
  await h.restartWorker();
  // Meta delivers the old message again, and the user writes.
  await h.inbound([
    { from: waId, text: 'before the upgrade', wamid: first },
    { from: waId, text: 'after the upgrade' },
  ]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(2));
  await h.settled(waId);

  // The v1 run answered what it had in hand, then handed over to a new run at its next quiet moment.
  await eventually(async () => expect((await handle.describe()).runId).not.toBe(v1RunId));
  const v1Events = (await h.client.workflow.getHandle(chatWorkflowId(waId), v1RunId).fetchHistory()).events ?? [];
  expect(patchIds(v1Events)).toContain(CHAT_PATCHES.upgradeToV2);
  expect(v1Events[v1Events.length - 1]!.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  // Replayed by test/replay.test.ts: a v1 run that today's code moved to v2.
  await saveWorkflowHistory(h.client, chatWorkflowId(waId), 'chat-upgrade-from-v1', v1RunId);

  // The new run is v2, with the whole state: a message after it is answered knowing the chat so far.
  await h.inbound([{ from: waId, text: 'now on v2' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(3));
  const state = await h.settled(waId);
  expect(h.graph.sentTo(waId).map((s) => s.text)).toEqual(['Reply to: before the upgrade', 'Reply to: after the upgrade', 'Reply to: now on v2']);
  const request = h.llm.requests.find((r) => burstOf(r).includes('now on v2'))!;
  const contents = request.messages.map((m) => m.content);
  expect(contents).toEqual(expect.arrayContaining(['before the upgrade', 'Reply to: before the upgrade', 'after the upgrade', 'Reply to: after the upgrade']));
  expect(state.mode).toBe('bot');

  const v2Events = (await handle.fetchHistory()).events ?? [];
  expect(patchIds(v2Events)).toContain(CHAT_PATCHES.v2);
  expect(activityTypes(v2Events)).toEqual(['replyToBurst']);
  // The redelivered wamid was dropped, and every message is on record once.
  const rows = await h.recorded(waId);
  expect(rows.filter((r) => r.direction === 'inbound').map((r) => r.content)).toEqual(['before the upgrade', 'after the upgrade', 'now on v2']);
  expect(rows.filter((r) => r.direction === 'outbound')).toHaveLength(3);

  // A chat that starts after the upgrade begins on v2 at once.
  const fresh = randomPhone();
  await h.inbound([{ from: fresh, text: 'new here' }]);
  await eventually(() => expect(h.graph.sentTo(fresh)).toHaveLength(1));
  await h.settled(fresh);
  const freshEvents = (await h.client.workflow.getHandle(chatWorkflowId(fresh)).fetchHistory()).events ?? [];
  expect(patchIds(freshEvents)).toContain(CHAT_PATCHES.v2);
});

const noop = () => undefined;
const quiet = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
