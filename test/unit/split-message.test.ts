import { splitMessage } from '../../src/workflows/split-message';

test('short text stays one part', () => {
  expect(splitMessage('hello')).toEqual(['hello']);
});

test('splits at paragraph, then line, then word boundaries within the limit', () => {
  const a = 'a'.repeat(60);
  const b = 'b'.repeat(60);
  expect(splitMessage(`${a}\n\n${b}`, 100)).toEqual([a, b]);
  expect(splitMessage(`${a}\n${b}`, 100)).toEqual([a, b]);
  expect(splitMessage(`${'word '.repeat(30).trim()}`, 50).every((p) => p.length <= 50 && !p.startsWith(' '))).toBe(true);
});

test('a single word longer than the limit is cut hard, nothing is lost', () => {
  const long = 'x'.repeat(250);
  const parts = splitMessage(long, 100);
  expect(parts).toEqual(['x'.repeat(100), 'x'.repeat(100), 'x'.repeat(50)]);
});

test('every part of a long reply fits WhatsApp and the words survive in order', () => {
  const text = Array.from({ length: 3000 }, (_, i) => `w${i}`).join(' ');
  const parts = splitMessage(text);
  expect(parts.every((p) => p.length <= 4096)).toBe(true);
  expect(parts.join(' ')).toBe(text);
});
