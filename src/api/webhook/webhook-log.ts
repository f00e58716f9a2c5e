import type { Request, RequestHandler, Response } from 'express';
import type { Db } from '../../db/database';
import type { NewWebhookLog, SignatureVerdict, WebhookLogProvider } from '../../db/schema';
import type { Logger } from '../../logger';
import { webhookOutcomeOf } from '../../metrics/webhook';
import { redactUrl } from '../log-redaction';
import { webhookLogWriter } from './webhook-log-writer';

/** How the API records webhook requests (WEBHOOK_LOG_*). */
export interface WebhookLogSettings {
  /** false when WEBHOOK_LOG_RETENTION_DAYS=0: nothing is recorded. */
  enabled: boolean;
  /** WEBHOOK_LOG_MAX_BODY_BYTES: the most of a body a row keeps; 0 keeps none. */
  maxBodyBytes: number;
  /** WEBHOOK_LOG_REDACT_TEXT: message texts and captions replaced by REDACTED_TEXT. */
  redactText: boolean;
}

export const DEFAULT_WEBHOOK_LOG_SETTINGS: WebhookLogSettings = { enabled: true, maxBodyBytes: 65_536, redactText: false };

export function webhookLogSettings(config: {
  WEBHOOK_LOG_RETENTION_DAYS: number;
  WEBHOOK_LOG_MAX_BODY_BYTES: number;
  WEBHOOK_LOG_REDACT_TEXT: boolean;
}): WebhookLogSettings {
  return { enabled: config.WEBHOOK_LOG_RETENTION_DAYS > 0, maxBodyBytes: config.WEBHOOK_LOG_MAX_BODY_BYTES, redactText: config.WEBHOOK_LOG_REDACT_TEXT };
}

/**
 * What a request came to. Most follow from the status code; a handler names the others
 * (setWebhookOutcome's `ignored` and `verified`, `not_configured`).
 */
export const WEBHOOK_LOG_OUTCOMES = [
  'accepted', // 2xx: messages and statuses taken (counts on the row)
  'ignored', // 2xx: validly signed, nothing we act on (another object or field, an SMS, an unknown status)
  'unknown_number', // 2xx: every message was for a number this deployment does not serve, or has disabled: none answered
  'verified', // the GET handshake answered
  'verify_refused', // the GET handshake refused (wrong or no verify token)
  'signature_refused', // 401/403: signature missing or wrong, nothing processed
  'not_configured', // Twilio webhook without Twilio settings (production without TWILIO_AUTH_TOKEN)
  'malformed', // 400: not JSON, or a body the route cannot read
  'too_large', // 413
  'temporal_unavailable', // 502: Temporal did not take the signals in time; the provider retries
  'database_unavailable', // 503: Postgres did not answer (status receipts); the provider retries
  'error', // any other 5xx
  'not_found', // a path or method the webhook does not have
  'aborted', // the caller went away before the answer
] as const;
export type WebhookLogOutcome = (typeof WEBHOOK_LOG_OUTCOMES)[number];

export const SIGNATURE_VERDICTS: readonly SignatureVerdict[] = ['valid', 'missing', 'invalid', 'not_checked'];

export const REDACTED_TEXT = '[redacted]';

/**
 * What a webhook handler tells the log about its request, as it learns it. Setting a field is
 * all a handler does: the row is built and queued after the answer went out.
 */
export interface WebhookLogNote {
  signature?: SignatureVerdict;
  /** The body's bytes as received. */
  raw?: Buffer;
  /** Meta: the body as the handler parsed it (so it is not parsed again). */
  json?: unknown;
  counts?: { messages: number; statuses: number; skipped: number };
  outcome?: WebhookLogOutcome;
  /** Why a request was not accepted, beyond the answer's message (e.g. the Temporal error). */
  error?: string;
  /** The error message the request was answered with (filled in from the JSON error answer). */
  answered?: string;
}

const notes = new WeakMap<Response, WebhookLogNote>();

