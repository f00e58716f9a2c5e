/**
 * Webhook logs (issue 13, item 3; seed 003): every request the Meta and Twilio webhooks receive is
 * recorded after it is answered, with its signature verdict, status, outcome and (bounded,
 * redactable) body; admins list, filter and read them; a Postgres that cannot take the rows
 * changes nothing for the webhook; the retention Schedule deletes old rows in batches.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { signBody } from '../src/api/webhook/signature';
import { twilioSignature } from '../src/api/webhook/twilio-signature';
import { createDb } from '../src/db/database';
import { webhookLogRowsDropped } from '../src/metrics/registry';
import { ensureWebhookLogRetentionSchedule } from '../src/temporal/webhook-log-retention';
import { workflowIds } from '../src/temporal/workflow-ids';
import { WEBHOOK_LOG_RETENTION_WORKFLOW_TYPE, type WebhookLogRetentionResult } from '../src/workflows/webhook-log-definitions';
import { twilioSid } from './helpers/fake-twilio';
import { APP_SECRET, KEYS, eventually, startHarness, type Harness } from './helpers/harness';
import { NumberRegistry } from '../src/numbers/registry';
import { newWamid, randomPhone, webhookBody } from './helpers/webhook-payload';

const TWILIO_TOKEN = 'twilio-auth-token-for-webhook-logs';
const BUSINESS = '+14155238886';

let h: Harness;
/** The harness's API with the Twilio webhook configured (the main one has no Twilio settings). */
let twilioApi: string;
/** A Twilio deployment's numbers: its default number is BUSINESS, so Twilio's messages To it are answered. */
let twilioNumbers: NumberRegistry;
const started = new Date();

beforeAll(async () => {
  h = await startHarness();
  twilioNumbers = new NumberRegistry({ db: h.db, defaultNumber: { provider: 'twilio', phoneNumberId: BUSINESS.slice(1) } });
  twilioApi = await h.serveApi({ twilio: { authToken: TWILIO_TOKEN }, numbers: twilioNumbers });
});
afterAll(async () => {
  await h?.stop();
});

/** The log rows a query finds, once the expected number of them has been written. */
async function logs(query: string, count = 1): Promise<any[]> {
  return eventually(async () => {
    const res = await h.api('GET', `/api/v1/webhook-logs?${query}`);
    expect(res.status).toBe(200);
    expect(res.body.webhook_logs).toHaveLength(count);
    return res.body.webhook_logs;
  });
}
const since = () => `from=${encodeURIComponent(started.toISOString())}`;
const detail = async (id: string) => (await h.api('GET', `/api/v1/webhook-logs/${id}`)).body;

function signedMeta(
  messages: { from: string; text?: string; wamid: string; type?: string; extra?: Record<string, unknown> }[],
  statuses?: Record<string, unknown>[],
) {
  const body = JSON.stringify(webhookBody({ messages, statuses }));
  return { body, headers: { 'x-hub-signature-256': signBody(body, APP_SECRET) } };
}

function twilioForm(waId: string, extra: Record<string, string> = {}): Record<string, string> {
  const sid = twilioSid('SM');
  return {
    MessageSid: sid,
    SmsSid: sid,
    AccountSid: twilioSid('AC'),
    From: `whatsapp:+${waId}`,
    To: `whatsapp:${BUSINESS}`,
    WaId: waId,
    Body: 'hello from twilio',
    NumMedia: '0',
    ...extra,
  };
}

function postTwilio(base: string, path: string, params: Record<string, string>, signature: string | null) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature === null ? {} : { 'x-twilio-signature': signature }) },
    body: new URLSearchParams(params).toString(),
  });
}

