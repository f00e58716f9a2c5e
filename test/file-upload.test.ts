/**
 * File uploads (issue 13, item 4): POST /api/v1/files/upload takes a multipart file, checks its
 * type against its bytes and WhatsApp's limits while it streams, uploads it to Graph once per
 * content (the fake Graph counts), and operators send it with media: {file_id}. On Twilio the
 * file is kept here and served at an unguessable link that Twilio (the fake) fetches.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { sql } from 'kysely';
import { TwilioSender } from '../src/channels/twilio';
import type { MediaSettings } from '../src/media/files';
import { FakeGraph } from './helpers/fake-graph';
import { FakeTwilio, twilioSid } from './helpers/fake-twilio';
import { APP_SECRET, KEYS, eventually, startHarness, type Harness } from './helpers/harness';
import { randomPhone } from './helpers/webhook-payload';

const MB = 1024 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const png = (size = 4000) => Buffer.concat([PNG_SIGNATURE, randomBytes(size - 8)]);
const jpeg = (size = 4000) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(size - 4)]);
const gif = (size = 4000) => Buffer.concat([Buffer.from('GIF89a'), randomBytes(size - 6)]);
function webp(size: number, animated: boolean): Buffer {
  const header = Buffer.alloc(21);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(size - 8, 4);
  header.write('WEBP', 8, 'latin1');
  header.write(animated ? 'VP8X' : 'VP8 ', 12, 'latin1');
  header.writeUInt32LE(10, 16);
  header[20] = animated ? 0x02 : 0x00;
  return Buffer.concat([header, randomBytes(size - header.length)]);
}
const opus = (size = 4000) => Buffer.concat([Buffer.from('OggS'), Buffer.alloc(24), Buffer.from('OpusHead'), randomBytes(size - 36)]);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Uploaded {
  status: number;
  body: any;
}

async function upload(
  apiUrl: string,
  bytes: Buffer,
  type: string,
  filename = 'file.bin',
  opts: { key?: string | null; fields?: Record<string, string>; path?: string } = {},
): Promise<Uploaded> {
  const form = new FormData();
  for (const [name, value] of Object.entries(opts.fields ?? {})) form.append(name, value);
  form.append('file', new Blob([bytes], { type }), filename);
  const key = opts.key === undefined ? KEYS.operator : opts.key;
  const res = await fetch(`${apiUrl}${opts.path ?? '/api/v1/files/upload'}`, {
    method: 'POST',
    headers: key ? { authorization: `Bearer ${key}` } : {},
    body: form,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** Temporary upload files left on disk: none once a request is answered. */
const leftovers = async () => (await readdir(tmpdir())).filter((f) => f.startsWith('whatsapp-upload-'));

