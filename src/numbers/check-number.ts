import type { SecretBox } from '../crypto/secrets';
import { openCredentials } from './credentials';
import { digitsOf, type BusinessNumber } from './registry';

/**
 * Whether a stored number can work: its credentials decrypt here, and its provider accepts them
 * for that number, with one read-only call (nothing is sent). validate-config prints one line
 * per number from it, and POST /api/v1/numbers/:id/check answers it.
 */
export interface NumberCheck {
  status: 'pass' | 'warn' | 'fail';
  detail: string;
}

export interface ProviderUrls {
  graphBaseUrl: string;
  twilioBaseUrl: string;
}

const TIMEOUT_MS = 8000;

type CheckedNumber = Pick<BusinessNumber, 'id' | 'provider' | 'phoneNumberId' | 'credentialsEncrypted'>;

export async function checkNumber(number: CheckedNumber, secrets: SecretBox | undefined, urls: ProviderUrls, timeoutMs = TIMEOUT_MS): Promise<NumberCheck> {
  let creds;
  try {
    creds = openCredentials(number, secrets);
  } catch (err) {
    return { status: 'fail', detail: (err as Error).message };
  }
  if (creds.provider === 'meta') return checkMeta(urls.graphBaseUrl, number.phoneNumberId, creds.accessToken, timeoutMs);
  if (creds.provider === 'twilio') return checkTwilio(urls.twilioBaseUrl, digitsOf(number.phoneNumberId), creds, timeoutMs);
  return { status: 'pass', detail: 'console provider: outbound messages are logged and stored, nothing leaves the machine' };
}

/** What Graph says of a phone number id and a token (validate-config reads the environment's number with it too). */
export type MetaLookup =
  { ok: true; described: string } | { ok: false; tokenRefused: boolean; what: string } | { ok: false; unreachable: string; base: string };

/** Graph's own read of the number (GET /{phone-number-id}): the token must be allowed to see it. */
export async function lookupMetaNumber(baseUrl: string, phoneNumberId: string, token: string | undefined, timeoutMs = TIMEOUT_MS): Promise<MetaLookup> {
  const base = baseUrl.replace(/\/$/, '');
  const url = `${base}/${encodeURIComponent(phoneNumberId)}?fields=display_phone_number,verified_name`;
  const got = await getJson(url, `Bearer ${token}`, timeoutMs);
  if ('unreachable' in got) return { ok: false, unreachable: got.unreachable, base };
  const { status, body } = got;
  if (status >= 200 && status < 300) {
    const name = typeof body.verified_name === 'string' ? ` (${body.verified_name})` : '';
    return { ok: true, described: `the access token works; phone number id ${phoneNumberId} is ${String(body.display_phone_number ?? 'unknown')}${name}` };
  }
  const error = (body.error ?? {}) as { code?: number; message?: string };
  const what = `${status}${error.code ? ` code ${error.code}` : ''}: ${error.message ?? 'no error message'}`;
  // 190 is Graph's "invalid OAuth access token", whatever the HTTP status.
  return { ok: false, tokenRefused: status === 401 || error.code === 190, what };
}

async function checkMeta(baseUrl: string, phoneNumberId: string, token: string, timeoutMs: number): Promise<NumberCheck> {
  const found = await lookupMetaNumber(baseUrl, phoneNumberId, token, timeoutMs);
  if (found.ok) return { status: 'pass', detail: found.described };
  if ('unreachable' in found) return { status: 'fail', detail: `cannot reach ${found.base} (${found.unreachable})` };
  if (found.tokenRefused) return { status: 'fail', detail: `token refused by the Graph API (${found.what})` };
  return { status: 'fail', detail: `the Graph API answered ${found.what} for phone number id ${phoneNumberId}` };
}

/**
 * The account's own list of its numbers, filtered to this one: the SID and token must work, and
 * the number should be the account's. A number it does not list (the WhatsApp sandbox's, say)
 * may still send, so that is a warning.
 */
async function checkTwilio(baseUrl: string, digits: string, creds: { accountSid: string; authToken: string }, timeoutMs: number): Promise<NumberCheck> {
  const base = baseUrl.replace(/\/$/, '');
  const sid = creds.accountSid;
  const url = `${base}/2010-04-01/Accounts/${sid}/IncomingPhoneNumbers.json?PhoneNumber=%2B${digits}`;
  const basic = Buffer.from(`${sid}:${creds.authToken}`).toString('base64');
  const got = await getJson(url, `Basic ${basic}`, timeoutMs);
  if ('unreachable' in got) return { status: 'fail', detail: `cannot reach ${base} (${got.unreachable})` };
  const { status, body } = got;
  if (status >= 200 && status < 300) {
    const listed = Array.isArray(body.incoming_phone_numbers) ? (body.incoming_phone_numbers as { phone_number?: string; friendly_name?: string }[]) : [];
    const mine = listed.find((n) => digitsOf(n.phone_number ?? '') === digits);
    if (mine) {
      const name = mine.friendly_name ? ` ("${mine.friendly_name}")` : '';
      return { status: 'pass', detail: `account ${sid} accepts the credentials and has +${digits}${name}` };
    }
    return {
      status: 'warn',
      detail: `account ${sid} accepts the credentials but does not list +${digits} among its numbers (only the WhatsApp sandbox's number may be missing there)`,
    };
  }
  const what = `${status}${body.code ? ` code ${String(body.code)}` : ''}: ${typeof body.message === 'string' ? body.message : 'no error message'}`;
  if (status === 401 || status === 403) return { status: 'fail', detail: `Twilio refused the account SID / auth token (${what})` };
  return { status: 'fail', detail: `Twilio answered ${what}` };
}

type Got = { status: number; body: Record<string, unknown> } | { unreachable: string };

async function getJson(url: string, authorization: string, timeoutMs: number): Promise<Got> {
  try {
    const res = await fetch(url, { headers: { authorization, accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => ({}))) as unknown;
    return { status: res.status, body: body && typeof body === 'object' ? (body as Record<string, unknown>) : {} };
  } catch (err) {
    return { unreachable: networkReason(err, timeoutMs) };
  }
}

/** A system error by its code (ECONNREFUSED, ENOTFOUND...), a timeout as such, anything else by its message. */
function networkReason(err: unknown, timeoutMs: number): string {
  if ((err as { name?: unknown }).name === 'TimeoutError') return `no answer within ${timeoutMs / 1000}s`;
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e && typeof e === 'object'; e = e.cause as typeof e) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
  }
  return err instanceof Error ? err.message : String(err);
}
