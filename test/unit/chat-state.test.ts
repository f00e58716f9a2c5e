import { admitInbound, burstDeadline, describeMedia, inboundLimitedUntil, newChatState, SeenWamids, windowOpen } from '../../src/workflows/chat-state';
import { SEEN_WAMIDS_LIMIT, type ChatState } from '../../src/workflows/definitions';

test('the seen-wamid list stays bounded and forgets the oldest first', () => {
  const list: string[] = [];
  const seen = new SeenWamids(list);
  for (let i = 0; i < SEEN_WAMIDS_LIMIT + 5; i++) seen.add(`w${i}`);
  expect(list).toHaveLength(SEEN_WAMIDS_LIMIT);
  expect(seen.has('w0')).toBe(false);
  expect(seen.has('w5')).toBe(true);
  expect(seen.has(`w${SEEN_WAMIDS_LIMIT + 4}`)).toBe(true);
  // A new run rebuilt from the carried list knows the same ids.
  expect(new SeenWamids(list).has('w5')).toBe(true);
});

test('a burst is answered after the quiet time, but never later than the longest wait', () => {
  const state: ChatState = newChatState('1');
  const msg = (receivedAt: number) => ({ wamid: `${receivedAt}`, waId: '1', sentAt: receivedAt, type: 'text', text: '', answerable: true, receivedAt });
  state.pending = [msg(0), msg(500)];
  expect(burstDeadline(state, 2000, 10_000)).toBe(2500);
  state.pending = [msg(0), msg(9000)];
  expect(burstDeadline(state, 2000, 10_000)).toBe(10_000);
});

test('the 24 h window is open only within 24 h of the last inbound message', () => {
  const state = newChatState('1');
  expect(windowOpen(state, Date.now())).toBe(false);
  state.lastInboundAt = 0;
  expect(windowOpen(state, 24 * 3600_000 - 1)).toBe(true);
  expect(windowOpen(state, 24 * 3600_000)).toBe(false);
});

test('the inbound limit admits a message while fewer than the limit were admitted in the window', () => {
  const state = newChatState('1');
  const limit = { messages: 2, windowMs: 1000 };
  expect([0, 100, 200, 900].map((t) => admitInbound(state, t, limit))).toEqual([true, true, false, false]);
  // Refused messages do not count: the window frees up one window after the first admitted one.
  expect(inboundLimitedUntil(state, 900, limit)).toBe(1000);
  expect(admitInbound(state, 1000, limit)).toBe(true);
  expect(inboundLimitedUntil(state, 1000, limit)).toBe(1100);
  expect(state.inboundTimes).toEqual([100, 1000]);
  // A limit lowered across continue-as-new trims the carried list.
  expect(admitInbound(state, 1050, { messages: 1, windowMs: 1000 })).toBe(false);
  expect(state.inboundTimes).toEqual([1000]);
});

test('operator media reads in the context like inbound media', () => {
  expect(describeMedia({ id: 'M', mimeType: 'image/jpeg', caption: 'the new model' })).toBe('[image] the new model');
  expect(describeMedia({ link: 'https://x/y.pdf', mimeType: 'application/pdf', filename: 'price-list.pdf' })).toBe('[document: price-list.pdf]');
  expect(describeMedia({ id: 'M', mimeType: 'audio/ogg' })).toBe('[audio]');
  expect(describeMedia({ id: 'M' })).toBe('[document]');
});