describe('on Meta (Graph)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterEach(() => {
    h.graph.uploadFaults.length = 0;
    h.graph.faults.length = 0;
    h.graph.onUpload = undefined;
    h.graph.receiptsTo = undefined;
  });
  afterAll(() => h?.stop());

  const stored = (hash: string) => h.db.selectFrom('media_files').selectAll().where('sha256', '=', hash).execute();

  /** A chat that wrote to us (so free-form messages may go out), with the bot's reply sent. */
  async function openChat(): Promise<string> {
    const waId = randomPhone();
    await h.inbound([{ from: waId, text: 'send me the picture please' }]);
    await eventually(() => expect(h.graph.sentTo(waId)).toHaveLength(1));
    await h.settled(waId);
    return waId;
  }

  test('a PNG is uploaded to Graph once; the same bytes again answer the same file without calling Graph', async () => {
    const bytes = png();
    const first = await upload(h.apiUrl, bytes, 'image/png', 'photo.png');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      media_id: expect.any(String),
      url: null,
      provider: 'meta',
      state: 'ready',
      mime_type: 'image/png',
      size: bytes.length,
      size_bytes: bytes.length,
      filename: 'photo.png',
      sha256: sha256(bytes),
      created_by: 'key:operator-key',
    });
    expect(first.body.file_id).toBe(first.body.id);
    // Graph keeps it 30 days.
    const days = (Date.parse(first.body.expires_at) - Date.parse(first.body.uploaded_at)) / 86_400_000;
    expect(days).toBeCloseTo(30, 3);

    const taken = h.graph.uploads.filter((u) => u.sha256 === sha256(bytes));
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({
      phoneNumberId: 'PNID',
      id: first.body.media_id,
      type: 'image/png',
      fileType: 'image/png',
      filename: 'photo.png',
      size: bytes.length,
      authorization: 'Bearer graph-token',
    });

    // Again (a retry), by anyone allowed, under either path: the stored file, and Graph is not called.
    const again = await upload(h.apiUrl, bytes, 'image/png', 'photo.png', { key: KEYS.sales });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: first.body.id, media_id: first.body.media_id, filename: 'photo.png', created_by: 'key:operator-key' });
    const alias = await upload(h.apiUrl, bytes, 'image/png', 'photo.png', { path: '/api/v1/files' });
    expect(alias.status).toBe(200);
    expect(alias.body.id).toBe(first.body.id);
    expect(h.graph.uploads.filter((u) => u.sha256 === sha256(bytes))).toHaveLength(1);
    expect(await stored(sha256(bytes))).toHaveLength(1);
    // The same bytes under another name or caption are another operator's file: never answered
    // with the first one's name or caption, which would go out with their message.
    const renamed = await upload(h.apiUrl, bytes, 'image/png', 'other-name.png', { key: KEYS.sales, fields: { caption: 'Hi Mary' } });
    expect(renamed.status).toBe(201);
    expect(renamed.body).toMatchObject({ filename: 'other-name.png', caption: 'Hi Mary', created_by: 'key:sales-key' });
    expect(renamed.body.id).not.toBe(first.body.id);
    expect(h.graph.uploads.filter((u) => u.sha256 === sha256(bytes))).toHaveLength(2);

    const read = await h.api('GET', `/api/v1/files/${first.body.id}`, { key: KEYS.viewer });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: first.body.id, media_id: first.body.media_id, mime_type: 'image/png' });
    expect((await h.api('GET', `/api/v1/files/${randomUUID()}`)).status).toBe(404);
  });

  test('two uploads of the same bytes at once upload once and answer the same file', async () => {
    const bytes = jpeg(20_000);
    const [a, b] = await h.graph.during({ delayMs: 400 }, () =>
      Promise.all([upload(h.apiUrl, bytes, 'image/jpeg', 'a.jpg'), upload(h.apiUrl, bytes, 'image/jpeg', 'a.jpg', { key: KEYS.sales })]),
    );
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body.id).toBe(b.body.id);
    expect(a.body.media_id).toBe(b.body.media_id);
    expect(h.graph.uploads.filter((u) => u.sha256 === sha256(bytes))).toHaveLength(1);
  });

  test('a type WhatsApp does not take is a 415, and nothing is stored or uploaded', async () => {
    const before = h.graph.uploads.length;
    const bytes = gif();
    const res = await upload(h.apiUrl, bytes, 'image/gif', 'anim.gif');
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      details: { declared: 'image/gif', supported: expect.arrayContaining(['image/png', 'application/pdf']) },
    });
    // Untyped, the bytes decide: still a GIF.
    expect((await upload(h.apiUrl, bytes, '', 'anim.gif')).status).toBe(415);
    // OGG that is not Opus (Vorbis): WhatsApp takes Opus only.
    const vorbis = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(24), Buffer.from('\u0001vorbis'), randomBytes(100)]);
    expect((await upload(h.apiUrl, vorbis, 'audio/ogg', 'song.ogg')).status).toBe(415);
    // Not multipart at all.
    const json = await h.api('POST', '/api/v1/files/upload', { body: { file: 'aGVsbG8=' }, key: KEYS.operator });
    expect(json.status).toBe(415);
    expect(json.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(h.graph.uploads.length).toBe(before);
    expect(await stored(sha256(bytes))).toEqual([]);
    expect(await leftovers()).toEqual([]);
  });

  test('a file whose bytes are not the type it claims is refused', async () => {
    const before = h.graph.uploads.length;
    const notPng = jpeg();
    const res = await upload(h.apiUrl, notPng, 'image/png', 'photo.png');
    expect(res.status).toBe(415);
    expect(res.body.error.message).toMatch(/claims to be image\/png but its bytes are JPEG/);
    expect((await upload(h.apiUrl, png(), 'application/pdf', 'invoice.pdf')).status).toBe(415);
    expect((await upload(h.apiUrl, Buffer.from('just some text, not a PDF'), 'application/pdf', 'invoice.pdf')).status).toBe(415);
    expect(h.graph.uploads.length).toBe(before);
    expect(await stored(sha256(notPng))).toEqual([]);

    // An untyped part is typed by its bytes; the name decides what the bytes cannot (text, Office).
    const untyped = await upload(h.apiUrl, png(), 'application/octet-stream', 'x.bin');
    expect(untyped.status).toBe(201);
    expect(untyped.body.mime_type).toBe('image/png');
    const text = await upload(h.apiUrl, Buffer.from(`price list ${randomUUID()}\nitem 1: 10 EUR\n`), 'application/octet-stream', 'prices.txt');
    expect(text.status).toBe(201);
    expect(text.body.mime_type).toBe('text/plain');
    // Aliases and parameters: image/jpg is image/jpeg, audio/ogg; codecs=opus is audio/ogg.
    expect((await upload(h.apiUrl, jpeg(), 'image/jpg', 'p.jpg')).body.mime_type).toBe('image/jpeg');
    expect((await upload(h.apiUrl, opus(), 'audio/ogg; codecs=opus', 'voice.ogg')).body.mime_type).toBe('audio/ogg');
  });

  test('a file over the limit for its type is a 413 while it streams, and nothing is stored or uploaded', async () => {
    const before = h.graph.uploads.length;
    const big = png(5 * MB + 1);
    const res = await upload(h.apiUrl, big, 'image/png', 'huge.png');
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { mime_type: 'image/png', max_bytes: 5 * MB } });
    expect(await stored(sha256(big))).toEqual([]);
    // Exactly at the limit is fine.
    expect((await upload(h.apiUrl, png(5 * MB), 'image/png', 'max.png')).status).toBe(201);
    // Stickers: 100 KB static, 500 KB animated.
    expect((await upload(h.apiUrl, webp(101 * 1024, false), 'image/webp', 's.webp')).status).toBe(413);
    expect((await upload(h.apiUrl, webp(101 * 1024, true), 'image/webp', 'a.webp')).status).toBe(201);
    expect((await upload(h.apiUrl, webp(501 * 1024, true), 'image/webp', 'a.webp')).status).toBe(413);
    expect(h.graph.uploads.length).toBe(before + 2);
    expect(await leftovers()).toEqual([]);
  });

  test('operators and sales may upload; viewers and marketers may not, and nothing is read from them', async () => {
    const bytes = png();
    expect((await upload(h.apiUrl, bytes, 'image/png', 'p.png', { key: KEYS.viewer })).status).toBe(403);
    expect((await upload(h.apiUrl, bytes, 'image/png', 'p.png', { key: KEYS.marketer })).status).toBe(403);
    expect((await upload(h.apiUrl, bytes, 'image/png', 'p.png', { key: null })).status).toBe(401);
    expect(await stored(sha256(bytes))).toEqual([]);
    expect((await upload(h.apiUrl, bytes, 'image/png', 'p.png', { key: KEYS.sales })).status).toBe(201);
    expect((await upload(h.apiUrl, png(), 'image/png', 'p.png', { key: KEYS.admin })).status).toBe(201);
  });

  test('form fields: filename and caption are kept, seed 000 fields are taken, unknown ones refused', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(3000)]);
    const res = await upload(h.apiUrl, pdf, 'application/pdf', 'tmp-123.pdf', {
      fields: { filename: 'Price list 2027.pdf', caption: 'Our prices', conversation_id: 'conv_1', metadata: '{"source":"crm"}' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ filename: 'Price list 2027.pdf', caption: 'Our prices', mime_type: 'application/pdf' });
    expect(h.graph.uploads.find((u) => u.id === res.body.media_id)?.filename).toBe('Price list 2027.pdf');

    const unknown = await upload(h.apiUrl, png(), 'image/png', 'p.png', { fields: { colour: 'blue' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/colour/);
    expect((await upload(h.apiUrl, png(), 'image/png', 'p.png', { fields: { metadata: 'not json' } })).status).toBe(400);
    // WhatsApp puts no caption on audio.
    expect((await upload(h.apiUrl, opus(), 'audio/ogg', 'v.ogg', { fields: { caption: 'listen' } })).status).toBe(400);
    // No file part.
    const form = new FormData();
    form.append('caption', 'nothing attached');
    const none = await fetch(`${h.apiUrl}/api/v1/files/upload`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.operator}` }, body: form });
    expect(none.status).toBe(400);
    expect(((await none.json()) as any).error.message).toMatch(/file is required/);
    // A refused form leaves no temporary file behind, even when its file part came after the refusal.
    expect(await leftovers()).toEqual([]);
  });

  test('a part without a Content-Type is typed by its bytes', async () => {
    const bytes = png();
    const boundary = `----test${randomUUID()}`;
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="raw.png"\r\n\r\n`),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await fetch(`${h.apiUrl}/api/v1/files/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.operator}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as any).mime_type).toBe('image/png');
  });

  test('Graph failing once is retried; Graph down is a 502 and leaves nothing stored', async () => {
    const bytes = png();
    h.graph.uploadFaults.push(FakeGraph.graphError(500, 1, 'An unknown error occurred'));
    const res = await upload(h.apiUrl, bytes, 'image/png', 'p.png');
    expect(res.status).toBe(201);
    expect(h.graph.uploads.filter((u) => u.sha256 === sha256(bytes))).toHaveLength(1);

    const down = png();
    for (let i = 0; i < 3; i++) h.graph.uploadFaults.push(FakeGraph.graphError(503, 2, 'Service temporarily unavailable'));
    const failed = await upload(h.apiUrl, down, 'image/png', 'p.png');
    expect(failed.status).toBe(502);
    expect(failed.body.error).toMatchObject({ code: 'EXTERNAL_SERVICE_ERROR', details: { provider: 'meta', provider_code: 2 } });
    expect(await stored(sha256(down))).toEqual([]);
    // Graph refusing for good is not retried.
    h.graph.uploadFaults.push(FakeGraph.graphError(400, 131053, 'Media upload error'));
    const before = h.graph.uploadFaults.length;
    expect((await upload(h.apiUrl, down, 'image/png', 'p.png')).status).toBe(502);
    expect(h.graph.uploadFaults.length).toBe(before - 1);
    // And once Graph is back the same bytes upload.
    expect((await upload(h.apiUrl, down, 'image/png', 'p.png')).status).toBe(201);
  });

  test('an upload left half done by a request that died is taken over; one in progress is waited for', async () => {
    // Died between Graph's answer and the update: the row stays 'uploading', long ago.
    const bytes = png();
    const orphan = randomUUID();
    await h.db
      .insertInto('media_files')
      .values({
        id: orphan,
        sha256: sha256(bytes),
        mime_type: 'image/png',
        size: bytes.length,
        filename: 'p.png',
        caption: null,
        provider: 'meta',
        state: 'uploading',
        upload_claim: randomUUID(),
        upload_started_at: new Date(Date.now() - 10 * 60_000),
        created_by: 'key:operator-key',
      })
      .execute();
    const res = await upload(h.apiUrl, bytes, 'image/png', 'p.png');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: orphan, state: 'ready', media_id: expect.any(String) });
    expect(h.graph.uploads.filter((u) => u.sha256 === sha256(bytes))).toHaveLength(1);

    // Another request uploading these bytes right now: this one waits for its answer and uploads nothing.
    const busy = png();
    const other = randomUUID();
    await h.db
      .insertInto('media_files')
      .values({
        id: other,
        sha256: sha256(busy),
        mime_type: 'image/png',
        size: busy.length,
        filename: 'p.png',
        caption: null,
        provider: 'meta',
        state: 'uploading',
        upload_claim: randomUUID(),
        upload_started_at: new Date(),
        created_by: 'key:sales-key',
      })
      .execute();
    const waiting = upload(h.apiUrl, busy, 'image/png', 'p.png');
    await new Promise((r) => setTimeout(r, 800));
    await h.db
      .updateTable('media_files')
      .set({
        state: 'ready',
        provider_media_id: 'MEDIA-BY-THE-OTHER',
        upload_claim: null,
        upload_started_at: null,
        uploaded_at: new Date(),
        expires_at: new Date(Date.now() + 30 * 86_400_000),
      })
      .where('id', '=', other)
      .execute();
    const answered = await waiting;
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ id: other, media_id: 'MEDIA-BY-THE-OTHER' });
    expect(h.graph.uploads.filter((u) => u.sha256 === sha256(busy))).toEqual([]);
  });

  test('an operator message with media {file_id} sends the media id once, even when the send is retried', async () => {
    const waId = await openChat();
    const file = (await upload(h.apiUrl, png(), 'image/png', 'menu.png', { fields: { caption: 'Today' } })).body;

    // Graph fails the first send with a 5xx: the activity retries and the image goes out once.
    h.graph.faults.push(FakeGraph.graphError(500, 1, 'An unknown error occurred'));
    const res = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, media: { file_id: file.id } }, key: KEYS.operator });
    expect(res.status).toBe(200);
    const sends = h.graph.sentTo(waId).slice(1);
    expect(sends).toHaveLength(1);
    expect(sends[0]!.body).toMatchObject({ type: 'image', image: { id: file.media_id, caption: 'Today' } });
    expect(res.body.message_id).toBe(sends[0]!.wamid);

    // Graph takes the send and the answer is lost (connection cut): the retry finds the receipt and does not send again.
    h.graph.receiptsTo = { url: `${h.apiUrl}/webhooks/whatsapp`, appSecret: APP_SECRET };
    h.graph.dropAfterHandling = 1;
    const cut = await h.api('POST', '/api/v1/operator-message', {
      body: { phone: waId, message: 'the new menu', media: { file_id: file.id } },
      key: KEYS.operator,
    });
    expect(cut.status).toBe(200);
    await h.settled(waId);
    const all = h.graph.sentTo(waId).slice(1);
    expect(all).toHaveLength(2);
    expect(all[1]!.body).toMatchObject({ type: 'image', image: { id: file.media_id, caption: 'the new menu' } });
    expect(cut.body.message_id).toBe(all[1]!.wamid);

    const sent = (await h.recorded(waId)).filter((r) => r.sender_type === 'operator');
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatchObject({
      wamid: sends[0]!.wamid,
      message_type: 'image',
      media: { id: file.media_id, mimeType: 'image/png', caption: 'Today', filename: 'menu.png' },
    });
    expect(sent[1]).toMatchObject({ wamid: all[1]!.wamid, media: { id: file.media_id, caption: 'the new menu' } });
    // Nothing uploaded again for the sends.
    expect(h.graph.uploads.filter((u) => u.sha256 === file.sha256)).toHaveLength(1);
  }, 90_000);

  test('documents keep their name; a file_id that names nothing, or text on audio, is a 400', async () => {
    const waId = await openChat();
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(5000)]);
    const doc = (await upload(h.apiUrl, pdf, 'application/pdf', 'Offer.pdf')).body;
    const res = await h.api('POST', `/api/v1/operator-message`, {
      body: { phone: waId, message: 'here it is', media: { file_id: doc.id } },
      key: KEYS.operator,
    });
    expect(res.status).toBe(200);
    expect(h.graph.sentTo(waId)[1]!.body).toMatchObject({ type: 'document', document: { id: doc.media_id, filename: 'Offer.pdf', caption: 'here it is' } });

    const missing = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, media: { file_id: randomUUID() } }, key: KEYS.operator });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details[0].field).toBe('media.file_id');
    const both = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, media: { file_id: doc.id, id: 'X' } }, key: KEYS.operator });
    expect(both.status).toBe(400);
    const voice = (await upload(h.apiUrl, opus(), 'audio/ogg', 'v.ogg')).body;
    const onAudio = await h.api('POST', '/api/v1/operator-message', {
      body: { phone: waId, message: 'listen', media: { file_id: voice.id } },
      key: KEYS.operator,
    });
    expect(onAudio.status).toBe(400);
    const wrongType = await h.api('POST', '/api/v1/operator-message', {
      body: { phone: waId, media: { file_id: doc.id, mimeType: 'image/png' } },
      key: KEYS.operator,
    });
    expect(wrongType.status).toBe(400);
    expect(h.graph.sentTo(waId)).toHaveLength(2);

    // The other routes that send take it too.
    const conv = await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId).executeTakeFirstOrThrow();
    const viaConversation = await h.api('POST', `/api/v1/conversations/${conv.id}/messages`, { body: { media: { file_id: voice.id } }, key: KEYS.operator });
    expect(viaConversation.status).toBe(201);
    expect(h.graph.sentTo(waId)[2]!.body).toMatchObject({ type: 'audio', audio: { id: voice.media_id } });
  });

  test('an expired Graph copy is refused with 409 until the same bytes are uploaded again, which keeps the file id', async () => {
    const waId = await openChat();
    const bytes = png();
    const file = (await upload(h.apiUrl, bytes, 'image/png', 'old.png')).body;
    // 29.5 days later: within a day of Graph's 30, taken as expired.
    await h.db
      .updateTable('media_files')
      .set({ expires_at: sql<Date>`now() + interval '12 hours'` })
      .where('id', '=', file.id)
      .execute();
    const refused = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, media: { file_id: file.id } }, key: KEYS.operator });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'CONFLICT', details: { reason: 'media_expired', file_id: file.id } });
    expect(h.graph.sentTo(waId)).toHaveLength(1);

    const again = await upload(h.apiUrl, bytes, 'image/png', 'old.png');
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(file.id);
    expect(again.body.media_id).not.toBe(file.media_id);
    expect(Date.parse(again.body.expires_at)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(h.graph.uploads.filter((u) => u.sha256 === sha256(bytes))).toHaveLength(2);

    const sent = await h.api('POST', '/api/v1/operator-message', { body: { phone: waId, media: { file_id: file.id } }, key: KEYS.operator });
    expect(sent.status).toBe(200);
    expect(h.graph.sentTo(waId)[1]!.body).toMatchObject({ image: { id: again.body.media_id } });
  });
});

describe('on Twilio (media by URL)', () => {
  const ACCOUNT_SID = twilioSid('AC');
  const AUTH_TOKEN = 'twilio-auth-token-for-uploads';
  let twilio: FakeTwilio;
  let h: Harness;
  const media: MediaSettings = { provider: 'twilio' };

  beforeAll(async () => {
    twilio = await new FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, '+14155238886').start();
    twilio.fetchMedia = true;
    const sender = new TwilioSender({ baseUrl: twilio.url, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: '14155238886' });
    h = await startHarness({ sender, media });
  });
  afterAll(async () => {
    await h?.stop();
    await twilio?.stop();
  });

  test('without PUBLIC_BASE_URL an upload is refused, saying which setting is missing', async () => {
    const res = await upload(h.apiUrl, png(), 'image/png', 'p.png');
    expect(res.status).toBe(409);
    expect(res.body.error.details).toEqual({ reason: 'not_configured', setting: 'PUBLIC_BASE_URL' });
    expect(res.body.error.message).toMatch(/PUBLIC_BASE_URL/);
  });

  test('the file is kept and served at an unguessable link, which Twilio fetches for the message', async () => {
    media.publicBaseUrl = h.apiUrl;
    const bytes = png(3 * MB);
    const res = await upload(h.apiUrl, bytes, 'image/png', 'shop.png');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      provider: 'twilio',
      media_id: null,
      expires_at: null,
      url: expect.stringMatching(new RegExp(`^${h.apiUrl}/media/[A-Za-z0-9_-]{43}$`)),
    });
    expect((await upload(h.apiUrl, bytes, 'image/png', 'shop.png')).body.url).toBe(res.body.url);

    const served = await fetch(res.body.url);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(sha256(Buffer.from(await served.arrayBuffer()))).toBe(sha256(bytes));
    expect((await fetch(`${h.apiUrl}/media/${'A'.repeat(43)}`)).status).toBe(404);
    expect((await fetch(`${h.apiUrl}/media/short`)).status).toBe(404);

    // Twilio takes no Word documents, and at most 16 MB.
    const docx = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), randomBytes(2000)]);
    expect((await upload(h.apiUrl, docx, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'a.docx')).status).toBe(415);

    const waId = randomPhone();
    await h.inbound([{ from: waId, text: 'where is the shop?' }]);
    await eventually(() => expect(twilio.sentTo(waId)).toHaveLength(1));
    await h.settled(waId);
    const sent = await h.api('POST', '/api/v1/operator-message', {
      body: { phone: waId, message: 'Here', media: { file_id: res.body.id } },
      key: KEYS.operator,
    });
    expect(sent.status).toBe(200);
    const [, mediaSend] = twilio.sentTo(waId);
    expect(mediaSend).toMatchObject({ mediaUrls: [res.body.url], body: 'Here' });
    expect(twilio.mediaFetches.filter((f) => f.url === res.body.url)).toEqual([
      { url: res.body.url, status: 200, contentType: 'image/png', size: bytes.length, sha256: sha256(bytes) },
    ]);
    expect(mediaSend!.sid).toBe(sent.body.message_id);
  });
});
