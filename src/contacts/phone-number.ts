import { parsePhoneNumberFromString, validatePhoneNumberLength } from 'libphonenumber-js/max';
import { z } from 'zod';

export interface NormalizedPhone {
  /** E.164, e.g. "+919876543210". */
  e164: string;
  /** What WhatsApp calls the number: E.164 without the "+". */
  waId: string;
}

export type PhoneResult = ({ ok: true } & NormalizedPhone) | { ok: false; reason: string };

const EXAMPLE = 'e.g. +91 98765 43210';

const LENGTH_REASONS: Record<string, string> = {
  NOT_A_NUMBER: 'is not a phone number',
  INVALID_COUNTRY: 'has no valid country code',
  TOO_SHORT: 'is too short for its country',
  TOO_LONG: 'is too long for its country',
  INVALID_LENGTH: 'has the wrong length for its country',
};

/**
 * Validates a number written in international form and normalises it to E.164. There is no default
 * country: contacts come from everywhere, and guessing one would store wrong numbers silently.
 * "00" (the international call prefix) and bare digits are read as if they started with "+".
 */
export function normalizePhone(raw: string): PhoneResult {
  const given = raw.trim();
  if (!given) return { ok: false, reason: 'Phone number is required' };
  const compact = given.replace(/[\s\-().]/g, '');
  const result = parseInternational(given, compact);
  // A number written without "+" or "00" most often is a national one missing its country code.
  if (!result.ok && /^\d/.test(compact) && !compact.startsWith('00')) result.reason += ` (write it with its country code, ${EXAMPLE})`;
  return result;
}

function parseInternational(given: string, compact: string): PhoneResult {
  const international = compact.startsWith('00') ? `+${compact.slice(2)}` : /^\d/.test(compact) ? `+${compact}` : compact;
  if (!international.startsWith('+')) return { ok: false, reason: `Phone number ${given} ${LENGTH_REASONS.NOT_A_NUMBER}` };
  // extract: false, so "+9198765432101 call me" is refused rather than trimmed to a number.
  const parsed = parsePhoneNumberFromString(international, { extract: false });
  if (!parsed) {
    const why = validatePhoneNumberLength(international) ?? 'NOT_A_NUMBER';
    return { ok: false, reason: `Phone number ${given} ${LENGTH_REASONS[why] ?? LENGTH_REASONS.NOT_A_NUMBER}` };
  }
  // WhatsApp cannot dial an extension.
  if (parsed.ext) return { ok: false, reason: `Phone number ${given} has an extension, which WhatsApp cannot reach` };
  if (!parsed.isValid()) {
    const why = validatePhoneNumberLength(international);
    const country = parsed.country ? ` for ${parsed.country}` : '';
    return { ok: false, reason: `Phone number ${given} ${why ? LENGTH_REASONS[why] : `is not a valid number${country}`}` };
  }
  return { ok: true, e164: parsed.number, waId: parsed.number.slice(1) };
}

/** A zod field that accepts a phone as people write it and yields its E.164 form and wa_id. */
export const phoneNumberField = z.string({ error: 'Phone number is required' }).transform((raw, ctx): NormalizedPhone => {
  const result = normalizePhone(raw);
  if (result.ok) return { e164: result.e164, waId: result.waId };
  ctx.addIssue({ code: 'custom', message: result.reason });
  return z.NEVER;
});
