import net, { type AddressInfo } from 'node:net';
import { sealCredentials } from '../src/numbers/credentials';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import pino from 'pino';
import { createApp } from '../src/api/app';
import type { AppDeps } from '../src/api/deps';
import { twilioSignature } from '../src/api/webhook/twilio-signature';
import { TwilioSender } from '../src/channels/twilio';
import { SendError, type WhatsAppSender } from '../src/channels/types';
import { reserveOutbound } from '../src/db/messages';
import { chatWorkflowId } from '../src/workflows/definitions';
import { FakeTwilio, twilioSid } from './helpers/fake-twilio';
import { eventually, startHarness, TEST_SECRETS, type Harness } from './helpers/harness';
import { randomPhone } from './helpers/webhook-payload';

const ACCOUNT_SID = twilioSid('AC');
const AUTH_TOKEN = 'twilio-auth-token-for-tests';
const BUSINESS = '+14155238886';
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

let twilio: FakeTwilio;
/** Another Twilio account, with a number added at run time (issue 13). */
let otherTwilio: FakeTwilio;
const OTHER_SID = twilioSid('AC');
const OTHER_TOKEN = 'other-twilio-account-token';
const OTHER_BUSINESS = '+14155550199';
let h: Harness;
let sender: TwilioSender;

beforeAll(async () => {
  twilio = await new FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, BUSINESS).start();
  otherTwilio = await new FakeTwilio(OTHER_SID, OTHER_TOKEN, OTHER_BUSINESS).start();
  // The sender needs the API's URL for its StatusCallback, known only once the harness listens.
  const late: WhatsAppSender = { provider: 'twilio', send: (to, content, options) => sender.send(to, content, options) };
  // This deployment's number is the Twilio one: messages To it are its, any other To is not answered.
  h = await startHarness({
    sender: late,
    twilio: { authToken: AUTH_TOKEN },
    defaultNumber: { provider: 'twilio', phoneNumberId: '14155238886', displayNumber: BUSINESS },
    settings: { defaultBusinessNumber: '14155238886' },
    twilioBaseUrl: otherTwilio.url,
  });
  sender = new TwilioSender({ baseUrl: twilio.url, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: '14155238886', publicBaseUrl: h.apiUrl });
});
afterAll(async () => {
  await h?.stop();
  await twilio?.stop();
  await otherTwilio?.stop();
});

/** The form Twilio posts for an inbound WhatsApp message. */
function inbound(waId: string, extra: Record<string, string> = {}): Record<string, string> {
  const sid = twilioSid('SM');
  return {
    SmsMessageSid: sid,
    NumMedia: '0',
    ProfileName: 'Ana',
    MessageType: 'text',
    SmsSid: sid,
    WaId: waId,
    SmsStatus: 'received',
    To: `whatsapp:${BUSINESS}`,
    NumSegments: '1',
    MessageSid: sid,
    AccountSid: ACCOUNT_SID,
    From: `whatsapp:+${waId}`,
    ApiVersion: '2010-04-01',
    ...extra,
  };
}

/** POSTs a form to `url`, signed (by default over `url` with the right token) as Twilio does. */
function post(url: string, params: Record<string, string>, signature: string | null = twilioSignature(AUTH_TOKEN, url, params)) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature === null ? {} : { 'x-twilio-signature': signature }) },
    body: new URLSearchParams(params).toString(),
  });
}

const webhookUrl = () => `${h.apiUrl}/webhooks/twilio`;

