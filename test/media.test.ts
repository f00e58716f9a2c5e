import { burstOf } from './helpers/fake-openai';
import { eventually, KEYS, startHarness, type Harness } from './helpers/harness';
import { randomPhone } from './helpers/webhook-payload';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const SHA = 'b1946ac92492d2347c6235b4d2611184';

test('inbound media, places and button replies reach the LLM as descriptions; media metadata is recorded', async () => {
  const waId = randomPhone();
  const res = await h.inbound([
    { from: waId, type: 'image', extra: { image: { id: 'IMG1', mime_type: 'image/jpeg', sha256: SHA, caption: 'my broken screen' } } },
    {
      from: waId,
      type: 'document',
      extra: { document: { id: 'DOC1', mime_type: 'application/pdf', sha256: SHA, filename: 'invoice-42.pdf', caption: 'this one' } },
    },
    { from: waId, type: 'location', extra: { location: { latitude: 52.52, longitude: 13.405, name: 'Shop', address: 'Main St 1' } } },
    { from: waId, type: 'interactive', extra: { interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes, book it' } } } },
    {
      from: waId,
      type: 'interactive',
      extra: { interactive: { type: 'list_reply', list_reply: { id: 'slot-2', title: 'Tuesday 10:00', description: 'Morning' } } },
    },
    { from: waId, type: 'audio', extra: { audio: { id: 'AUD1', mime_type: 'audio/mpeg', sha256: SHA } } },
    { from: waId, type: 'audio', extra: { audio: { id: 'VOICE1', mime_type: 'audio/ogg; codecs=opus', sha256: SHA, voice: true } } },
  ]);
  expect(res.status).toBe(200);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);

  // One burst, one LLM call: what the model reads for each message.
  const call = h.llm.requests.find((r) => burstOf(r).includes('[image] my broken screen'))!;
  expect(burstOf(call)).toEqual([
    '[image] my broken screen',
    '[document: invoice-42.pdf] this one',
    '[location: Shop, Main St 1 (52.52, 13.405)]',
    'Yes, book it',
    'Tuesday 10:00',
    '[audio]',
    '[voice message]',
  ]);

  const rows = (await h.recorded(waId)).filter((r) => r.direction === 'inbound');
  expect(rows.map((r) => r.message_type)).toEqual(['image', 'document', 'location', 'interactive', 'interactive', 'audio', 'audio']);
  expect(rows[0]!.media).toEqual({ id: 'IMG1', mimeType: 'image/jpeg', sha256: SHA, caption: 'my broken screen' });
  expect(rows[1]!.media).toEqual({ id: 'DOC1', mimeType: 'application/pdf', sha256: SHA, caption: 'this one', filename: 'invoice-42.pdf' });
  expect(rows[2]!.media).toBeNull();
  expect(rows[5]!.media).toEqual({ id: 'AUD1', mimeType: 'audio/mpeg', sha256: SHA });
  expect(rows[6]!.media).toEqual({ id: 'VOICE1', mimeType: 'audio/ogg; codecs=opus', sha256: SHA });
});

test('operators send media by id or by link: the Graph body follows the MIME type, and it is recorded', async () => {
  const waId = randomPhone();
  await h.inbound([{ from: waId, text: 'can you send me the photo and the price list?' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);

  const byId = await h.api('POST', '/api/v1/operator-message', {
    body: { phone: waId, media: { id: 'MEDIA-IMG', mimeType: 'image/jpeg', caption: 'the new model' } },
    key: KEYS.operator,
  });
  expect(byId.status).toBe(200);
  const link = 'https://cdn.example.com/files/price-list.pdf';
  const byLink = await h.api('POST', '/api/v1/operator-message', {
    body: { phone: waId, media: { link, mimeType: 'application/pdf', filename: 'price-list.pdf' } },
    key: KEYS.operator,
  });
  expect(byLink.status).toBe(200);

  const [image, document] = h.graph.sentTo(waId).slice(1);
  expect(image!.body).toMatchObject({ messaging_product: 'whatsapp', to: waId, type: 'image', image: { id: 'MEDIA-IMG', caption: 'the new model' } });
  expect(document!.body).toMatchObject({ type: 'document', document: { link, filename: 'price-list.pdf' } });
  expect(byId.body.message_id).toBe(image!.wamid);
  expect(byLink.body.message_id).toBe(document!.wamid);

  const sent = (await h.recorded(waId)).filter((r) => r.sender_type === 'operator');
  expect(sent).toHaveLength(2);
  expect(sent[0]).toMatchObject({
    wamid: image!.wamid,
    message_type: 'image',
    content: 'the new model',
    delivery_status: 'sent',
    media: { id: 'MEDIA-IMG', mimeType: 'image/jpeg', caption: 'the new model' },
  });
  expect(sent[1]).toMatchObject({ wamid: document!.wamid, message_type: 'document', media: { link, mimeType: 'application/pdf', filename: 'price-list.pdf' } });

  // Both joined the chat's context, read the way inbound media are.
  await h.inbound([{ from: waId, text: 'thanks, got them' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(4));
  await h.settled(waId);
  const contents = h.llm.requests[h.llm.requests.length - 1]!.messages.map((m) => m.content);
  expect(contents).toContain('(sent by a human operator) [image] the new model');
  expect(contents).toContain('(sent by a human operator) [document: price-list.pdf]');
});

test('an operator message with both text and media sends the text as the caption', async () => {
  const waId = randomPhone();
  await h.inbound([{ from: waId, text: 'menu please' }]);
  await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);

  const res = await h.api('POST', '/api/v1/operator-message', {
    body: { phone: waId, message: 'Here is our menu', media: { id: 'MENU', mimeType: 'application/pdf', filename: 'menu.pdf' } },
  });
  expect(res.status).toBe(200);
  expect(h.graph.sentTo(waId)[1]!.body).toMatchObject({ type: 'document', document: { id: 'MENU', caption: 'Here is our menu', filename: 'menu.pdf' } });

  // WhatsApp cannot put text on a voice note; rather than drop it silently the API says so.
  const audio = await h.api('POST', '/api/v1/operator-message', {
    body: { phone: waId, message: 'listen to this', media: { id: 'AUD', mimeType: 'audio/ogg' } },
  });
  expect(audio.status).toBe(400);
  expect(audio.body.error.code).toBe('VALIDATION_ERROR');
  expect(h.graph.sentTo(waId)).toHaveLength(2);
});
