import { isPermanentFailure } from '../../src/api/webhook/delivery-failures';
import { MAX_INBOUND_TEXT, boundInbound, cleanJson } from '../../src/api/webhook/inbound-bounds';
import { cleanText } from '../../src/db/clean-text';
import { parseTwilioInbound } from '../../src/api/webhook/twilio-payload';
import { ChatSession } from '../../src/workflows/chat-session';
import { boundContext, prefixByChars } from '../../src/workflows/chat-state';
import type { InboundMessage } from '../../src/workflows/definitions';

const NOW = Date.UTC(2026, 11, 4, 12);
const message = (extra: Partial<InboundMessage> = {}): InboundMessage => ({
  wamid: 'w1',
  waId: '15550001',
  sentAt: NOW - 1000,
  type: 'text',
  text: 'hi',
  answerable: true,
  ...extra,
});

test('cleanText strips NUL, other control characters and lone surrogates, and keeps tabs, newlines and emoji', () => {
  expect(cleanText('a\u0000b\u0007c\u007f')).toBe('abc');
  expect(cleanText('line\tone\r\nline two')).toBe('line\tone\r\nline two');
  expect(cleanText('half \ud83d and \ude00 whole 😀')).toBe('half  and  whole 😀');
});

test('a text past 4,096 characters is cut there and flagged; a cut never splits an emoji', () => {
  const long = boundInbound(message({ text: 'x'.repeat(5000) }), NOW);
  expect(long.text).toHaveLength(MAX_INBOUND_TEXT);
  expect(long.truncated).toEqual({ originalLength: 5000 });
  const emoji = boundInbound(message({ text: `${'x'.repeat(MAX_INBOUND_TEXT - 1)}😀` }), NOW);
  expect(emoji.text).toBe('x'.repeat(MAX_INBOUND_TEXT - 1));
  const exact = boundInbound(message({ text: 'y'.repeat(MAX_INBOUND_TEXT) }), NOW);
  expect(exact.truncated).toBeUndefined();
});

test('names, types and media fields are cleaned and capped; empty ones are dropped', () => {
  const out = boundInbound(
    message({ contactName: '\u0000', type: 'te\u0000xt', media: { id: 'M\u00001', caption: 'c'.repeat(5000), mimeType: 'image/png' } }),
    NOW,
  );
  expect(out.contactName).toBeUndefined();
  expect('contactName' in out).toBe(false);
  expect(out.type).toBe('text');
  expect(out.media).toEqual({ id: 'M1', caption: 'c'.repeat(1024), mimeType: 'image/png' });
});

test('an impossible send time becomes the receive time, the original kept; a plausible one is left alone', () => {
  for (const sentAt of [Number('99999999999999999999') * 1000, 0, NaN, NOW + 2 * 3600_000, NOW - 40 * 86_400_000]) {
    const out = boundInbound(message({ sentAt }), NOW, 'raw');
    expect(out.sentAt).toBe(NOW);
    expect(out.originalTimestamp).toBe('raw');
  }
  // Meta redelivers for up to 7 days, and clocks drift a little.
  for (const sentAt of [NOW - 6 * 86_400_000, NOW + 60_000]) {
    const out = boundInbound(message({ sentAt }), NOW, 'raw');
    expect(out.sentAt).toBe(sentAt);
    expect(out.originalTimestamp).toBeUndefined();
  }
});

test('provider JSON (delivery errors) is cleaned, cut and bounded in depth and size', () => {
  const deep = { a: { b: { c: { d: { e: 'too deep' } } } } };
  expect(cleanJson(deep)).toEqual({ a: { b: { c: { d: undefined } } } });
  expect(cleanJson([{ code: 131047, title: 'Re\u0000-engagement' }])).toEqual([{ code: 131047, title: 'Re-engagement' }]);
  expect((cleanJson(Array.from({ length: 50 }, (_, i) => i)) as unknown[]).length).toBe(20);
});

