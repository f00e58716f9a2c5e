import { createHmac, timingSafeEqual } from 'node:crypto';

/** Form fields as express.urlencoded({ extended: false }) gives them: repeated names become arrays. */
export type TwilioParams = Record<string, string | string[] | undefined>;

/**
 * Twilio's X-Twilio-Signature: base64(HMAC-SHA1(authToken, url + each POST field's name and value,
 * fields sorted by name)). Written here, a dozen lines, instead of depending on the `twilio` package
 * (a large SDK) for one function. Repeated fields contribute each value, sorted, as twilio-node does.
 */
export function twilioSignature(authToken: string, url: string, params: TwilioParams): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    const values = Array.isArray(value) ? [...value].sort() : value === undefined ? [] : [value];
    for (const v of values) data += name + v;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** Constant-time check of the header against the signature we compute. */
export function verifyTwilioSignature(authToken: string, url: string, params: TwilioParams, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(twilioSignature(authToken, url, params));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
