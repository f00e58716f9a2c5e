import { signBody, verifySignature } from '../../src/api/webhook/signature';
import { MetaWebhookSchema, parseMetaWebhook } from '../../src/api/webhook/meta-payload';
import { webhookBody } from '../helpers/webhook-payload';

test('signature check accepts Meta-style signatures and rejects everything else', () => {
  const body = Buffer.from('{"a":1}');
  const good = signBody(body, 'secret');
  expect(verifySignature(body, good, 'secret')).toBe(true);
  expect(verifySignature(body, good.toUpperCase().replace('SHA256', 'sha256'), 'secret')).toBe(true);
  expect(verifySignature(body, undefined, 'secret')).toBe(false);
  expect(verifySignature(body, good.slice(0, -2), 'secret')).toBe(false);
  expect(verifySignature(body, good, 'other')).toBe(false);
  expect(verifySignature(Buffer.from('{"a":2}'), good, 'secret')).toBe(false);
});

test('parses messages, contact names and statuses; ignores other fields', () => {
  const payload = webhookBody({
    messages: [
      { from: '4915112345678', text: 'hi', wamid: 'w1', timestamp: 1700000000, name: 'Jo' },
      {
        from: '4915112345678',
        type: 'interactive',
        wamid: 'w2',
        extra: { interactive: { type: 'button_reply', button_reply: { id: 'b1', title: 'Yes please' } } },
      },
      { from: '4915112345678', type: 'audio', wamid: 'w3', extra: { audio: { id: 'A1', mime_type: 'audio/ogg', voice: true } } },
    ],
    statuses: [{ id: 'w0', status: 'delivered', timestamp: '1700000001', recipient_id: '4915112345678' }],
  });
  payload.entry[0]!.changes.push({ field: 'account_update', value: {} } as never);
  const parsed = parseMetaWebhook(MetaWebhookSchema.parse(payload), 1700000005000);
  expect(parsed.messages.map((m) => [m.wamid, m.text, m.answerable])).toEqual([
    ['w1', 'hi', true],
    ['w2', 'Yes please', true],
    ['w3', '[voice message]', true],
  ]);
  expect(parsed.messages[0]).toMatchObject({ waId: '4915112345678', sentAt: 1700000000000, contactName: 'Jo' });
  expect(parsed.messages[2]!.media).toMatchObject({ id: 'A1', mimeType: 'audio/ogg' });
  expect(parsed.receipts).toEqual([{ wamid: 'w0', status: 'delivered', recipientId: '4915112345678', occurredAt: new Date(1700000001000), errors: undefined }]);
  expect(parsed.ignored).toEqual(['field account_update']);
});
