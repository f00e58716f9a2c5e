import { z } from 'zod';
import { normalizePhone } from '../../contacts/phone-number';
import { MetaCredentialsSchema, TwilioCredentialsSchema } from '../../numbers/credentials';

// URL-safe, because a check puts it in Graph's path; Meta's own ids are digits.
const MetaPhoneNumberId = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be Meta's phone number id (digits, from WhatsApp Manager)")
  .describe("Meta's phone number id, as its webhooks name it in metadata.phone_number_id");

/** A Twilio number as people write it (+1 415..., whatsapp:+1415...): its digits, which is what its webhooks' To is compared by. */
export function twilioNumberDigits(raw: string): { ok: true; digits: string } | { ok: false; reason: string } {
  const result = normalizePhone(raw.trim().replace(/^whatsapp:/i, ''));
  return result.ok ? { ok: true, digits: result.waId } : result;
}

const TwilioNumber = z
  .string()
  .max(64)
  .transform((raw, ctx) => {
    const result = twilioNumberDigits(raw);
    if (result.ok) return result.digits;
    ctx.addIssue({ code: 'custom', message: result.reason });
    return z.NEVER;
  })
  .describe('The Twilio WhatsApp number in international form (+14155238886 or whatsapp:+14155238886); stored as its digits');

const DisplayNumber = z.string().trim().min(1).max(40).nullable();
const Name = z.string().trim().min(1).max(100).nullable();
const AiConfigurationId = z.number().int().min(1).max(2_147_483_647).nullable().describe('null: the default AI configuration');

const Common = {
  display_number: DisplayNumber.optional().describe("How the number is shown; a Twilio number's default is +<digits>"),
  name: Name.optional(),
  ai_configuration_id: AiConfigurationId.optional(),
  enabled: z.boolean().default(true).describe('A disabled number is refused its webhooks: nothing addressed to it is answered'),
};

export const CreateNumberBody = z.discriminatedUnion(
  'provider',
  [
    z.object({ provider: z.literal('meta'), phone_number_id: MetaPhoneNumberId, credentials: MetaCredentialsSchema, ...Common }).strict(),
    z.object({ provider: z.literal('twilio'), phone_number_id: TwilioNumber, credentials: TwilioCredentialsSchema, ...Common }).strict(),
  ],
  { error: "must be 'meta' or 'twilio'" },
);

export const UpdateNumberBody = z
  .object({
    phone_number_id: z.string().max(64).optional().describe('Cannot change: accepted only with its current value'),
    provider: z.string().max(16).optional().describe('Cannot change: accepted only with its current value'),
    display_number: DisplayNumber.optional(),
    name: Name.optional(),
    credentials: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("Replaces the stored credentials whole: the provider's fields, as when the number was added"),
    ai_configuration_id: AiConfigurationId.optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'Nothing to change');

/** A PATCH's credentials, read by the number's provider's schema (errors name credentials.<field>). */
export function parseCredentials(provider: 'meta' | 'twilio', credentials: unknown) {
  const schema = provider === 'meta' ? MetaCredentialsSchema : TwilioCredentialsSchema;
  return z.object({ credentials: schema }).parse({ credentials }).credentials;
}

export const NumberView = z.object({
  id: z.number().int(),
  phone_number_id: z.string().describe("Meta's phone number id, or the Twilio number's digits"),
  display_number: z.string().nullable(),
  name: z.string().nullable(),
  provider: z.enum(['meta', 'twilio', 'console']),
  enabled: z.boolean(),
  is_default: z.boolean().describe('Number 1: the one the environment configures (WHATSAPP_* / TWILIO_*)'),
  ai_configuration_id: z.number().int().nullable(),
  credentials_source: z.enum(['environment', 'database']),
  credentials: z
    .record(z.string(), z.string().nullable())
    .nullable()
    .describe('Which credentials are set, masked to their last characters (the Twilio account SID in full); null for the default number'),
  credentials_error: z.string().nullable().describe('Why the stored credentials cannot be read by this API process (CREDENTIALS_ENCRYPTION_KEY)'),
  conversations: z.number().int(),
  created_at: z.date(),
  updated_at: z.date(),
});
export type NumberViewT = z.infer<typeof NumberView>;

export const NumberList = z.object({ numbers: z.array(NumberView), total: z.number().int() });

export const NumberCheckView = z.object({
  ok: z.boolean().describe('false when the check failed; a warning is ok'),
  status: z.enum(['pass', 'warn', 'fail']),
  detail: z.string(),
});
