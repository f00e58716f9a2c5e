import type { z } from 'zod';
import type { SecretBox } from '../../crypto/secrets';
import type { WhatsAppNumber } from '../../db/schema';
import type { NumberChanges } from '../../db/whatsapp-numbers';
import { sealCredentials } from '../../numbers/credentials';
import { DEFAULT_NUMBER_ID, digitsOf, type DefaultNumber } from '../../numbers/registry';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { parseCredentials, twilioNumberDigits, type UpdateNumberBody } from './number-schemas';

type Update = z.infer<typeof UpdateNumberBody>;

/** Credentials are only ever stored encrypted: without the key, nothing is stored. */
export function requireSecrets(deps: AppDeps): SecretBox {
  if (deps.secrets) return deps.secrets;
  throw new HttpError(
    'CONFLICT',
    'Credentials cannot be stored: CREDENTIALS_ENCRYPTION_KEY is not set on this API (32 random bytes, e.g. openssl rand -hex 32; the worker needs the same key). Nothing was stored.',
  );
}

/**
 * What a PATCH changes, or a 400 for what it may not: a number's phone number id and provider
 * are what its webhooks and chats are keyed by, so they never change (their current values are
 * accepted, so a client may send back what it read). `env` is the environment's number.
 */
export function numberChanges(deps: AppDeps, current: WhatsAppNumber, b: Update, env: DefaultNumber): NumberChanges {
  const isDefault = current.id === DEFAULT_NUMBER_ID;
  const provider = isDefault ? env.provider : current.provider;
  const phoneNumberId = isDefault ? (env.phoneNumberId ?? '') : current.phone_number_id;
  if (b.provider !== undefined && b.provider !== provider) {
    throw immutable('provider', `provider cannot change (number ${current.id} is ${provider}); add a new number instead`);
  }
  if (b.phone_number_id !== undefined && !samePhoneNumberId(provider, b.phone_number_id, phoneNumberId)) {
    throw immutable('phone_number_id', `phone_number_id cannot change (number ${current.id} is ${phoneNumberId}); add a new number instead`);
  }
  if (isDefault) refuseDefaultNumberChanges(b, env);
  const changes: NumberChanges = {};
  if (b.name !== undefined) changes.name = b.name;
  if (b.ai_configuration_id !== undefined) changes.ai_configuration_id = b.ai_configuration_id;
  if (isDefault) return changes;
  if (b.display_number !== undefined) changes.display_number = b.display_number;
  if (b.enabled !== undefined) changes.enabled = b.enabled;
  if (b.credentials !== undefined && current.provider !== 'console') {
    const credentials = parseCredentials(current.provider, b.credentials);
    changes.credentials_encrypted = sealCredentials(current.provider, credentials, requireSecrets(deps));
  }
  return changes;
}

const immutable = (field: string, message: string) => new HttpError('VALIDATION_ERROR', message, [{ field, reason: 'cannot change' }]);

/** A Twilio number compares by its digits, however it is written. */
function samePhoneNumberId(provider: string, given: string, current: string): boolean {
  if (provider !== 'twilio') return given.trim() === current;
  const parsed = twilioNumberDigits(given);
  return (parsed.ok ? parsed.digits : digitsOf(given)) === current;
}

/**
 * The default number is the environment's: its credentials, display number and being on are
 * WHATSAPP_* / TWILIO_*, so a change here would be undone by the next start (or never used).
 */
function refuseDefaultNumberChanges(b: Update, env: DefaultNumber): void {
  const refused: { field: string; reason: string }[] = [];
  if (b.credentials !== undefined) refused.push({ field: 'credentials', reason: 'set by WHATSAPP_ACCESS_TOKEN / TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN' });
  if (b.enabled === false) refused.push({ field: 'enabled', reason: 'the default number is always on' });
  if (b.display_number !== undefined && b.display_number !== (env.displayNumber ?? null)) {
    refused.push({ field: 'display_number', reason: 'set by the environment (TWILIO_WHATSAPP_FROM)' });
  }
  if (refused.length === 0) return;
  const fields = refused.map((r) => r.field);
  const list = fields.length === 1 ? fields[0] : `${fields.slice(0, -1).join(', ')} and ${fields.at(-1)}`;
  throw new HttpError(
    'VALIDATION_ERROR',
    `Number 1 is the default number: the environment sets its ${list} (change ${fields.length === 1 ? 'it' : 'them'} there). Only its name and ai_configuration_id change here.`,
    refused,
  );
}