async function chatExists(waId: string): Promise<boolean> {
  try {
    await h.client.workflow.getHandle(chatWorkflowId(waId)).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

test('the signature is Twilio’s: the example from Twilio’s documentation verifies', () => {
  const params = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' };
  expect(twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', params)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
});

test('a validly signed Twilio message is answered by the bot through Twilio, once however often Twilio delivers it', async () => {
  const waId = randomPhone();
  const form = inbound(waId, { Body: 'hello over twilio' });
  const res = await post(webhookUrl(), form);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
  expect(await res.text()).toBe(EMPTY_TWIML);

  await eventually(() => expect(twilio.sentTo(waId)).toHaveLength(1));
  const sent = twilio.sentTo(waId)[0]!;
  expect(sent).toMatchObject({ to: `whatsapp:+${waId}`, from: `whatsapp:${BUSINESS}`, body: 'Reply to: hello over twilio' });
  expect(sent.sid).toMatch(/^SM[0-9a-f]{32}$/);

  // Twilio retries a webhook it thinks failed: the same MessageSid is not answered again.
  expect((await post(webhookUrl(), form)).status).toBe(200);
  await h.settled(waId);
  expect(twilio.sentTo(waId)).toHaveLength(1);

  const rows = await h.recorded(waId);
  expect(rows.map((r) => [r.direction, r.sender_type, r.wamid, r.content])).toEqual([
    ['inbound', 'user', form.MessageSid, 'hello over twilio'],
    ['outbound', 'bot', sent.sid, 'Reply to: hello over twilio'],
  ]);
  expect(rows[1]!.delivery_status).toBe('sent');
  expect(rows[1]!.metadata).toMatchObject({ provider: 'twilio' });
  // The status callback carries the send's key, so a status can settle a send whose worker died.
  expect(sent.statusCallback).toBe(`${h.apiUrl}/webhooks/twilio/status?key=${encodeURIComponent(rows[1]!.client_key!)}`);
  const conversation = await h.db.selectFrom('conversations').select('contact_name').where('wa_id', '=', waId).executeTakeFirstOrThrow();
  expect(conversation.contact_name).toBe('Ana');
});

test('a forged or missing signature gets 403 and nothing is signalled or recorded', async () => {
  const waId = randomPhone();
  const form = inbound(waId, { Body: 'forged twilio' });
  const attempts: (string | null)[] = [
    null,
    '',
    twilioSignature('some-other-token', webhookUrl(), form),
    // Signed for another URL, or signed and then tampered with.
    twilioSignature(AUTH_TOKEN, 'https://elsewhere.example.com/webhooks/twilio', form),
    twilioSignature(AUTH_TOKEN, webhookUrl(), { ...form, Body: 'something else' }),
  ];
  for (const signature of attempts) {
    const res = await post(webhookUrl(), form, signature);
    expect(res.status).toBe(403);
    const body = (await res.json()) as any;
    expect(body.error).toMatchObject({ code: 'AUTHORIZATION_ERROR', message: expect.stringContaining('X-Twilio-Signature') });
    expect(body.error.request_id).toBeTruthy();
    expect(body.error.timestamp).toBeTruthy();
  }
  await new Promise((r) => setTimeout(r, 500));
  expect(await chatExists(waId)).toBe(false);
  expect(h.llm.requests.some((r) => JSON.stringify(r).includes('forged twilio'))).toBe(false);
  expect(await h.db.selectFrom('conversations').select('id').where('wa_id', '=', waId).execute()).toHaveLength(0);
});

test('media, places and buttons reach the LLM as descriptions; media is kept by link', async () => {
  const waId = randomPhone();
  const mediaUrl = `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${twilioSid('MM')}/Media/${twilioSid('ME')}`;
  const image = inbound(waId, { MessageType: 'image', NumMedia: '1', MediaUrl0: mediaUrl, MediaContentType0: 'image/jpeg', Body: 'my broken screen' });
  expect((await post(webhookUrl(), image)).status).toBe(200);
  await eventually(() => expect(twilio.sentTo(waId)).toHaveLength(1));
  expect(twilio.sentTo(waId)[0]!.body).toBe('Reply to: [image] my broken screen');
  await h.settled(waId);

  const place = inbound(waId, { MessageType: 'location', Latitude: '52.52', Longitude: '13.405', Label: 'Shop', Address: 'Main St 1' });
  expect((await post(webhookUrl(), place)).status).toBe(200);
  await eventually(() => expect(twilio.sentTo(waId)).toHaveLength(2));
  expect(twilio.sentTo(waId)[1]!.body).toBe('Reply to: [location: Shop, Main St 1 (52.52, 13.405)]');
  await h.settled(waId);

  const button = inbound(waId, { MessageType: 'button', Body: 'Yes please', ButtonText: 'Yes please', ButtonPayload: 'yes' });
  expect((await post(webhookUrl(), button)).status).toBe(200);
  await eventually(() => expect(twilio.sentTo(waId)).toHaveLength(3));
  expect(twilio.sentTo(waId)[2]!.body).toBe('Reply to: Yes please');

  const rows = (await h.recorded(waId)).filter((r) => r.direction === 'inbound');
  expect(rows.map((r) => r.message_type)).toEqual(['image', 'location', 'button']);
  expect(rows[0]!.media).toMatchObject({ link: mediaUrl, mimeType: 'image/jpeg' });
});

test('status callbacks move delivery_status forward, keep a failure’s error, and never signal the chat', async () => {
  const waId = randomPhone();
  expect((await post(webhookUrl(), inbound(waId, { Body: 'status please' }))).status).toBe(200);
  await eventually(() => expect(twilio.sentTo(waId)).toHaveLength(1));
  await h.settled(waId);
  const send = twilio.sentTo(waId)[0]!;
  const status = () => h.db.selectFrom('messages').select(['delivery_status', 'error']).where('wamid', '=', send.sid).executeTakeFirstOrThrow();
  const historyBefore = (await h.client.workflow.getHandle(chatWorkflowId(waId)).describe()).historyLength;

  for (const s of ['sent', 'delivered']) expect((await twilio.postStatus(send, s)).status).toBe(204);
  expect((await status()).delivery_status).toBe('delivered');
  // A forged "read" changes nothing.
  const forged = await post(send.statusCallback!, { MessageSid: send.sid, MessageStatus: 'read' }, twilioSignature('wrong', send.statusCallback!, {}));
  expect(forged.status).toBe(403);
  expect((await status()).delivery_status).toBe('delivered');
  expect((await twilio.postStatus(send, 'read')).status).toBe(204);
  // Late, out of order: "read" is not moved back.
  expect((await twilio.postStatus(send, 'sent')).status).toBe(204);
  expect((await status()).delivery_status).toBe('read');
  expect((await h.client.workflow.getHandle(chatWorkflowId(waId)).describe()).historyLength).toBe(historyBefore);

  // Another reply that WhatsApp could not deliver.
  expect((await post(webhookUrl(), inbound(waId, { Body: 'and again' }))).status).toBe(200);
  await eventually(() => expect(twilio.sentTo(waId)).toHaveLength(2));
  await h.settled(waId);
  const second = twilio.sentTo(waId)[1]!;
  const res = await twilio.postStatus(second, 'undelivered', { ErrorCode: '63024', ErrorMessage: 'Invalid message recipient' });
  expect(res.status).toBe(204);
  const row = await h.db.selectFrom('messages').select(['delivery_status', 'error']).where('wamid', '=', second.sid).executeTakeFirstOrThrow();
  expect(row.delivery_status).toBe('failed');
  expect(row.error).toEqual([{ code: 63024, message: 'Invalid message recipient' }]);
});

test('a status callback carrying our send key gives a send whose answer was lost its message sid', async () => {
  const waId = randomPhone();
  const clientKey = `test-key-${twilioSid('SM')}`;
  await reserveOutbound(h.db, { waId, clientKey, senderType: 'bot', text: 'did it go?' }, { kind: 'text' }, 'twilio');
  const sid = twilioSid('SM');
  const url = `${h.apiUrl}/webhooks/twilio/status?key=${encodeURIComponent(clientKey)}`;
  expect((await post(url, { MessageSid: sid, MessageStatus: 'delivered', To: `whatsapp:+${waId}` })).status).toBe(204);
  const row = await h.db.selectFrom('messages').select(['wamid', 'delivery_status']).where('client_key', '=', clientKey).executeTakeFirstOrThrow();
  expect(row).toEqual({ wamid: sid, delivery_status: 'delivered' });
});

test('a reply Twilio refuses with 63016 (outside the 24 h window) is recorded failed and not retried', async () => {
  const waId = randomPhone();
  twilio.faults.push(FakeTwilio.twilioError(400, 63016, 'Failed to send freeform message because you are outside the allowed window.'));
  expect((await post(webhookUrl(), inbound(waId, { Body: 'too late?' }))).status).toBe(200);
  await eventually(async () => {
    const out = (await h.recorded(waId)).filter((r) => r.direction === 'outbound');
    expect(out).toHaveLength(1);
    expect(out[0]!.delivery_status).toBe('failed');
    expect(out[0]!.error).toMatchObject({ code: 63016 });
  });
  await h.settled(waId);
  // The one queued fault answered the only attempt; a retry would have gone through.
  expect(twilio.sentTo(waId)).toHaveLength(0);
});

describe('webhook settings', () => {
  // Each variant's Temporal is unreachable: a request that gets past the signature check answers 502.
  async function withApp(twilioDeps: AppDeps['twilio'], fn: (base: string) => Promise<void>) {
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const app = createApp({
      db: h.db,
      temporal: new Client({ connection }),
      taskQueue: 'unused',
      log: pino({ level: 'silent' }),
      apiKeys: [],
      whatsapp: {},
      twilio: twilioDeps,
      version: 'test',
      temporalTimeoutMs: 1500,
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      server.close();
      await connection.close().catch(() => undefined);
    }
  }

  test('behind a proxy the signature is checked against PUBLIC_BASE_URL; Temporal down answers 5xx so Twilio retries', async () => {
    await withApp({ authToken: AUTH_TOKEN, publicBaseUrl: 'https://bot.example.com/' }, async (base) => {
      const form = inbound(randomPhone(), { Body: 'via proxy' });
      const local = await post(`${base}/webhooks/twilio`, form);
      expect(local.status).toBe(403);
      const res = await post(`${base}/webhooks/twilio`, form, twilioSignature(AUTH_TOKEN, 'https://bot.example.com/webhooks/twilio', form));
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(((await res.json()) as any).error.code).toBe('EXTERNAL_SERVICE_ERROR');
    });
  });

  test('without a token signatures are not checked (development); without Twilio settings (production) nothing is taken', async () => {
    const form = inbound(randomPhone(), { Body: 'unsigned' });
    await withApp({}, async (base) => {
      expect((await post(`${base}/webhooks/twilio`, form, null)).status).toBe(502);
    });
    await withApp(undefined, async (base) => {
      const res = await post(`${base}/webhooks/twilio`, form, null);
      expect(res.status).toBe(403);
      expect(((await res.json()) as any).error.code).toBe('AUTHORIZATION_ERROR');
    });
  });
});

describe('TwilioSender', () => {
  const make = (opts: Partial<ConstructorParameters<typeof TwilioSender>[0]> = {}) =>
    new TwilioSender({ baseUrl: twilio.url, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: `whatsapp:${BUSINESS}`, ...opts });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (err: unknown) => err as SendError,
    );

  test('sends media by link with its caption, templates as their text, and our send key on the status callback', async () => {
    const waId = randomPhone();
    const s = make({ publicBaseUrl: 'https://bot.example.com' });
    const media = await s.send(
      waId,
      { kind: 'media', media: { link: 'https://cdn.example.com/a.jpg', mimeType: 'image/jpeg', caption: 'look' } },
      { callbackData: 'k/1' },
    );
    expect(media.wamid).toMatch(/^MM/);
    const template = { name: 'hello', language: 'en', parameters: [{ name: '1', value: 'Ana' }], text: 'Hello Ana' };
    await s.send(waId, { kind: 'template', template });
    const [first, second] = twilio.sentTo(waId);
    expect(first).toMatchObject({
      mediaUrls: ['https://cdn.example.com/a.jpg'],
      body: 'look',
      statusCallback: 'https://bot.example.com/webhooks/twilio/status?key=k%2F1',
    });
    expect(second).toMatchObject({ body: 'Hello Ana', statusCallback: 'https://bot.example.com/webhooks/twilio/status' });
  });

  test('classifies failures: 63016 and media by Meta id are final, 429 and 5xx retry (Retry-After honoured), timeouts are ambiguous', async () => {
    const waId = randomPhone();
    const text = { kind: 'text' as const, text: 'hi' };

    twilio.faults.push(FakeTwilio.twilioError(400, 63016, 'Failed to send freeform message because you are outside the allowed window.'));
    expect(await failure(make().send(waId, text))).toMatchObject({ retryable: false, code: 63016, ambiguous: false });

    const byId = await failure(make().send(waId, { kind: 'media', media: { id: 'META-MEDIA-1', mimeType: 'image/png' } }));
    expect(byId).toBeInstanceOf(SendError);
    expect(byId).toMatchObject({ retryable: false, message: expect.stringContaining('public URL') });

    twilio.faults.push(FakeTwilio.twilioError(429, 20429, 'Too Many Requests', { 'retry-after': '3' }));
    expect(await failure(make().send(waId, text))).toMatchObject({ retryable: true, code: 20429, retryAfterMs: 3000, ambiguous: false });

    twilio.faults.push(FakeTwilio.twilioError(500, 20500, 'Internal Server Error'));
    expect(await failure(make().send(waId, text))).toMatchObject({ retryable: true, ambiguous: false });

    expect(await failure(make({ authToken: 'wrong' }).send(waId, text))).toMatchObject({ retryable: false, code: 20003 });
    expect(await failure(make({ from: '+15550000000' }).send(waId, text))).toMatchObject({ retryable: false, code: 63007 });

    // A port nobody listens on: refused before anything was sent.
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    expect(await failure(make({ baseUrl: `http://127.0.0.1:${port}` }).send(waId, text))).toMatchObject({ retryable: true, ambiguous: false });
    await twilio.during({ delayMs: 1000 }, async () => {
      expect(await failure(make({ timeoutMs: 100 }).send(waId, text))).toMatchObject({ retryable: true, ambiguous: true });
    });
    // Only the timed-out request reached Twilio's books.
    expect(twilio.sentTo(waId)).toHaveLength(1);
  });
});

test('a Twilio number of another account, added at run time, takes only what its own token signed and answers from itself', async () => {
  const row = await h.db
    .insertInto('whatsapp_numbers')
    .values({
      phone_number_id: OTHER_BUSINESS.slice(1),
      display_number: OTHER_BUSINESS,
      name: 'Other account',
      provider: 'twilio',
      credentials_encrypted: sealCredentials('twilio', { account_sid: OTHER_SID, auth_token: OTHER_TOKEN }, TEST_SECRETS),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  h.numbers.invalidate();
  try {
    const waId = randomPhone();
    const form = inbound(waId, { Body: 'hello other account', To: `whatsapp:${OTHER_BUSINESS}`, AccountSid: OTHER_SID });
    // The environment's token does not speak for another account's number.
    expect((await post(webhookUrl(), form, twilioSignature(AUTH_TOKEN, webhookUrl(), form))).status).toBe(403);
    expect((await post(webhookUrl(), form, twilioSignature(OTHER_TOKEN, webhookUrl(), form))).status).toBe(200);
    await eventually(() => expect(otherTwilio.sentTo(waId)).toHaveLength(1));
    expect(otherTwilio.sentTo(waId)[0]).toMatchObject({ to: `whatsapp:+${waId}`, from: `whatsapp:${OTHER_BUSINESS}`, body: 'Reply to: hello other account' });
    expect(twilio.sentTo(waId)).toHaveLength(0);
    expect((await h.client.workflow.getHandle(chatWorkflowId(waId, row.id)).describe()).searchAttributes).toMatchObject({
      BusinessNumber: [OTHER_BUSINESS.slice(1)],
    });
  } finally {
    await h.db.updateTable('whatsapp_numbers').set({ enabled: false }).where('id', '=', row.id).execute();
    h.numbers.invalidate();
  }
});