test('Twilio messages get the same bounds: NUL stripped, text cut, ids that cannot be real refused', () => {
  const parsed = parseTwilioInbound({ MessageSid: 'SM1', From: 'whatsapp:+15550001', Body: `a\u0000${'b'.repeat(5000)}`, ProfileName: 'Jo\u0000' }, NOW);
  expect(typeof parsed).toBe('object');
  const m = parsed as InboundMessage;
  expect(m.text).toBe('a' + 'b'.repeat(MAX_INBOUND_TEXT - 1));
  expect(m.truncated).toEqual({ originalLength: 5001 });
  expect(m.contactName).toBe('Jo');
  expect(parseTwilioInbound({ MessageSid: 'S'.repeat(300), From: 'whatsapp:+15550001', Body: 'x' }, NOW)).toMatch(/too long/);
});

test('context is bounded by characters, newest first, the oldest kept message cut to the room left', () => {
  const context = [
    { role: 'user' as const, text: 'a'.repeat(50), at: 1 },
    { role: 'bot' as const, text: 'b'.repeat(30), at: 2 },
    { role: 'user' as const, text: 'c'.repeat(30), at: 3 },
  ];
  expect(boundContext(context, 100)).toEqual([{ ...context[0], text: 'a'.repeat(40) }, context[1], context[2]]);
  expect(boundContext(context, 60)).toEqual([context[1], context[2]]);
  expect(boundContext(context, 1000)).toBe(context);
  expect(boundContext([{ role: 'user', text: 'z'.repeat(500), at: 1 }], 100)).toEqual([{ role: 'user', text: 'z'.repeat(100), at: 1 }]);
});

test('a burst is handed over in prefixes that fit the budget, never fewer than one message', () => {
  const texts = ['aaaa', 'bbbb', 'cccc'].map((text) => ({ text }));
  expect(prefixByChars(texts, 8)).toEqual(texts.slice(0, 2));
  expect(prefixByChars(texts, 3)).toEqual(texts.slice(0, 1));
  expect(prefixByChars(texts, 100)).toEqual(texts);
  expect(prefixByChars([], 10)).toEqual([]);
});

test('a session keeps its carried context within LLM_MAX_CONTEXT_CHARS', () => {
  const chat = new ChatSession('1', undefined, { contextMessages: 20, contextChars: 1000, debounceMs: 1, maxWaitMs: 1 });
  for (let i = 0; i < 5; i++) chat.remember({ role: 'user', text: 'x'.repeat(400), at: i });
  expect(chat.state.context.reduce((n, c) => n + c.text.length, 0)).toBe(1000);
  expect(chat.state.context.map((c) => c.at)).toEqual([2, 3, 4]);
});

describe('delivery failures', () => {
  test('rate limits and Meta trouble are transient; undeliverable, window, template errors and unknown codes are not', () => {
    for (const code of [130429, 131048, 131056, 131000, 63018]) expect(isPermanentFailure(code)).toBe(false);
    for (const code of [131026, 131047, 131051, 132001, 63016, 999999, undefined]) expect(isPermanentFailure(code)).toBe(true);
  });

  test('a window failure closes the window until the user writes again; a stale one does not', () => {
    const chat = new ChatSession('1', undefined, { contextMessages: 5, debounceMs: 1, maxWaitMs: 1 });
    chat.receive(message({ wamid: 'a', sentAt: NOW - 60_000 }), NOW - 60_000);
    expect(chat.windowOpen(NOW)).toBe(true);
    chat.deliveryFailed({ wamid: 'r1', code: 131047, sentAt: NOW - 30_000, windowClosed: true });
    expect(chat.windowOpen(NOW)).toBe(false);
    expect(chat.state.needsHuman).toBe(true);
    expect(chat.state.conversationDirty).toBe(true);

    chat.receive(message({ wamid: 'b', sentAt: NOW - 10_000 }), NOW - 10_000);
    expect(chat.windowOpen(NOW)).toBe(true);
    // The failed message went out before the user's latest message: the window that message opened stays open.
    chat.deliveryFailed({ wamid: 'r0', code: 131047, sentAt: NOW - 20_000, windowClosed: true });
    expect(chat.windowOpen(NOW)).toBe(true);
  });
});
