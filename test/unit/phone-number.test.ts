import { normalizePhone, phoneNumberField } from '../../src/contacts/phone-number';

test.each([
  ['+91 98765 43210', '+919876543210'],
  ['+91-98765-43210', '+919876543210'],
  ['+91 (98765) 43210', '+919876543210'],
  ['0091 98765 43210', '+919876543210'],
  ['00 91 98765 43210', '+919876543210'],
  ['919876543210', '+919876543210'],
  ['  +44 7911 123456 ', '+447911123456'],
])('%s is stored as %s, its wa_id the same digits without "+"', (input, e164) => {
  expect(normalizePhone(input)).toEqual({ ok: true, e164, waId: e164.slice(1) });
});

test.each([
  ['', /required/],
  ['hello', /is not a phone number/],
  ['+91 98765', /too short/],
  ['+91 98765 43210 999', /too long|not a valid/],
  ['+999 1234567', /no valid country code/],
  ['+1 555 123 4567', /not a valid number/],
  ['+91 98765 43210 ext. 12', /extension/],
  ['+91 98765 43210 call me', /is not a phone number/],
])('%j is refused with a reason', (input, reason) => {
  const result = normalizePhone(input);
  expect(result.ok).toBe(false);
  expect(!result.ok && result.reason).toMatch(reason);
});

test('a national number without its country code is refused with a hint to add it', () => {
  const result = normalizePhone('09876543210');
  expect(result).toEqual({ ok: false, reason: expect.stringMatching(/country code, e\.g\. \+91/) });
});

test('the zod field yields E.164 and wa_id, or an issue carrying the reason', () => {
  expect(phoneNumberField.parse('+91 98765 43210')).toEqual({ e164: '+919876543210', waId: '919876543210' });
  const bad = phoneNumberField.safeParse('+91 98765');
  expect(bad.success).toBe(false);
  expect(bad.error?.issues[0]?.message).toMatch(/too short/);
});
