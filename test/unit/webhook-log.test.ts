import { WebhookLogWriter } from '../../src/api/webhook/webhook-log-writer';
import {
  REDACTED_TEXT,
  normalizeNumber,
  redactMetaBody,
  redactTwilioBody,
  webhookLogRow,
  type CapturedRequest,
  type WebhookLogSettings,
} from '../../src/api/webhook/webhook-log';
import type { NewWebhookLog } from '../../src/db/schema';
import { webhookLogRowsDropped, webhookLogRowsWritten } from '../../src/metrics/registry';
import { webhookBody } from '../helpers/webhook-payload';

const quiet = { warn: () => undefined, info: () => undefined };
const settings: WebhookLogSettings = { enabled: true, maxBodyBytes: 65_536, redactText: false };

async function dropped(reason: string): Promise<number> {
  return (await webhookLogRowsDropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}
const written = async () => (await webhookLogRowsWritten.get()).values[0]?.value ?? 0;

const row = (n: number, body = 'x'): NewWebhookLog => ({
  received_at: new Date(),
  provider: 'meta',
  method: 'POST',
  path: `/webhooks/whatsapp?n=${n}`,
  signature: 'valid',
  status_code: 200,
  outcome: 'accepted',
  duration_ms: 1,
  body,
});

describe('the writer queue', () => {
  it('holds at most maxRows (the one being written included) and drops and counts the rest, never waiting', async () => {
    let release!: () => void;
    const inserted: NewWebhookLog[][] = [];
    const insert = (rows: NewWebhookLog[]) => {
      inserted.push(rows);
      return new Promise<void>((resolve) => (release = resolve));
    };
    const writer = new WebhookLogWriter(insert, quiet, { maxRows: 3, batchSize: 2 });
    const before = await dropped('queue_full');
    const accepted = Array.from({ length: 10 }, (_, i) => writer.enqueue(row(i)));
    expect(accepted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(await dropped('queue_full')).toBe(before + 7);
    expect(writer.pending).toBe(3);
    // The first row went into an INSERT at once; the next two wait for it, as one batch.
    expect(inserted.map((b) => b.length)).toEqual([1]);
    release();
    await new Promise((r) => setImmediate(r));
    expect(inserted.map((b) => b.length)).toEqual([1, 2]);
    release();
    await writer.flush();
    expect(writer.pending).toBe(0);
    // Room again once written.
    expect(writer.enqueue(row(11))).toBe(true);
    release();
    await writer.flush();
  });

  it('bounds the bytes held too (each row costs its body and 512 bytes)', async () => {
    const writer = new WebhookLogWriter(() => new Promise(() => undefined), quiet, { maxRows: 100, maxBytes: 3100 });
    expect(writer.enqueue(row(1, 'a'.repeat(1000)))).toBe(true);
    expect(writer.enqueue(row(2, 'b'.repeat(1000)))).toBe(true);
    expect(writer.enqueue(row(3, 'c'.repeat(1000)))).toBe(false);
  });

  it('tries a failing batch a bounded number of times, then drops and counts it; later rows still go', async () => {
    let fail = true;
    let calls = 0;
    const stored: NewWebhookLog[] = [];
    const writer = new WebhookLogWriter(
      async (rows) => {
        calls++;
        if (fail) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        stored.push(...rows);
      },
      quiet,
      { attempts: 3, retryDelayMs: 5 },
    );
    const before = await dropped('write_failed');
    writer.enqueue(row(1));
    writer.enqueue(row(2));
    await writer.flush();
    expect(calls).toBe(3 + 3);
    expect(await dropped('write_failed')).toBe(before + 2);
    fail = false;
    const writtenBefore = await written();
    writer.enqueue(row(3));
    await writer.flush();
    expect(stored.map((r) => r.path)).toEqual(['/webhooks/whatsapp?n=3']);
    expect(await written()).toBe(writtenBefore + 1);
  });

  it('a row Postgres refuses for good costs only that row, and is not retried', async () => {
    const stored: string[] = [];
    let calls = 0;
    const writer = new WebhookLogWriter(
      async (rows) => {
        calls++;
        if (rows.some((r) => r.body === 'bad')) throw Object.assign(new Error('invalid byte sequence'), { code: '22021' });
        stored.push(...rows.map((r) => r.body!));
      },
      quiet,
      { attempts: 3, retryDelayMs: 5, batchSize: 10 },
    );
    writer.enqueue(row(1, 'good 1'));
    writer.enqueue(row(2, 'bad'));
    writer.enqueue(row(3, 'good 2'));
    await writer.flush();
    // The first row alone (the loop started on it), then the other two together, then each of those on its own.
    expect(stored.sort()).toEqual(['good 1', 'good 2']);
    expect(calls).toBe(1 + 1 + 2);
  });
});

const capture = (over: Partial<CapturedRequest> & { note?: CapturedRequest['note'] }): CapturedRequest => ({
  provider: 'meta',
  method: 'POST',
  url: '/webhooks/whatsapp',
  receivedAt: new Date('2026-12-04T10:00:00Z'),
  durationMs: 12.3456,
  statusCode: 200,
  answered: true,
  note: {},
  ...over,
});

describe('a row', () => {
  const meta = webhookBody({
    messages: [
      { from: '15550001111', text: 'my secret text', wamid: 'wamid.A' },
      { from: '15550001111', type: 'image', wamid: 'wamid.B', extra: { image: { id: 'IMG', caption: 'my secret caption' } } },
    ],
    statuses: [{ id: 'wamid.C', status: 'delivered', recipient_id: '15550001111' }],
  });
  const raw = Buffer.from(JSON.stringify(meta));

  it('names the business numbers and message ids of a Meta body, and keeps the body as received', () => {
    const r = webhookLogRow(capture({ note: { raw, json: meta, signature: 'valid', counts: { messages: 2, statuses: 1, skipped: 0 } } }), settings);
    expect(r).toMatchObject({
      business_numbers: ['PNID', '15550000000'],
      message_ids: ['wamid.A', 'wamid.B', 'wamid.C'],
      outcome: 'accepted',
      signature: 'valid',
      messages: 2,
      statuses: 1,
      body: raw.toString(),
      body_bytes: raw.length,
      body_truncated: false,
      body_redacted: false,
      duration_ms: 12.346,
    });
  });

  it('reads a refused body for its ids after the answer, without the handler having parsed it', () => {
    const r = webhookLogRow(capture({ statusCode: 401, note: { raw, signature: 'invalid' } }), settings);
    expect(r).toMatchObject({ outcome: 'signature_refused', signature: 'invalid', message_ids: ['wamid.A', 'wamid.B', 'wamid.C'] });
  });

  it('cuts the body at the byte limit on a character boundary and says so; 0 keeps none', () => {
    const text = Buffer.from(`{"x":"${'é'.repeat(100)}"}`);
    const r = webhookLogRow(capture({ statusCode: 400, note: { raw: text } }), { ...settings, maxBodyBytes: 11 });
    expect(r.body).toBe('{"x":"éé');
    expect(r).toMatchObject({ body_truncated: true, body_bytes: text.length, outcome: 'malformed' });
    const none = webhookLogRow(capture({ note: { raw: text } }), { ...settings, maxBodyBytes: 0 });
    expect(none).toMatchObject({ body: null, body_truncated: true, body_bytes: text.length });
  });

  it('redacts Meta texts and captions, keeping the structure and the ids', () => {
    const redacted = redactMetaBody(meta) as any;
    const messages = redacted.entry[0].changes[0].value.messages;
    expect(messages[0].text.body).toBe(REDACTED_TEXT);
    expect(messages[1].image).toEqual({ id: 'IMG', caption: REDACTED_TEXT });
    expect(messages[0].id).toBe('wamid.A');
    // The original is left alone.
    expect((meta as any).entry[0].changes[0].value.messages[0].text.body).toBe('my secret text');
    const r = webhookLogRow(capture({ note: { raw, json: meta } }), { ...settings, redactText: true });
    expect(r.body).not.toMatch(/secret/);
    expect(JSON.parse(r.body!)).toEqual(redacted);
    expect(r.body_redacted).toBe(true);
  });

  it('keeps no body it cannot redact', () => {
    const r = webhookLogRow(capture({ statusCode: 400, note: { raw: Buffer.from('not json: my secret') } }), { ...settings, redactText: true });
    expect(r).toMatchObject({ body: null, body_redacted: true, body_truncated: true });
  });

  it('redacts Twilio Body, and names To (inbound) or From (status) as the business number', () => {
    const form = 'MessageSid=SM1&From=whatsapp%3A%2B15550001111&To=whatsapp%3A%2B14155238886&Body=my+secret';
    expect(redactTwilioBody(form)).toBe('MessageSid=SM1&From=whatsapp%3A%2B15550001111&To=whatsapp%3A%2B14155238886&Body=%5Bredacted%5D');
    const inbound = webhookLogRow(capture({ provider: 'twilio', url: '/webhooks/twilio', note: { raw: Buffer.from(form) } }), {
      ...settings,
      redactText: true,
    });
    expect(inbound).toMatchObject({ business_numbers: ['14155238886'], message_ids: ['SM1'], body_redacted: true });
    expect(inbound.body).not.toMatch(/secret/);
    const status = webhookLogRow(capture({ provider: 'twilio', url: '/webhooks/twilio/status?key=k1', note: { raw: Buffer.from(form) } }), settings);
    expect(status.business_numbers).toEqual(['15550001111']);
  });

  it('masks the verify token in the path, and names outcomes from the status when no handler did', () => {
    const r = webhookLogRow(
      capture({ method: 'GET', url: '/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=s3cret&hub.challenge=1', statusCode: 403 }),
      settings,
    );
    expect(r.path).toBe('/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=[redacted]&hub.challenge=1');
    expect(r).toMatchObject({ outcome: 'verify_refused', signature: 'not_checked' });
    const outcome = (c: Partial<CapturedRequest>) => webhookLogRow(capture(c), settings).outcome;
    expect(outcome({ method: 'GET', metricOutcome: 'verified' })).toBe('verified');
    expect(outcome({ metricOutcome: 'ignored' })).toBe('ignored');
    expect(outcome({ statusCode: 413 })).toBe('too_large');
    expect(outcome({ statusCode: 502 })).toBe('temporal_unavailable');
    expect(outcome({ statusCode: 503 })).toBe('database_unavailable');
    expect(outcome({ statusCode: 500 })).toBe('error');
    expect(outcome({ statusCode: 404 })).toBe('not_found');
    expect(outcome({ statusCode: null, answered: false })).toBe('aborted');
    expect(outcome({ statusCode: 403, note: { outcome: 'not_configured' } })).toBe('not_configured');
  });

  it('stores no NUL (Postgres text refuses it)', () => {
    const r = webhookLogRow(capture({ statusCode: 400, note: { raw: Buffer.from('a\u0000b') } }), settings);
    expect(r.body).toBe('a\uFFFDb');
  });

  it('normalises numbers that look like phones to digits', () => {
    expect(normalizeNumber('+1 (415) 523-8886')).toBe('14155238886');
    expect(normalizeNumber('PNID')).toBe('PNID');
  });
});
