import { ChatSession } from '../../src/workflows/chat-session';
import { newChatState } from '../../src/workflows/chat-state';
import type { InboundMessage } from '../../src/workflows/definitions';

const SETTINGS = { contextMessages: 5, debounceMs: 1000, maxWaitMs: 5000 };
const LIMIT = { messages: 2, windowMs: 60_000 };

let seq = 0;
function msg(text: string, extra: Partial<InboundMessage> = {}): InboundMessage {
  seq++;
  return { wamid: `w${seq}`, waId: '15550001', sentAt: 1_000 + seq, type: 'text', text, answerable: true, ...extra };
}

test('a message is queued for the bot and put on record; its redelivery is dropped and counted', () => {
  const chat = new ChatSession('15550001', undefined, SETTINGS);
  const first = msg('hello', { contactName: 'Ana' });
  expect(chat.receive(first, 10_000)).toBe('queued');
  expect(chat.receive(first, 10_001)).toBe('duplicate');
  expect(chat.state.pending.map((m) => m.text)).toEqual(['hello']);
  expect(chat.state.unrecorded.map((m) => m.wamid)).toEqual([first.wamid]);
  expect(chat.state.contactName).toBe('Ana');
  expect(chat.duplicatesIgnored).toBe(1);
  expect(chat.arrivals).toBe(1);
  expect(chat.hasWork()).toBe(true);
});

test('reactions and notices are recorded but never answered', () => {
  const chat = new ChatSession('1', undefined, SETTINGS);
  expect(chat.receive(msg('[reaction]', { answerable: false }), 0)).toBe('recorded-only');
  expect(chat.state.pending).toHaveLength(0);
  expect(chat.mustRecordNow()).toBe(true);
});

test('while the bot holds a pending burst, recording waits for the reply, which takes it along', () => {
  const chat = new ChatSession('1', undefined, SETTINGS);
  chat.receive(msg('question'), 0);
  expect(chat.mustRecordNow()).toBe(false);
  // An operator holding the chat needs the record now: nothing else will write it soon.
  chat.setMode('operator', 'ana');
  expect(chat.mustRecordNow()).toBe(true);
});

test('an opt keyword is recorded at once and never counted against the inbound limit', () => {
  const chat = new ChatSession('1', undefined, SETTINGS, LIMIT);
  chat.receive(msg('one'), 0);
  chat.receive(msg('two'), 1);
  expect(chat.receive(msg('STOP'), 2)).toBe('opt-keyword');
  expect(chat.state.optRequests).toEqual([expect.objectContaining({ optIn: false })]);
  expect(chat.mustRecordNow()).toBe(true);
});

test('over the inbound limit: recorded (marked), kept for the context after the burst, one notice per period', () => {
  const chat = new ChatSession('1', undefined, SETTINGS, LIMIT);
  expect(chat.receive(msg('one'), 0)).toBe('queued');
  expect(chat.receive(msg('two'), 1)).toBe('queued');
  expect(chat.receive(msg('three'), 2)).toBe('over-limit');
  expect(chat.receive(msg('four'), 3)).toBe('over-limit');
  expect(chat.state.limitNoticeDue).toBe(true);
  expect(chat.state.unrecorded.filter((m) => m.rateLimited).map((m) => m.text)).toEqual(['three', 'four']);
  chat.state.limitNoticeDue = false;
  chat.answered(2, 'Reply to: one | two', 10);
  expect(chat.state.context.map((c) => `${c.role}:${c.text}`)).toEqual(['user:one', 'user:two', 'user:three', 'user:four', 'bot:Reply to: one | two']);
  // Still limited: no second notice until a message is admitted again.
  chat.receive(msg('five'), 4);
  expect(chat.state.limitNoticeDue).toBe(false);
  expect(chat.receive(msg('six'), 60_001)).toBe('queued');
  expect(chat.state.inboundLimited).toBe(false);
});

