import { cleanText } from '../../db/clean-text';
import type { InboundMessage, MediaInfo } from '../../workflows/definitions';

/**
 * Every inbound message passes through here at the edge (both providers) before it reaches a
 * workflow, so nothing an activity could never write is ever signalled: a NUL in a text makes
 * Postgres refuse the row, and a refused row would stall the chat behind an endless retry.
 */

/** WhatsApp's own limit for a text message; longer (forged or odd) texts are stored cut, flagged. */
export const MAX_INBOUND_TEXT = 4096;
/** Ids, names and media fields are short in every real payload; these caps only stop abuse. */
export const MAX_ID_LENGTH = 256;
const MAX_NAME = 256;
const MAX_TYPE = 40;
const MAX_CAPTION = 1024;
const MAX_FILENAME = 240;
const MAX_MIME = 255;
const MAX_LINK = 2048;

/** Meta redelivers for up to 7 days; anything older than this, or ahead of our clock, is not a real send time. */
const OLDEST_PLAUSIBLE_MS = 30 * 24 * 3600_000;
const FUTURE_SKEW_MS = 3600_000;

function cleanCapped(value: string | undefined, max: number): string | undefined {
  if (value === undefined) return undefined;
  const cleaned = cut(cleanText(value), max);
  return cleaned === '' ? undefined : cleaned;
}

/** Cuts at a code point boundary, so a cut never leaves half an emoji. */
function cut(value: string, max: number): string {
  if (value.length <= max) return value;
  const code = value.charCodeAt(max - 1);
  return value.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

function boundMedia(media: MediaInfo): MediaInfo {
  const out: MediaInfo = {
    id: cleanCapped(media.id, MAX_ID_LENGTH),
    link: cleanCapped(media.link, MAX_LINK),
    mimeType: cleanCapped(media.mimeType, MAX_MIME),
    caption: cleanCapped(media.caption, MAX_CAPTION),
    filename: cleanCapped(media.filename, MAX_FILENAME),
    sha256: cleanCapped(media.sha256, MAX_ID_LENGTH),
  };
  for (const key of Object.keys(out) as (keyof MediaInfo)[]) if (out[key] === undefined) delete out[key];
  return out;
}

/**
 * The message as the chat may carry it: characters Postgres refuses stripped, the text cut at
 * WhatsApp's 4,096 characters (flagged `truncated`), and a send time that cannot be real (a
 * 20-digit timestamp, one from 1970 or next year) replaced by the time it reached us, the
 * original kept in `originalTimestamp`.
 */
export function boundInbound(message: InboundMessage, receivedAt: number, rawTimestamp?: string): InboundMessage {
  const text = cleanText(message.text);
  const out: InboundMessage = {
    ...message,
    type: cut(cleanText(message.type), MAX_TYPE) || 'unknown',
    text: cut(text, MAX_INBOUND_TEXT),
    contactName: cleanCapped(message.contactName, MAX_NAME),
  };
  if (out.contactName === undefined) delete out.contactName;
  if (message.media) out.media = boundMedia(message.media);
  if (text.length > MAX_INBOUND_TEXT) out.truncated = { originalLength: text.length };
  if (!plausibleTime(message.sentAt, receivedAt)) {
    out.sentAt = receivedAt;
    out.originalTimestamp = cut(rawTimestamp ?? String(message.sentAt), 40);
  }
  return out;
}

/** A time a provider could really have sent: not NaN, not 1970, not a 20-digit number, not next year. */
export function plausibleTime(at: number, receivedAt: number): boolean {
  return Number.isSafeInteger(at) && at >= receivedAt - OLDEST_PLAUSIBLE_MS && at <= receivedAt + FUTURE_SKEW_MS;
}

/**
 * Provider-supplied JSON kept as it came (delivery errors): every string cleaned and cut, depth
 * and size bounded, so Postgres jsonb takes it and one status cannot hold up a whole batch.
 */
export function cleanJson(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return cut(cleanText(value), MAX_CAPTION);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (depth >= 4) return undefined;
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => cleanJson(v, depth + 1));
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).slice(0, 30);
    return Object.fromEntries(entries.map(([k, v]) => [cut(cleanText(k), 100), cleanJson(v, depth + 1)]));
  }
  return undefined;
}