/** The request's note; a throwaway one when nothing records this request (recording off). */
export function webhookLogOf(res: Response): WebhookLogNote {
  return notes.get(res) ?? {};
}

const MAX_IDS = 200;
const MAX_NUMBERS = 20;
const MAX_ID_CHARS = 256;
const MAX_ERROR_CHARS = 2000;

/** Text Postgres accepts: a NUL in a text column makes it refuse the row. */
// eslint-disable-next-line no-control-regex
const storable = (s: string) => s.replace(/\u0000/g, '\uFFFD');

/** A business number as the filter compares them: digits only when it looks like a phone, else as given. */
export function normalizeNumber(value: string): string {
  const v = value.trim();
  return /^[+\d\s().-]+$/.test(v) ? v.replace(/\D/g, '') : v;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const arrayOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Meta's changes[].value objects of a body, however odd the body is. */
function metaValues(json: unknown): Record<string, unknown>[] {
  const values: Record<string, unknown>[] = [];
  if (!isObject(json)) return values;
  for (const entry of arrayOf(json.entry)) {
    if (!isObject(entry)) continue;
    for (const change of arrayOf(entry.changes)) if (isObject(change) && isObject(change.value)) values.push(change.value);
  }
  return values;
}

/** The business numbers (phone_number_id, display number) and wamids a Meta body names. */
function metaKeys(json: unknown): { numbers: string[]; ids: string[] } {
  const numbers = new Set<string>();
  const ids = new Set<string>();
  const add = (set: Set<string>, v: unknown, max: number, read: (s: string) => string) => {
    const value = typeof v === 'string' && v.length <= MAX_ID_CHARS ? read(v) : '';
    if (value && set.size < max) set.add(value);
  };
  for (const value of metaValues(json)) {
    if (isObject(value.metadata)) {
      add(numbers, value.metadata.phone_number_id, MAX_NUMBERS, normalizeNumber);
      add(numbers, value.metadata.display_phone_number, MAX_NUMBERS, normalizeNumber);
    }
    for (const m of arrayOf(value.messages)) if (isObject(m)) add(ids, m.id, MAX_IDS, (s) => s.trim());
    for (const s of arrayOf(value.statuses)) if (isObject(s)) add(ids, s.id, MAX_IDS, (x) => x.trim());
  }
  return { numbers: [...numbers], ids: [...ids] };
}

/** A copy of a Meta body with every message's text, captions, and picked titles replaced; the structure kept. */
export function redactMetaBody(json: unknown): unknown {
  const copy = structuredClone(json);
  const blank = (o: unknown, key: string) => {
    if (isObject(o) && typeof o[key] === 'string') o[key] = REDACTED_TEXT;
  };
  for (const value of metaValues(copy)) {
    for (const m of arrayOf(value.messages)) {
      if (!isObject(m)) continue;
      blank(m.text, 'body');
      for (const kind of ['image', 'video', 'document', 'sticker', 'audio']) blank(m[kind], 'caption');
      if (isObject(m.interactive)) {
        for (const reply of [m.interactive.button_reply, m.interactive.list_reply]) {
          blank(reply, 'title');
          blank(reply, 'description');
        }
      }
      blank(m.button, 'text');
    }
  }
  return copy;
}

/** The fields of a Twilio form whose values are what the user wrote. */
const TWILIO_TEXT_FIELDS = new Set(['Body', 'ButtonText', 'ListTitle']);

/** A Twilio form body with the message text replaced; every other field as it came. */
export function redactTwilioBody(form: string): string {
  const out = new URLSearchParams();
  for (const [k, v] of new URLSearchParams(form)) out.append(k, TWILIO_TEXT_FIELDS.has(k) ? REDACTED_TEXT : v);
  return out.toString();
}

function twilioKeys(form: string, isStatus: boolean): { numbers: string[]; ids: string[] } {
  const p = new URLSearchParams(form);
  // An inbound message is addressed To the business; a status callback is about a message it sent From it.
  const business = p.get(isStatus ? 'From' : 'To');
  const number = business ? normalizeNumber(business.replace(/^[a-z]+:/i, '')) : '';
  const sid = p.get('MessageSid') ?? p.get('SmsSid');
  return { numbers: number ? [number.slice(0, MAX_ID_CHARS)] : [], ids: sid ? [sid.slice(0, MAX_ID_CHARS)] : [] };
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The first `max` bytes of a text, cut on a character boundary. */
function cut(text: string, max: number): { text: string; truncated: boolean } {
  // At most 3 UTF-8 bytes per UTF-16 unit: a short text needs no encoding to know it fits.
  if (text.length * 3 <= max) return { text, truncated: false };
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return { text, truncated: false };
  return {
    text: bytes
      .subarray(0, max)
      .toString('utf8')
      .replace(/\uFFFD+$/, ''),
    truncated: true,
  };
}

export interface CapturedRequest {
  provider: WebhookLogProvider;
  method: string;
  /** The URL as received, secrets in its query masked (hub.verify_token). */
  url: string;
  receivedAt: Date;
  durationMs: number;
  /** null when no answer went out (the caller left first). */
  statusCode: number | null;
  answered: boolean;
  /** Set by a handler through setWebhookOutcome (metrics): ignored, verified. */
  metricOutcome?: string;
  requestId?: string;
  contentType?: string;
  contentLength?: number;
  note: WebhookLogNote;
}

function outcomeOf(c: CapturedRequest): WebhookLogOutcome {
  if (!c.answered) return 'aborted';
  if (c.note.outcome) return c.note.outcome;
  if (c.metricOutcome === 'ignored' || c.metricOutcome === 'verified') return c.metricOutcome;
  const status = c.statusCode ?? 0;
  if (status < 300) return 'accepted';
  if (c.method === 'GET' && status === 403) return 'verify_refused';
  if (status === 401 || status === 403) return 'signature_refused';
  if (status === 404 || status === 405) return 'not_found';
  if (status === 413) return 'too_large';
  if (status < 500) return 'malformed';
  if (status === 502 || status === 504) return 'temporal_unavailable';
  if (status === 503) return 'database_unavailable';
  return 'error';
}

/** What is kept of the body of a request whose signature is missing or wrong. */
export const UNSIGNED_BODY_BYTES = 2048;

/** The row for one request: bounded, redacted as set, with the ids and numbers its body names. */
export function webhookLogRow(c: CapturedRequest, settings: WebhookLogSettings): NewWebhookLog {
  const { note } = c;
  const raw = note.raw;
  const isForm = c.provider === 'twilio';
  const rawText = raw && raw.length > 0 ? raw.toString('utf8') : undefined;
  // Meta's JSON as the handler parsed it; parsed here only when the handler never got that far
  // (a refused signature), after the answer, to find the ids and numbers it names.
  const json = isForm || rawText === undefined ? undefined : note.json !== undefined ? { ok: true as const, value: note.json } : tryJson(rawText);
  const keys =
    rawText === undefined
      ? { numbers: [], ids: [] }
      : isForm
        ? twilioKeys(rawText, /\/status\/?(\?|$)/.test(c.url))
        : json?.ok
          ? metaKeys(json.value)
          : { numbers: [], ids: [] };

  let body: string | null = null;
  let redacted = false;
  let truncated = false;
  const bodyBytes = raw?.length ?? c.contentLength ?? 0;
  if (rawText !== undefined && settings.maxBodyBytes > 0) {
    let text: string | undefined = rawText;
    if (settings.redactText) {
      redacted = true;
      if (isForm) text = redactTwilioBody(rawText);
      else if (json?.ok) {
        try {
          text = JSON.stringify(redactMetaBody(json.value));
        } catch {
          text = undefined;
        }
      }
      // A body that cannot be read cannot be redacted: it is not kept.
      else text = undefined;
    }
    if (text !== undefined) {
      // Anyone can post to the webhooks: a request whose signature is missing or wrong keeps only a
      // short prefix, so unsigned traffic cannot fill the table (and the disk) at 64 KB a request.
      const unsigned = note.signature === 'missing' || note.signature === 'invalid';
      const bounded = cut(text, unsigned ? Math.min(settings.maxBodyBytes, UNSIGNED_BODY_BYTES) : settings.maxBodyBytes);
      body = storable(bounded.text);
      truncated = bounded.truncated;
    } else truncated = true;
  } else truncated = bodyBytes > 0;

  const error = note.error ?? note.answered;
  return {
    received_at: c.receivedAt,
    provider: c.provider,
    method: c.method.slice(0, 16),
    path: storable(redactUrl(c.url)).slice(0, 2000),
    business_numbers: keys.numbers.map(storable),
    signature: note.signature ?? 'not_checked',
    status_code: c.statusCode,
    outcome: outcomeOf(c),
    messages: note.counts?.messages ?? 0,
    statuses: note.counts?.statuses ?? 0,
    skipped: note.counts?.skipped ?? 0,
    error: error === undefined ? null : storable(error).slice(0, MAX_ERROR_CHARS),
    duration_ms: Math.round(c.durationMs * 1000) / 1000,
    request_id: c.requestId ? storable(c.requestId).slice(0, 200) : null,
    content_type: c.contentType ? storable(c.contentType).slice(0, 200) : null,
    body,
    body_bytes: bodyBytes,
    body_truncated: truncated,
    body_redacted: redacted,
    message_ids: keys.ids.map(storable),
  };
}

/**
 * Records every request of a webhook router: `router.use(webhookLog('meta', deps))`. The row is
 * built when the response closes (after the answer went out) and queued for the writer; nothing
 * here can delay, fail or change the answer.
 */
export function webhookLog(provider: WebhookLogProvider, deps: { db: Db; log: Logger; webhookLogs?: WebhookLogSettings }): RequestHandler {
  const settings = deps.webhookLogs ?? DEFAULT_WEBHOOK_LOG_SETTINGS;
  if (!settings.enabled) return (_req, _res, next) => next();
  const writer = webhookLogWriter(deps.db, deps.log);
  return (req, res, next) => {
    try {
      const receivedAt = new Date();
      const started = process.hrtime.bigint();
      let finished: bigint | undefined;
      const note: WebhookLogNote = {};
      notes.set(res, note);
      // The answer's error message, whichever layer wrote it (the route, a body parser, the error middleware).
      const json = res.json;
      res.json = function (this: Response, body?: unknown) {
        const e = isObject(body) && isObject(body.error) ? body.error : undefined;
        if (e && typeof e.message === 'string') note.answered = `${String(e.code ?? 'ERROR')}: ${e.message}`;
        return json.call(this, body);
      } as Response['json'];
      res.once('finish', () => {
        finished = process.hrtime.bigint();
      });
      res.once('close', () => {
        try {
          const row = webhookLogRow(
            {
              provider,
              method: req.method,
              url: req.originalUrl,
              receivedAt,
              durationMs: Number((finished ?? process.hrtime.bigint()) - started) / 1e6,
              statusCode: res.writableFinished || res.headersSent ? res.statusCode : null,
              answered: res.writableFinished,
              metricOutcome: webhookOutcomeOf(res),
              requestId: requestIdOf(req, res),
              contentType: req.get('content-type'),
              contentLength: Number(req.get('content-length')) || undefined,
              note,
            },
            settings,
          );
          writer.enqueue(row);
        } catch (err) {
          deps.log.warn({ err }, 'webhook log row not built');
        }
      });
    } catch (err) {
      deps.log.warn({ err }, 'webhook log not set up for this request');
    }
    next();
  };
}

function requestIdOf(req: Request, res: Response): string | undefined {
  const id = (req as { id?: unknown }).id ?? res.getHeader('x-request-id');
  return id === undefined || id === null ? undefined : String(id);
}