describe('Meta', () => {
  it('records an accepted POST: number, ids, signature, status, counts, duration, request id, and the body as received', async () => {
    const waId = randomPhone();
    const [a, b, receipt] = [newWamid(), newWamid(), newWamid()];
    const { body, headers } = signedMeta(
      [
        { from: waId, text: 'first', wamid: a },
        { from: waId, text: 'second', wamid: b },
      ],
      [{ id: receipt, status: 'delivered', recipient_id: waId, timestamp: String(Math.floor(Date.now() / 1000)) }],
    );
    const res = await h.postRaw(body, headers);
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');

    const [row] = await logs(`message_id=${encodeURIComponent(b)}`);
    expect(row).toMatchObject({
      provider: 'meta',
      method: 'POST',
      path: '/webhooks/whatsapp',
      business_numbers: ['PNID', '15550000000'],
      signature: 'valid',
      status_code: 200,
      outcome: 'accepted',
      messages: 2,
      statuses: 1,
      skipped: 0,
      error: null,
      request_id: requestId,
      content_type: 'application/json',
      body_bytes: Buffer.byteLength(body),
      body_truncated: false,
      body_redacted: false,
    });
    expect(row.message_ids).toEqual([a, b, receipt]);
    expect(row.duration_ms).toBeGreaterThan(0);
    expect(row.body).toBeUndefined();
    expect(new Date(row.received_at).getTime()).toBeGreaterThanOrEqual(started.getTime());

    const one = await detail(row.id);
    expect(one.body).toBe(body);
    expect(one.body_json).toEqual(JSON.parse(body));
    await h.settled(waId);
  });

  it('records refused signatures (missing, wrong) with the ids their bodies name, and the legacy path', async () => {
    const wamid = newWamid();
    const { body } = signedMeta([{ from: randomPhone(), text: 'forged', wamid }]);
    expect((await h.postRaw(body, {})).status).toBe(401);
    expect((await h.postRaw(body, { 'x-hub-signature-256': signBody(body, 'another-secret') })).status).toBe(401);
    const legacy = await fetch(`${h.apiUrl}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=nothex' },
      body,
    });
    expect(legacy.status).toBe(401);

    const rows = await logs(`message_id=${encodeURIComponent(wamid)}`, 3);
    // Newest first.
    expect(rows.map((r) => [r.path, r.signature, r.status_code, r.outcome])).toEqual([
      ['/webhook', 'invalid', 401, 'signature_refused'],
      ['/webhooks/whatsapp', 'invalid', 401, 'signature_refused'],
      ['/webhooks/whatsapp', 'missing', 401, 'signature_refused'],
    ]);
    expect(rows[0].error).toBe('AUTHENTICATION_ERROR: Missing or invalid X-Hub-Signature-256');
    expect(rows.every((r) => r.messages === 0)).toBe(true);
    // Refused, but its body is there to compare with what Meta says it sent.
    expect((await detail(rows[2].id)).body).toBe(body);
  });

  it('records a malformed body, an event it ignores, and the verify handshake without its token', async () => {
    const marker = randomBytes(6).toString('hex');
    const notJson = `not json ${marker}`;
    expect((await h.postRaw(notJson, { 'x-hub-signature-256': signBody(notJson, APP_SECRET) })).status).toBe(400);
    const [malformed] = await logs(`search=${marker}`);
    expect(malformed).toMatchObject({ signature: 'valid', status_code: 400, outcome: 'malformed', error: 'VALIDATION_ERROR: Request body is not valid JSON' });
    expect((await detail(malformed.id)).body).toBe(notJson);

    const other = JSON.stringify({ object: 'page', entry: [], marker });
    expect((await h.postRaw(other, { 'x-hub-signature-256': signBody(other, APP_SECRET) })).status).toBe(200);
    const [ignored] = await logs(`search=${marker}&outcome=ignored`);
    expect(ignored).toMatchObject({ status_code: 200, signature: 'valid', messages: 0 });

    const challenge = `c${marker}`;
    expect((await fetch(`${h.apiUrl}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=${challenge}`)).status).toBe(200);
    expect((await fetch(`${h.apiUrl}/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=${challenge}`)).status).toBe(403);
    const handshakes = await logs(`method=GET&${since()}`, 2);
    expect(handshakes.map((r) => [r.path, r.outcome, r.status_code, r.signature])).toEqual([
      [`/webhook?hub.mode=subscribe&hub.verify_token=[redacted]&hub.challenge=${challenge}`, 'verify_refused', 403, 'not_checked'],
      [`/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=[redacted]&hub.challenge=${challenge}`, 'verified', 200, 'not_checked'],
    ]);
    expect(JSON.stringify(handshakes)).not.toContain('verify-me');
  });

  it('records a 502 when Temporal cannot take the messages, with the cause', async () => {
    const { Client, Connection } = await import('@temporalio/client');
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const url = await h.serveApi({ temporal: new Client({ connection }), temporalTimeoutMs: 1000 });
    const wamid = newWamid();
    const { body, headers } = signedMeta([{ from: randomPhone(), text: 'lost?', wamid }]);
    const res = await fetch(`${url}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    expect(res.status).toBe(502);
    const [row] = await logs(`message_id=${encodeURIComponent(wamid)}`);
    expect(row).toMatchObject({ status_code: 502, outcome: 'temporal_unavailable', signature: 'valid', messages: 1 });
    expect(row.error).toMatch(/^not accepted: /);
    await connection.close().catch(() => undefined);
  });
});

describe('Twilio', () => {
  it('records accepted messages and status callbacks with the business number and the SID', async () => {
    const waId = randomPhone();
    const inbound = twilioForm(waId);
    const url = `${twilioApi}/webhooks/twilio`;
    const res = await postTwilio(twilioApi, '/webhooks/twilio', inbound, twilioSignature(TWILIO_TOKEN, url, inbound));
    expect(res.status).toBe(200);
    const [row] = await logs(`message_id=${inbound.MessageSid}`);
    expect(row).toMatchObject({
      provider: 'twilio',
      path: '/webhooks/twilio',
      business_numbers: ['14155238886'],
      signature: 'valid',
      status_code: 200,
      outcome: 'accepted',
      messages: 1,
      statuses: 0,
      content_type: 'application/x-www-form-urlencoded',
    });
    const one = await detail(row.id);
    expect(one.body).toBe(new URLSearchParams(inbound).toString());
    expect(one.body_json).toMatchObject({ MessageSid: inbound.MessageSid, Body: 'hello from twilio' });

    // A status callback is about a message the business sent: From is the business number.
    const status = { MessageSid: twilioSid('SM'), MessageStatus: 'delivered', From: `whatsapp:${BUSINESS}`, To: `whatsapp:+${waId}` };
    const statusUrl = `${twilioApi}/webhooks/twilio/status?key=k1`;
    expect((await postTwilio(twilioApi, '/webhooks/twilio/status?key=k1', status, twilioSignature(TWILIO_TOKEN, statusUrl, status))).status).toBe(204);
    const [receipt] = await logs(`message_id=${status.MessageSid}`);
    expect(receipt).toMatchObject({
      path: '/webhooks/twilio/status?key=k1',
      business_numbers: ['14155238886'],
      status_code: 204,
      outcome: 'accepted',
      statuses: 1,
      messages: 0,
    });
    await h.settled(waId);
  });

  it('records forged and unsigned requests, and the webhook without Twilio settings', async () => {
    const forged = twilioForm(randomPhone());
    expect((await postTwilio(twilioApi, '/webhooks/twilio', forged, 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=')).status).toBe(403);
    const [invalid] = await logs(`message_id=${forged.MessageSid}`);
    expect(invalid).toMatchObject({ provider: 'twilio', signature: 'invalid', status_code: 403, outcome: 'signature_refused' });

    const unsigned = twilioForm(randomPhone());
    expect((await postTwilio(twilioApi, '/webhooks/twilio', unsigned, null)).status).toBe(403);
    expect((await logs(`message_id=${unsigned.MessageSid}`))[0]).toMatchObject({ signature: 'missing', outcome: 'signature_refused' });

    // The main harness has no Twilio settings (production without TWILIO_AUTH_TOKEN): refused as such.
    const unconfigured = twilioForm(randomPhone());
    expect((await postTwilio(h.apiUrl, '/webhooks/twilio', unconfigured, null)).status).toBe(403);
    expect((await logs(`message_id=${unconfigured.MessageSid}`))[0]).toMatchObject({ signature: 'not_checked', outcome: 'not_configured', status_code: 403 });
  });
});

describe('settings', () => {
  it('cuts a body at WEBHOOK_LOG_MAX_BODY_BYTES and says so', async () => {
    const url = await h.serveApi({ webhookLogs: { enabled: true, maxBodyBytes: 300, redactText: false } });
    const waId = randomPhone();
    const wamid = newWamid();
    const { body, headers } = signedMeta([{ from: waId, text: 'x'.repeat(2000), wamid }]);
    expect((await fetch(`${url}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })).status).toBe(200);
    const [row] = await logs(`message_id=${encodeURIComponent(wamid)}`);
    expect(row).toMatchObject({ body_truncated: true, body_bytes: Buffer.byteLength(body), outcome: 'accepted' });
    const one = await detail(row.id);
    expect(one.body).toBe(body.slice(0, 300));
    expect(one.body_json).toBeNull();
    await h.settled(waId);
  });

  it('replaces message texts and captions with WEBHOOK_LOG_REDACT_TEXT, keeping the structure', async () => {
    const redacting = { enabled: true, maxBodyBytes: 65_536, redactText: true };
    const url = await h.serveApi({ webhookLogs: redacting });
    const twilioUrl = await h.serveApi({ webhookLogs: redacting, twilio: { authToken: TWILIO_TOKEN }, numbers: twilioNumbers });
    const waId = randomPhone();
    const [a, b] = [newWamid(), newWamid()];
    const { body, headers } = signedMeta([
      { from: waId, text: 'my card number is 4111', wamid: a },
      { from: waId, type: 'image', wamid: b, extra: { image: { id: 'IMG9', mime_type: 'image/jpeg', caption: 'my passport' } } },
    ]);
    expect((await fetch(`${url}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })).status).toBe(200);
    const [row] = await logs(`message_id=${encodeURIComponent(a)}`);
    const one = await detail(row.id);
    expect(one.body_redacted).toBe(true);
    expect(one.body).not.toMatch(/4111|passport/);
    const messages = one.body_json.entry[0].changes[0].value.messages;
    expect(messages[0]).toMatchObject({ id: a, from: waId, type: 'text', text: { body: '[redacted]' } });
    expect(messages[1]).toMatchObject({ id: b, image: { id: 'IMG9', mime_type: 'image/jpeg', caption: '[redacted]' } });
    // The redacted text cannot be searched for.
    expect((await h.api('GET', `/api/v1/webhook-logs?search=4111&${since()}`)).body.total).toBe(0);

    const form = twilioForm(randomPhone(), { Body: 'my pin is 9876' });
    expect((await postTwilio(twilioUrl, '/webhooks/twilio', form, twilioSignature(TWILIO_TOKEN, `${twilioUrl}/webhooks/twilio`, form))).status).toBe(200);
    const [tw] = await logs(`message_id=${form.MessageSid}`);
    const twDetail = await detail(tw.id);
    expect(twDetail.body).not.toContain('9876');
    expect(twDetail.body_json).toMatchObject({ Body: '[redacted]', MessageSid: form.MessageSid, To: `whatsapp:${BUSINESS}` });
    await h.settled(waId);
    await h.settled(form.WaId!);
  });

  it('records nothing when turned off (WEBHOOK_LOG_RETENTION_DAYS=0)', async () => {
    const url = await h.serveApi({ webhookLogs: { enabled: false, maxBodyBytes: 65_536, redactText: false } });
    const waId = randomPhone();
    const wamid = newWamid();
    const { body, headers } = signedMeta([{ from: waId, text: 'unlogged', wamid }]);
    expect((await fetch(`${url}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })).status).toBe(200);
    await h.settled(waId);
    expect((await h.api('GET', `/api/v1/webhook-logs?message_id=${encodeURIComponent(wamid)}`)).body.total).toBe(0);
  });

  it('a Postgres that cannot take the rows changes nothing for the webhook: the rows are dropped and counted', async () => {
    const dead = createDb('postgres://postgres@127.0.0.1:1/nothing', 2);
    try {
      const url = await h.serveApi({ db: dead, log: pino({ level: 'silent' }) });
      const droppedBefore = await droppedWrites();
      const waId = randomPhone();
      const answers: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { body, headers } = signedMeta([{ from: waId, text: `still answered ${i}`, wamid: newWamid() }]);
        const t0 = Date.now();
        const res = await fetch(`${url}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
        answers.push(res.status);
        // Answered at Temporal's pace, not after the log's failing writes and their retries (~2 s).
        expect(Date.now() - t0).toBeLessThan(1500);
      }
      expect(answers).toEqual([200, 200, 200]);
      await eventually(async () => expect(await droppedWrites()).toBeGreaterThanOrEqual(droppedBefore + 3), 20_000);
      await eventually(() => expect(h.graph.sentTo(waId).length).toBeGreaterThan(0));
      await h.settled(waId);
    } finally {
      await dead.destroy();
    }
  });
});

async function droppedWrites(): Promise<number> {
  return (await webhookLogRowsDropped.get()).values.find((v) => v.labels.reason === 'write_failed')?.value ?? 0;
}

describe('the admin routes', () => {
  it('filter by provider, number, signature, status code or class, outcome, time, and page with limit and offset (or skip)', async () => {
    const t0 = new Date();
    const waId = randomPhone();
    const wamids = [newWamid(), newWamid(), newWamid()];
    for (const wamid of wamids) {
      const { body, headers } = signedMeta([{ from: waId, text: 'filters', wamid }]);
      expect((await h.postRaw(body, headers)).status).toBe(200);
    }
    await logs(`from=${encodeURIComponent(t0.toISOString())}`, 3);
    const t1 = new Date();
    const forged = signedMeta([{ from: waId, text: 'filters', wamid: newWamid() }]);
    expect((await h.postRaw(forged.body, {})).status).toBe(401);
    const from = `from=${encodeURIComponent(t0.toISOString())}`;
    await logs(`${from}&provider=meta`, 4);

    const count = async (q: string) => (await h.api('GET', `/api/v1/webhook-logs?${from}&${q}`)).body.total;
    expect(await count('signature=missing')).toBe(1);
    expect(await count('signature=valid')).toBe(3);
    expect(await count('status=401')).toBe(1);
    expect(await count('status_code=200')).toBe(3);
    expect(await count('status=4xx')).toBe(1);
    expect(await count('status=2XX')).toBe(3);
    expect(await count('has_error=true')).toBe(1);
    expect(await count('outcome=accepted')).toBe(3);
    expect(await count('outcome=signature_refused&provider=meta')).toBe(1);
    expect(await count('provider=twilio')).toBe(0);
    expect(await count('number=PNID')).toBe(4);
    expect(await count(`number=${encodeURIComponent('+1 555-000-0000')}`)).toBe(4);
    expect(await count('number=15559999999')).toBe(0);
    expect(await count(`to=${encodeURIComponent(t1.toISOString())}`)).toBe(3);
    // Seed names for the range: start_date and end_date.
    expect((await h.api('GET', `/api/v1/webhook-logs?start_date=${encodeURIComponent(t1.toISOString())}&provider=meta`)).body.total).toBe(1);
    expect(await count('search=filters')).toBe(4);

    const page = await h.api('GET', `/api/v1/webhook-logs?${from}&limit=2&offset=1`);
    expect(page.body).toMatchObject({ total: 4, limit: 2, offset: 1 });
    const all = (await h.api('GET', `/api/v1/webhook-logs?${from}`)).body.webhook_logs.map((r: any) => r.id);
    expect(page.body.webhook_logs.map((r: any) => r.id)).toEqual(all.slice(1, 3));
    expect((await h.api('GET', `/api/v1/webhook-logs?${from}&limit=2&skip=2`)).body.webhook_logs.map((r: any) => r.id)).toEqual(all.slice(2, 4));

    const stats = await h.api('GET', `/api/v1/webhook-logs/stats?${from}`);
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({
      total: 4,
      by_outcome: { accepted: 3, signature_refused: 1 },
      by_provider: { meta: 4 },
      by_signature: { valid: 3, missing: 1 },
      by_status: { '2xx': 3, '4xx': 1 },
    });
    expect(stats.body.duration_ms.max).toBeGreaterThan(0);
    await h.settled(waId);
  });

  it('refuse bad filters and unknown parameters, and answer 404 for a log that does not exist', async () => {
    for (const q of ['status=42', 'status=6xx', 'outcome=maybe', 'provider=sms', 'from=yesterday', 'bogus=1', 'limit=0', 'offset=1&skip=1']) {
      const res = await h.api('GET', `/api/v1/webhook-logs?${q}`);
      expect({ q, status: res.status, code: res.body.error?.code }).toEqual({ q, status: 400, code: 'VALIDATION_ERROR' });
    }
    const backwards = await h.api('GET', `/api/v1/webhook-logs?from=2026-12-04T10:00:00Z&to=2026-12-04T09:00:00Z`);
    expect(backwards.status).toBe(400);
    expect((await h.api('GET', '/api/v1/webhook-logs/999999999999')).status).toBe(404);
    expect((await h.api('GET', '/api/v1/webhook-logs/not-an-id')).status).toBe(404);
  });

  it('are for admins only', async () => {
    const [row] = (await h.api('GET', '/api/v1/webhook-logs?limit=1')).body.webhook_logs;
    for (const key of [KEYS.operator, KEYS.viewer, KEYS.marketer, KEYS.sales]) {
      for (const path of ['/api/v1/webhook-logs', '/api/v1/webhook-logs/stats', `/api/v1/webhook-logs/${row.id}`]) {
        const res = await h.api('GET', path, { key });
        expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 403, code: 'AUTHORIZATION_ERROR' });
      }
    }
    expect((await h.api('GET', '/api/v1/webhook-logs', { key: null })).status).toBe(401);
  });
});

describe('retention', () => {
  async function plant(daysAgo: number[]): Promise<string[]> {
    const rows = await h.db
      .insertInto('webhook_logs')
      .values(
        daysAgo.map((d) => ({
          received_at: new Date(Date.now() - d * 86_400_000),
          provider: 'meta' as const,
          method: 'POST',
          path: '/webhooks/whatsapp',
          signature: 'valid' as const,
          status_code: 200,
          outcome: 'accepted',
          duration_ms: 1,
        })),
      )
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }
  const remaining = async (ids: string[]) => (await h.db.selectFrom('webhook_logs').select('id').where('id', 'in', ids).execute()).map((r) => r.id).sort();

  it('the retention workflow deletes rows older than the setting in bounded batches and keeps newer ones', async () => {
    const old = await plant([40, 35, 31, 30.5, 30.1]);
    const recent = await plant([29, 1, 0]);
    const result: WebhookLogRetentionResult = await h.client.workflow.execute(WEBHOOK_LOG_RETENTION_WORKFLOW_TYPE, {
      taskQueue: h.taskQueue,
      workflowId: `webhook-log-retention-test-${randomBytes(4).toString('hex')}`,
      args: [{ retentionDays: 30, batchSize: 2 }],
    });
    expect(result).toMatchObject({ deleted: 5, batches: 3, more: false });
    expect(await remaining([...old, ...recent])).toEqual([...recent].sort());
    await h.db.deleteFrom('webhook_logs').where('id', 'in', recent).execute();
  });

  it('stops at maxBatches and says more is left', async () => {
    const old = await plant([50, 50, 50]);
    const result: WebhookLogRetentionResult = await h.client.workflow.execute(WEBHOOK_LOG_RETENTION_WORKFLOW_TYPE, {
      taskQueue: h.taskQueue,
      workflowId: `webhook-log-retention-test-${randomBytes(4).toString('hex')}`,
      args: [{ retentionDays: 45, batchSize: 1, maxBatches: 2 }],
    });
    expect(result).toMatchObject({ deleted: 2, batches: 2, more: true });
    expect(await remaining(old)).toHaveLength(1);
    await h.db.deleteFrom('webhook_logs').where('id', 'in', old).execute();
  });

  it('the Schedule is created once, updated when the setting changes, and prunes when it fires', async () => {
    const ids = workflowIds(`wlr-${randomBytes(3).toString('hex')}-`);
    expect(ids.webhookLogRetentionSchedule).toMatch(/^wlr-[0-9a-f]{6}-webhook-log-retention$/);
    try {
      expect(await ensureWebhookLogRetentionSchedule(h.client, h.taskQueue, 21, ids)).toBe('created');
      expect(await ensureWebhookLogRetentionSchedule(h.client, h.taskQueue, 21, ids)).toBe('unchanged');
      expect(await ensureWebhookLogRetentionSchedule(h.client, h.taskQueue, 20, ids)).toBe('updated');
      const handle = h.client.schedule.getHandle(ids.webhookLogRetentionSchedule);
      const described = await handle.describe();
      expect(described.action).toMatchObject({
        workflowType: WEBHOOK_LOG_RETENTION_WORKFLOW_TYPE,
        workflowId: ids.webhookLogRetentionWorkflow,
        taskQueue: h.taskQueue,
        args: [{ retentionDays: 20 }],
      });
      expect(described.spec.intervals).toEqual([expect.objectContaining({ every: 3_600_000 })]);

      const old = await plant([25, 21]);
      const recent = await plant([19]);
      await handle.trigger();
      await eventually(async () => expect(await remaining([...old, ...recent])).toEqual(recent), 20_000);
      await h.db.deleteFrom('webhook_logs').where('id', 'in', recent).execute();
    } finally {
      await h.client.schedule
        .getHandle(ids.webhookLogRetentionSchedule)
        .delete()
        .catch(() => undefined);
    }
  });
});