test('the context keeps only the last contextMessages entries', () => {
  const chat = new ChatSession('1', undefined, SETTINGS);
  for (let i = 0; i < 8; i++) chat.remember({ role: 'user', text: `m${i}`, at: i });
  expect(chat.state.context.map((c) => c.text)).toEqual(['m3', 'm4', 'm5', 'm6', 'm7']);
});

test('answering consumes exactly the burst it answered; later arrivals stay pending', () => {
  const chat = new ChatSession('1', undefined, SETTINGS);
  chat.receive(msg('a'), 0);
  chat.receive(msg('b'), 1);
  chat.receive(msg('c'), 2); // arrived while the reply to a, b was being written
  chat.answered(2, 'Reply to: a | b', 3);
  expect(chat.state.pending.map((m) => m.text)).toEqual(['c']);
  expect(chat.state.context.map((c) => c.text)).toEqual(['a', 'b', 'Reply to: a | b']);
});

test('recorded() drops only the batch that was written, and campaign messages found join the context in order', () => {
  const chat = new ChatSession('1', undefined, SETTINGS);
  chat.receive(msg('x'), 0);
  chat.receive(msg('y'), 1);
  chat.remember({ role: 'user', text: 'older', at: 500 });
  chat.recorded(1, [{ wamid: 'campaign-1', text: 'Our sale starts today', at: 100 }]);
  expect(chat.state.unrecorded.map((m) => m.text)).toEqual(['y']);
  expect(chat.state.context.map((c) => c.text)).toEqual(['Our sale starts today', 'older']);
  // The same campaign message signalled by the sender later is not added twice.
  chat.campaignMessage({ wamid: 'campaign-1', campaignId: 1, text: 'Our sale starts today', at: 100 });
  expect(chat.state.context).toHaveLength(2);
});

test('takeover and handback clear NeedsHuman and mark Postgres behind; the operator is kept only while it holds the chat', () => {
  const chat = new ChatSession('1', undefined, SETTINGS);
  chat.setNeedsHuman(true);
  chat.state.conversationDirty = false;
  chat.setMode('operator', 'ana');
  expect(chat.state).toMatchObject({ mode: 'operator', operator: 'ana', needsHuman: false, conversationDirty: true });
  chat.setMode('bot', 'ana');
  expect(chat.state.operator).toBeUndefined();
  expect(chat.attributes()).toEqual({ mode: 'bot', needsHuman: false, lastInboundAt: undefined, status: 'open', assignedTo: undefined });
});

test('client keys are unique along the chain and continue from the carried counter', () => {
  const chat = new ChatSession('1', { ...newChatState('1'), outboundCount: 7 }, SETTINGS);
  expect(chat.nextClientKey('run-a')).toBe('1:run-a:8');
  expect(chat.nextClientKey('run-a')).toBe('1:run-a:9');
});

test('a state carried from an earlier run keeps its dedup memory and gains fields added since', () => {
  const carried = newChatState('1');
  const first = new ChatSession('1', carried, SETTINGS);
  const m = msg('once');
  first.receive(m, 0);
  const { overLimit: _dropped, ...older } = first.state; // a run from before the field existed
  const next = new ChatSession('1', older as typeof carried, SETTINGS);
  expect(next.receive(m, 1)).toBe('duplicate');
  expect(next.state.overLimit).toEqual([]);
});

test('the view reports the burst, the window and the limit as the query shows them', () => {
  const chat = new ChatSession('1', undefined, SETTINGS, LIMIT);
  const now = 1_000_000;
  chat.receive(msg('a', { sentAt: now - 1000 }), now);
  const view = chat.view(now, 'debouncing', 3);
  expect(view).toMatchObject({ phase: 'debouncing', pendingCount: 1, windowOpen: true, inboundLimited: false, runStartedEventCount: 3 });
  expect(view.windowClosesAt).toBe(new Date(now - 1000 + 24 * 3600_000).toISOString());
  expect(chat.burstDeadline()).toBe(now + 1000);
});
