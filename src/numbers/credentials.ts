import { z } from 'zod';
import { SecretError, maskSecret, type SecretBox } from '../crypto/secrets';
import type { NumberProvider } from '../db/schema';

/** What a number needs to send and to check its webhooks, per provider. */
export type NumberCredentials =
  | { provider: 'meta'; accessToken: string; appSecret?: string; verifyToken?: string }
  | { provider: 'twilio'; accountSid: string; authToken: string }
  | { provider: 'console' };

export const MetaCredentialsSchema = z
  .object({
    access_token: z.string().trim().min(20, 'is a Graph access token (long-lived or system user)').max(1024),
    app_secret: z
      .string()
      .trim()
      .min(8)
      .max(256)
      .optional()
      .describe("The Meta app's secret when it is not WHATSAPP_APP_SECRET's app: its webhooks are checked against it"),
    verify_token: z.string().trim().min(8).max(256).optional().describe("The webhook handshake token of that app, when not WHATSAPP_VERIFY_TOKEN's"),
  })
  .strict();

export const TwilioCredentialsSchema = z
  .object({
    account_sid: z
      .string()
      .trim()
      .regex(/^AC[0-9a-fA-F]{32}$/, 'is AC followed by 32 hex digits'),
    auth_token: z.string().trim().min(16).max(256),
  })
  .strict();

export type CredentialsInput = z.infer<typeof MetaCredentialsSchema> | z.infer<typeof TwilioCredentialsSchema>;

const PURPOSE = 'whatsapp_numbers.credentials';

/** The credentials a request gave, sealed for whatsapp_numbers.credentials_encrypted. */
export function sealCredentials(provider: NumberProvider, input: CredentialsInput | undefined, secrets: SecretBox): string | null {
  if (provider === 'console' || !input) return null;
  const plain: NumberCredentials =
    provider === 'meta'
      ? (() => {
          const m = input as z.infer<typeof MetaCredentialsSchema>;
          return { provider, accessToken: m.access_token, appSecret: m.app_secret, verifyToken: m.verify_token };
        })()
      : (() => {
          const t = input as z.infer<typeof TwilioCredentialsSchema>;
          return { provider, accountSid: t.account_sid, authToken: t.auth_token };
        })();
  return secrets.seal(JSON.stringify(plain), PURPOSE);
}

/** A stored number's credentials; a clear error when they are missing or cannot be read here. */
export function openCredentials(number: { id: number; provider: NumberProvider; credentialsEncrypted: string | null }, secrets?: SecretBox): NumberCredentials {
  if (number.provider === 'console') return { provider: 'console' };
  if (!number.credentialsEncrypted) throw new SecretError(`number ${number.id} has no credentials`);
  if (!secrets) throw new SecretError(`number ${number.id}'s credentials are encrypted and CREDENTIALS_ENCRYPTION_KEY is not set in this process`);
  let parsed: NumberCredentials;
  try {
    parsed = JSON.parse(secrets.open(number.credentialsEncrypted, PURPOSE)) as NumberCredentials;
  } catch (err) {
    throw new SecretError(`number ${number.id}'s credentials: ${(err as Error).message}`);
  }
  if (parsed.provider !== number.provider)
    throw new SecretError(`number ${number.id}'s credentials are for ${parsed.provider}, the number is ${number.provider}`);
  return parsed;
}

/** What the admin routes show of credentials: which are set, the last characters at most. */
export function maskedCredentials(creds: NumberCredentials): Record<string, string | null> {
  if (creds.provider === 'meta') {
    return { access_token: maskSecret(creds.accessToken), app_secret: maskSecret(creds.appSecret), verify_token: maskSecret(creds.verifyToken) };
  }
  if (creds.provider === 'twilio') return { account_sid: creds.accountSid, auth_token: maskSecret(creds.authToken) };
  return {};
}
